"""RabbitMQ definitions for production, generated from ``topology.py``.

    python -m shared.messaging.definitions                # rewrite deploy/rabbitmq/definitions.json
    python -m shared.messaging.definitions --passwords FILE --out PATH
                                # the same with real passwords (FILE: one ``user=password`` a line)

The broker loads them at boot, so the services run with ``SANGKIEN_DECLARE_TOPOLOGY=false`` and
need no configure permission: one user per service, allowed to write to the exchanges, to read
only its own queues, and (topic permissions) to publish on the events exchange only the routing
keys it owns. The file in the repository has placeholder passwords (``change-me-<user>``),
which the services refuse outside development mode: a deployment renders its own copy with
``--passwords`` and keeps it with its other secrets (docs/operations.md).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer

from shared.messaging.topology import ALL_QUEUES, DEAD_LETTER_EXCHANGE, EVENTS_EXCHANGE, OWNERS
from shared.settings import REPO_ROOT

VHOST = "sangkien"
OUT = REPO_ROOT / "deploy" / "rabbitmq" / "definitions.json"
SERVICES = ("submission", "dedup", "aggregation", "notify")
USERS = (*SERVICES, "portal", "operator")
# Deterministic salt for the placeholders: the repository's file must be reproducible for the
# drift test. Real passwords get a random one.
SALT = b"sk01"


def password_hash(password: str, salt: bytes = SALT) -> str:
    """RabbitMQ's rabbit_password_hashing_sha256: base64(salt + sha256(salt + password))."""
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def _user(name: str, password: str | None) -> dict[str, Any]:
    return {
        "name": name,
        "password_hash": (
            password_hash(f"change-me-{name}")
            if password is None
            else password_hash(password, os.urandom(4))
        ),
        "hashing_algorithm": "rabbit_password_hashing_sha256",
        "tags": ["administrator"] if name == "operator" else [],
    }


def definitions(passwords: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Vhost, users, permissions, exchanges, queues and bindings; each user's password from
    ``passwords`` (every user must have one), placeholders without."""
    if passwords is not None and (missing := set(USERS) - set(passwords)):
        raise ValueError(f"no password for {', '.join(sorted(missing))}")
    exchanges = (EVENTS_EXCHANGE.name, DEAD_LETTER_EXCHANGE.name)
    write = "^(" + "|".join(re.escape(e) for e in exchanges) + ")$"
    queues: list[dict[str, Any]] = []
    bindings: list[dict[str, Any]] = []
    permissions: list[dict[str, Any]] = []
    for spec in ALL_QUEUES:
        queues.append(
            {
                "name": spec.name,
                "vhost": VHOST,
                "durable": True,
                "auto_delete": False,
                "arguments": spec.arguments(),
            }
        )
        queues.append(
            {
                "name": spec.dead_letter_name,
                "vhost": VHOST,
                "durable": True,
                "auto_delete": False,
                "arguments": {"x-queue-type": "quorum"},
            }
        )
        bindings.extend(
            {
                "source": EVENTS_EXCHANGE.name,
                "vhost": VHOST,
                "destination": spec.name,
                "destination_type": "queue",
                "routing_key": key,
                "arguments": {},
            }
            for key in spec.routing_keys
        )
        bindings.append(
            {
                "source": DEAD_LETTER_EXCHANGE.name,
                "vhost": VHOST,
                "destination": spec.dead_letter_name,
                "destination_type": "queue",
                "routing_key": spec.name,
                "arguments": {},
            }
        )
    for service in SERVICES:
        read = f"^{re.escape(service)}\\..*$"
        permissions.append(
            {"user": service, "vhost": VHOST, "configure": "^$", "write": write, "read": read}
        )
    permissions.append(
        {
            "user": "portal",
            "vhost": VHOST,
            "configure": "^$",
            "write": f"^{re.escape(EVENTS_EXCHANGE.name)}$",
            "read": "^portal\\..*$",
        }
    )
    permissions.append(
        {"user": "operator", "vhost": VHOST, "configure": ".*", "write": ".*", "read": ".*"}
    )
    users = [_user(name, passwords[name] if passwords else None) for name in USERS]
    return {
        "policies": [DEAD_LETTER_POLICY],
        "topic_permissions": topic_permissions(),
        "vhosts": [{"name": VHOST}],
        "users": users,
        "permissions": permissions,
        "exchanges": [
            {
                "name": EVENTS_EXCHANGE.name,
                "vhost": VHOST,
                "type": "topic",
                "durable": True,
                "auto_delete": False,
                "internal": False,
                "arguments": {},
            },
            {
                "name": DEAD_LETTER_EXCHANGE.name,
                "vhost": VHOST,
                "type": "direct",
                "durable": True,
                "auto_delete": False,
                "internal": False,
                "arguments": {},
            },
        ],
        "queues": queues,
        "bindings": bindings,
    }


# Dead-letter queues hold what could not be applied (commands with contact details among it)
# until an operator acts: bounded in age and length. DeadLettersWaiting alerts at the first
# message, DeadLettersNearLimit long before the oldest would be dropped.
DEAD_LETTER_MAX_LENGTH = 100_000
DEAD_LETTER_MAX_AGE_MS = 30 * 24 * 3600 * 1000
DEAD_LETTER_POLICY: dict[str, Any] = {
    "vhost": VHOST,
    "name": "dead-letters-bounded",
    "pattern": r"\.dlq$",
    "apply-to": "queues",
    "priority": 0,
    "definition": {"max-length": DEAD_LETTER_MAX_LENGTH, "message-ttl": DEAD_LETTER_MAX_AGE_MS},
}


def topic_permissions() -> list[dict[str, Any]]:
    """Each user may publish on the events exchange only the routing keys it owns
    (``topology.OWNERS``); the operator any."""
    owned: dict[str, list[str]] = {}
    for routing_key, owner in OWNERS.items():
        owned.setdefault(owner, []).append(routing_key)
    granted = [
        {
            "user": user,
            "vhost": VHOST,
            "exchange": EVENTS_EXCHANGE.name,
            "write": "^(" + "|".join(re.escape(key) for key in sorted(keys)) + ")$",
            "read": ".*",
        }
        for user, keys in sorted(owned.items())
    ]
    operator = {"user": "operator", "vhost": VHOST, "exchange": EVENTS_EXCHANGE.name}
    return [*granted, {**operator, "write": ".*", "read": ".*"}]


def render(passwords: Mapping[str, str] | None = None) -> str:
    """The definitions file's text."""
    return json.dumps(definitions(passwords), indent=2, sort_keys=True) + "\n"


def read_passwords(path: Path) -> dict[str, str]:
    """``user=password`` lines (blank lines and ``#`` comments skipped)."""
    found: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip() and not line.lstrip().startswith("#"):
            user, separator, password = line.partition("=")
            if not separator or not password:
                raise ValueError(f"{path}:{number}: expected user=password")
            found[user.strip()] = password.strip()
    return found


def main(
    passwords: Annotated[
        Path | None, typer.Option(help="File of user=password lines: render real passwords.")
    ] = None,
    out: Annotated[Path, typer.Option(help="Where to write the definitions.")] = OUT,
) -> None:
    """Write the broker definitions (placeholder passwords unless --passwords is given)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(read_passwords(passwords) if passwords else None), encoding="utf-8")
    if passwords is not None:
        out.chmod(0o600)
    typer.echo(f"wrote {out}")


if __name__ == "__main__":
    typer.run(main)
