"""The event catalog: routing key → model, and upcasters from older major versions.

A consumer parses a raw body with ``Registry.parse``. A message of an older major version is
upcast step by step (v1 → v2 → …) to the version the consumer reads; an unknown name or version
is a ``ContractError`` with a reason fit for a dead-letter header.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from pydantic import ValidationError

from shared.contracts.envelope import Message
from shared.contracts.milestone import MilestoneReachedV1, MilestoneRevisedV1
from shared.contracts.notification import NotificationDeliveredV1, NotificationFailedV1
from shared.contracts.progress import ProgressUpdatedV1
from shared.contracts.reference import ReferenceChangedV1
from shared.contracts.submission import (
    FieldError,
    ReceivedV1,
    RejectedV1,
    ReviewedV1,
    ScreenedV1,
    SubmitV1,
    field_errors,
)

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
M = TypeVar("M", bound=Message)


class ContractError(ValueError):
    """A message that no contract accepts: malformed JSON, unknown schema or version, bad field."""

    def __init__(self, code: str, detail: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
        self.errors = errors or []


def _split_routing_key(routing_key: str) -> tuple[str, int]:
    name, _, version = routing_key.rpartition(".v")
    if not name or not version.isdigit():
        raise ContractError("unknown_schema", f"{routing_key!r} is not <event>.v<major>")
    return name, int(version)


class Registry:
    """Models by name and major version, plus the upcasters between majors."""

    def __init__(self, models: Iterable[type[Message]]) -> None:
        self._models: dict[tuple[str, int], type[Message]] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}
        for model in models:
            self._models[(model.NAME, model.MAJOR)] = model

    @property
    def models(self) -> list[type[Message]]:
        """Every registered model, in routing-key order."""
        return [self._models[key] for key in sorted(self._models)]

    def register(self, model: type[Message]) -> None:
        """Add a model (a new major version of an event, say)."""
        self._models[(model.NAME, model.MAJOR)] = model

    def register_upcaster(self, name: str, from_major: int, upcaster: Upcaster) -> None:
        """Teach the registry to turn ``name`` v``from_major`` into v``from_major + 1``."""
        self._upcasters[(name, from_major)] = upcaster

    def parse(self, routing_key: str, body: bytes, want: type[M]) -> M:
        """Decode ``body`` published under ``routing_key`` as the consumer's model ``want``."""
        name, major = _split_routing_key(routing_key)
        if name != want.NAME:
            raise ContractError("unknown_schema", f"expected {want.NAME}, got {name}")
        if (name, major) not in self._models:
            raise ContractError("unknown_version", f"{name} has no version {major}")
        if major > want.MAJOR:
            raise ContractError("unknown_version", f"{name}.v{major} is newer than v{want.MAJOR}")
        if major == want.MAJOR:
            return self._validate_json(want, body)
        try:
            data = json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ContractError("malformed_json", str(exc)) from exc
        if not isinstance(data, dict):
            raise ContractError("malformed_json", "the body is not a JSON object")
        while major < want.MAJOR:
            upcaster = self._upcasters.get((name, major))
            if upcaster is None:
                raise ContractError("unknown_version", f"no upcaster from {name}.v{major}")
            data = upcaster(data)
            major += 1
        try:
            return want.model_validate(data)
        except ValidationError as exc:
            errors = field_errors(exc)
            raise ContractError("invalid_field", f"{len(errors)} invalid field(s)", errors) from exc

    @staticmethod
    def _validate_json(want: type[M], body: bytes) -> M:
        """The current version straight from JSON (pydantic's parser: no dict in between)."""
        try:
            return want.model_validate_json(body)
        except ValidationError as exc:
            first = exc.errors()[0]
            if first["type"] == "json_invalid":
                raise ContractError("malformed_json", str(first["msg"])) from exc
            if not first["loc"]:  # valid JSON, but an array, a string…
                raise ContractError("malformed_json", "the body is not a JSON object") from exc
            errors = field_errors(exc)
            raise ContractError("invalid_field", f"{len(errors)} invalid field(s)", errors) from exc


CATALOG = Registry(
    [
        SubmitV1,
        ReceivedV1,
        RejectedV1,
        ScreenedV1,
        ReviewedV1,
        ProgressUpdatedV1,
        MilestoneReachedV1,
        MilestoneRevisedV1,
        NotificationDeliveredV1,
        NotificationFailedV1,
        ReferenceChangedV1,
    ]
)
