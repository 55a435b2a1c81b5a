"""Published OpenAPI documents that state every answer a service gives, not only its routes'.

FastAPI documents what a route declares. The answers that come from around the routes are the
same on every service, and are added here to each operation they apply to: the error shape of
``shared.http`` (a list of field-level reasons) for 422 in place of FastAPI's own; 400 for a body
that is not JSON, 413 for one too large, 415 for one that is not JSON at all, 401 for a write or
a keyed route without a valid key, 429 (with ``Retry-After``) for a write over its key's rate;
404 where a path names a resource (every path parameter here does); 503 (with ``Retry-After``)
while the database is away. A parameter whose values come from reference data (a scope) is
given them as an ``enum``.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI

ERRORS = "Errors"
ERRORS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["errors"],
    "properties": {
        "errors": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["field", "code", "message"],
                "properties": {
                    "field": {"type": "string", "description": "The field, or '' for the whole"},
                    "code": {"type": "string", "description": "Stable reason code"},
                    "message": {"type": "string"},
                },
            },
        }
    },
}
RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again",
        "schema": {"type": "string"},
    }
}
OPERATIONAL = ("/health", "/ready", "/metrics")


def error_answer(description: str, *, retry: bool = False) -> dict[str, Any]:
    """An error answer in the one error shape (for a route to declare one of its own)."""
    answer: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERRORS}"}}},
    }
    if retry:
        answer["headers"] = RETRY_AFTER
    return answer


def common_answers(
    *,
    write: bool,
    has_input: bool,
    has_body: bool,
    names_resource: bool,
    keyed: bool,
    writes_need_key: bool,
) -> dict[str, dict[str, Any]]:
    """The answers an operation gives besides its own (see the module docstring); ``write``:
    a POST, PUT or PATCH, which ``shared.http.BodyGuard`` sees before the route."""
    answers = {"503": error_answer("The database cannot be reached", retry=True)}
    if names_resource:
        answers["404"] = error_answer("No such resource (the reason names the parameter)")
    if has_input:
        answers["422"] = error_answer("A parameter or the body breaks a constraint (each named)")
    if has_body:
        answers["400"] = error_answer("The body is not valid JSON")
    if write:
        answers["413"] = error_answer("The body is larger than the service takes")
        answers["415"] = error_answer("A body that is not application/json")
    if keyed or (write and writes_need_key):
        answers["401"] = error_answer("No valid X-API-Key (missing, wrong, expired or revoked)")
    if write and writes_need_key:
        answers["429"] = error_answer("This key's write rate is spent", retry=True)
    return answers


def complete(
    schema: dict[str, Any], *, writes_need_key: bool, enums: dict[str, list[str]] | None = None
) -> dict[str, Any]:
    """Add the common answers to every operation of ``schema`` (in place), and the error shape
    to its components; give the parameters named in ``enums`` their values; document the
    operational routes' own answers."""
    known = enums or {}
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components[ERRORS] = ERRORS_SCHEMA
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            answers = operation.setdefault("responses", {})
            if path in OPERATIONAL:
                continue
            has_body = "requestBody" in operation
            parameters = operation.get("parameters", [])
            for parameter in parameters:
                if parameter["name"] in known:
                    parameter["schema"]["enum"] = known[parameter["name"]]
            answers.pop("422", None)  # FastAPI's, in a shape the services never answer
            for status, answer in answers.items():
                # A route's own error statuses (403, 409…) answer in the one error shape too.
                if status[0] in "45" and "content" not in answer:
                    answer["content"] = error_answer("")["content"]
            common = common_answers(
                write=method in ("post", "put", "patch"),
                has_input=has_body or bool(parameters),
                has_body=has_body,
                names_resource=any(p["in"] == "path" for p in parameters),
                keyed="security" in operation,
                writes_need_key=writes_need_key,
            )
            for status, answer in common.items():
                # A route's own description stays, unless it is only the status's name.
                own = answers.get(status, {}).get("description")
                if own is None or own == HTTPStatus(int(status)).phrase:
                    answers[status] = answer
    paths = schema.get("paths", {})
    if "/ready" in paths:
        paths["/ready"]["get"]["responses"]["503"] = {
            "description": "Not ready: the checks name what is wrong",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    if "/metrics" in paths:
        paths["/metrics"]["get"]["responses"]["200"] = {
            "description": "Prometheus metrics (text exposition format)",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    return schema


def publish_complete(
    app: FastAPI, *, writes_need_key: bool, enums: dict[str, list[str]] | None = None
) -> None:
    """Make ``app.openapi()`` return the completed document (built once, as FastAPI does)."""
    build: Callable[[], dict[str, Any]] = app.openapi

    def completed() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(build(), writes_need_key=writes_need_key, enums=enums)
        return app.openapi_schema

    app.openapi = completed  # type: ignore[method-assign]
