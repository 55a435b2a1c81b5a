"""RabbitMQ definitions for production, generated from ``topology.py``.

    python -m shared.messaging.definitions     # rewrite deploy/rabbitmq/definitions.json

The broker loads them at boot, so the services run with ``SANGKIEN_DECLARE_TOPOLOGY=false`` and
need no configure permission: one user per service, allowed to write to the exchanges and to read
only its own queues. The passwords here are placeholders for a first start; change them with
``rabbitmqctl change_password`` and in each service's ``SANGKIEN_BROKER_URL``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import Any

from shared.messaging.topology import ALL_QUEUES, DEAD_LETTER_EXCHANGE, EVENTS_EXCHANGE
from shared.settings import REPO_ROOT

VHOST = "sangkien"
OUT = REPO_ROOT / "deploy" / "rabbitmq" / "definitions.json"
SERVICES = ("submission", "dedup", "aggregation", "notify")
# Deterministic salt: the file must be reproducible for the drift test; the passwords are
# placeholders to be changed at the first start anyway.
SALT = b"sk01"


def password_hash(password: str) -> str:
    """RabbitMQ's rabbit_password_hashing_sha256: base64(salt + sha256(salt + password))."""
    return base64.b64encode(SALT + hashlib.sha256(SALT + password.encode()).digest()).decode()


def _user(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "password_hash": password_hash(f"change-me-{name}"),
        "hashing_algorithm": "rabbit_password_hashing_sha256",
        "tags": [],
    }


def definitions() -> dict[str, Any]:
    """Vhost, users, permissions, exchanges, queues and bindings."""
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
    users = [_user(name) for name in (*SERVICES, "portal", "operator")]
    users[-1]["tags"] = ["administrator"]
    return {
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


def render() -> str:
    """The definitions file's text."""
    return json.dumps(definitions(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUT}")
