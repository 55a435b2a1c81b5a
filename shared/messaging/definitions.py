"""RabbitMQ definitions for production, generated from ``topology.py``.

    python -m shared.messaging.definitions                # rewrite deploy/rabbitmq/definitions.json
    python -m shared.messaging.definitions --passwords FILE --out PATH
                                # the same with real passwords (FILE: one ``user=password`` a line)

The broker loads them at boot, so the services run with ``SANGKIEN_DECLARE_TOPOLOGY=false`` and
need no configure permission: one user per service, allowed to write to the exchanges, to read
only its own queues, and (topic permissions) to publish on the events exchange only the routing
keys it owns. Every other user of the passwords file is a portal (the repository's file has one,
``portal``): it may publish intake commands, declare and read queues named ``<portal>.…`` and
bind them only to the outcomes addressed to it (``<event>.<portal>``); its ``<portal>.outcomes``
queue is declared here. The file in the repository has placeholder passwords (``change-me-<user>``),
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

from shared.contracts.submission import PORTAL_PATTERN
from shared.messaging.topology import (
    ALL_QUEUES,
    DEAD_LETTER_EXCHANGE,
    EVENTS_EXCHANGE,
    OUTCOME_EVENTS,
    OWNERS,
    PORTALS,
    portal_outcomes,
)
from shared.settings import REPO_ROOT

VHOST = "sangkien"
OUT = REPO_ROOT / "deploy" / "rabbitmq" / "definitions.json"
SERVICES = ("submission", "dedup", "aggregation", "notify")
OPERATOR = "operator"
SAMPLE_PORTALS = ("portal",)
USERS = (*SERVICES, *SAMPLE_PORTALS, OPERATOR)  # the repository's file
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


def portals_of(passwords: Mapping[str, str] | None) -> tuple[str, ...]:
    """The portals: every user of ``passwords`` that is neither a service nor the operator
    (the sample ``portal`` without passwords). ValueError for a name that cannot be one."""
    if passwords is None:
        return SAMPLE_PORTALS
    portals = tuple(sorted(set(passwords) - {*SERVICES, OPERATOR}))
    if bad := [name for name in portals if not re.fullmatch(PORTAL_PATTERN, name)]:
        raise ValueError(
            f"portal user names are lower-case letters, digits and '-' (at most 40): {bad}"
        )
    # A portal owns the queues named after it: never the system's own.
    reserved = {spec.name.split(".")[0] for spec in ALL_QUEUES} | {"sangkien"}
    if taken := sorted(reserved & set(portals)):
        raise ValueError(f"these names are the system's own, not portals: {taken}")
    return portals


def definitions(passwords: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Vhost, users, permissions, exchanges, queues and bindings; each user's password from
    ``passwords`` (every service and the operator must have one; the others are portals),
    placeholders without."""
    if passwords is not None and (missing := {*SERVICES, OPERATOR} - set(passwords)):
        raise ValueError(f"no password for {', '.join(sorted(missing))}")
    portals = portals_of(passwords)
    exchanges = (EVENTS_EXCHANGE.name, DEAD_LETTER_EXCHANGE.name)
    write = "^(" + "|".join(re.escape(e) for e in exchanges) + ")$"
    queues: list[dict[str, Any]] = []
    bindings: list[dict[str, Any]] = []
    permissions: list[dict[str, Any]] = []
    for spec in (*ALL_QUEUES, *(portal_outcomes(portal) for portal in portals)):
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
    for portal in portals:
        # Its own queues: declared, bound (write on the queue, read on the exchange; the topic
        # permissions limit the binding keys) and read; and the events exchange to publish on.
        own = f"{re.escape(portal)}\\..*"
        reach = f"^({re.escape(EVENTS_EXCHANGE.name)}|{own})$"
        permissions.append(
            {"user": portal, "vhost": VHOST, "configure": f"^{own}$", "write": reach, "read": reach}
        )
    permissions.append(
        {"user": OPERATOR, "vhost": VHOST, "configure": ".*", "write": ".*", "read": ".*"}
    )
    users = [
        _user(name, passwords[name] if passwords else None)
        for name in (*SERVICES, *portals, OPERATOR)
    ]
    return {
        "policies": [DEAD_LETTER_POLICY],
        "topic_permissions": topic_permissions(portals),
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


def topic_permissions(portals: tuple[str, ...]) -> list[dict[str, Any]]:
    """On the events exchange, each user may publish only the routing keys it owns
    (``topology.OWNERS``; an outcome's key may name its portal) and a portal may bind only to
    the outcomes addressed to it; the operator may do anything."""
    owned: dict[str, list[str]] = {}
    for routing_key, owner in OWNERS.items():
        for user in portals if owner == PORTALS else (owner,):
            owned.setdefault(user, []).append(routing_key)
    addressed = "(\\.[a-z0-9-]+)?"
    granted = [
        {
            "user": user,
            "vhost": VHOST,
            "exchange": EVENTS_EXCHANGE.name,
            "write": "^("
            + "|".join(
                re.escape(key) + (addressed if key in OUTCOME_EVENTS else "")
                for key in sorted(keys)
            )
            + ")$",
            "read": (
                "^(" + "|".join(re.escape(f"{key}.{user}") for key in OUTCOME_EVENTS) + ")$"
                if user in portals
                else ".*"
            ),
        }
        for user, keys in sorted(owned.items())
    ]
    operator = {"user": OPERATOR, "vhost": VHOST, "exchange": EVENTS_EXCHANGE.name}
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
