"""Generate the contracts' JSON Schemas and the AsyncAPI document into ``docs/contracts``.

    python -m shared.contracts.docs           # rewrite the files
    python -m shared.contracts.docs --check   # exit 1 if the committed files drift from the models

A portal team can write a client in another language from these files alone: every message's
schema, its routing key, the exchange, and the headers that name schema and version.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from shared.contracts.envelope import Message
from shared.contracts.registry import CATALOG
from shared.contracts.submission import PortalOutcome
from shared.messaging.topology import ALL_QUEUES, EVENTS_EXCHANGE, every_address
from shared.settings import REPO_ROOT

OUT = REPO_ROOT / "docs" / "contracts"


def _dump(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def json_schema(model: type[Message]) -> dict[str, Any]:
    """JSON Schema of one message, with its identity."""
    schema = model.model_json_schema(mode="serialization")
    schema["$id"] = f"{model.routing_key()}.schema.json"
    schema["x-routing-key"] = model.routing_key()
    schema["x-schema-version"] = f"{model.MAJOR}.{model.MINOR}"
    return schema


def asyncapi() -> dict[str, Any]:
    """AsyncAPI 3.0 document: one channel per routing key on the topic exchange."""
    channels: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for model in CATALOG.models:
        key = model.routing_key()
        name = key.replace(".", "_")
        bound = (key, every_address(key))
        consumers = sorted(q.name for q in ALL_QUEUES if set(bound) & set(q.routing_keys))
        addressed = issubclass(model, PortalOutcome)
        messages[name] = {
            "name": key,
            "title": model.__name__,
            "summary": (model.__doc__ or "").strip().splitlines()[0],
            "contentType": "application/json",
            "correlationId": {"location": "$message.header#/correlation_id"},
            "headers": {
                "type": "object",
                "properties": {
                    "x-schema": {"const": model.NAME},
                    "x-schema-version": {"const": f"{model.MAJOR}.{model.MINOR}"},
                },
            },
            "payload": {"$ref": f"./{key}.schema.json"},
        }
        channels[name] = {
            "address": f"{key}.{{portal}}" if addressed else key,
            **({"parameters": {"portal": PORTAL_PARAMETER}} if addressed else {}),
            "messages": {name: {"$ref": f"#/components/messages/{name}"}},
            "description": f"Queues bound: {', '.join(consumers)}"
            + ("; and each portal's own, {portal}.outcomes" if addressed else ""),
            "bindings": {
                "amqp": {
                    "is": "routingKey",
                    "exchange": {"name": EVENTS_EXCHANGE.name, "type": "topic", "durable": True},
                }
            },
        }
        operations[f"publish_{name}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{name}"},
            "bindings": {"amqp": {"deliveryMode": 2, "mandatory": True}},
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Sáng kiến event pipeline",
            "version": "1.0.0",
            "description": (
                "Commands and events on the topic exchange 'sangkien.events'. Messages are "
                "persistent JSON; message_id is stable across redeliveries; correlation_id follows "
                "one submission; headers x-schema and x-schema-version name the contract."
            ),
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


PORTAL_NOTE = (
    "The broker user of the portal that filed the submission (the event's 'portal' field). "
    "A portal binds its queues only to its own outcomes; one filed by a client without a "
    "broker user is published with the bare routing key."
)
PORTAL_PARAMETER = {"description": PORTAL_NOTE}


def render() -> dict[str, str]:
    """Every generated file by name."""
    files = {f"{m.routing_key()}.schema.json": _dump(json_schema(m)) for m in CATALOG.models}
    files["asyncapi.json"] = _dump(asyncapi())
    return files


def main(check: bool = typer.Option(False, help="Fail if the committed files drift.")) -> None:
    """Write the files, or check them."""
    files = render()
    if check:
        stale = [n for n, text in files.items() if _read(OUT / n) != text]
        extra = {p.name for p in OUT.glob("*.json")} - set(files)
        if stale or extra:
            typer.echo(
                f"drift: {sorted(stale)} extra: {sorted(extra)}; "
                "run python -m shared.contracts.docs"
            )
            raise typer.Exit(1)
        return
    OUT.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (OUT / name).write_text(text, encoding="utf-8")
    typer.echo(f"wrote {len(files)} files to {OUT}")


def _read(path: Path) -> str | None:
    return path.read_text(encoding="utf-8") if path.exists() else None


if __name__ == "__main__":
    typer.run(main)
