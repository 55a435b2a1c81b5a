"""HTTP pieces every service's API uses: body guard, error format, metrics, health endpoints."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import structlog
import uvicorn
from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.config import STARTUP_FAILURE

from shared.db import database_away
from shared.keys import Keyring
from shared.observability import READINESS, READINESS_CHECKS, configure_logging, correlation
from shared.openapi import publish_complete
from shared.ratelimit import TokenBuckets
from shared.runtime import READY, Runtime
from shared.settings import CommonSettings
from shared.supervision import EXIT_CONSUMER_STOPPED, exit_soon, stop_with

log = structlog.get_logger(__name__)
C = TypeVar("C")
HTTP_REQUESTS = Counter(
    "sangkien_http_requests_total", "HTTP requests by route and status.", ["route", "status"]
)
HTTP_SECONDS = Histogram("sangkien_http_request_seconds", "HTTP request time by route.", ["route"])
BODY_METHODS = {"POST", "PUT", "PATCH"}
RETRY_AFTER_SECONDS = 5


def error_body(field: str, code: str, message: str) -> dict[str, Any]:
    """The one error shape of every API: a list of field-level reasons."""
    return {"errors": [{"field": field, "code": code, "message": message}]}


class ApiError(Exception):
    """An error answered with a status and one field-level reason."""

    def __init__(self, status: int, field: str, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.body = error_body(field, code, message)

    @classmethod
    def with_reasons(cls, status: int, reasons: list[dict[str, str]]) -> ApiError:
        """An error carrying several field-level reasons."""
        error = cls(status, "", "", "")
        error.body = {"errors": reasons}
        return error


async def require_key(
    keyring: Keyring[C], sessions: async_sessionmaker[AsyncSession], presented: str | None
) -> C:
    """The client of an ``X-API-Key``; 401 for a missing, wrong, expired or revoked key."""
    found = await keyring.authenticate(sessions, presented)
    if found is None:
        raise ApiError(401, "X-API-Key", "unauthenticated", "a valid API key is required")
    return found


async def _api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return JSONResponse(exc.body, status_code=exc.status)


# The key id of the client a presented API key belongs to, or None (missing, wrong, revoked…).
Admit = Callable[[str | None], Awaitable[str | None]]


class BodyGuard:
    """What a write must pass before its body is read: with ``admit``, a valid API key (401) and
    the key's write limit (429, ``limits``); then a size (413) and a JSON body (415). Nobody
    without a key can make the service read (or buffer) a body."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        admit: Admit | None = None,
        limits: TokenBuckets | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.admit = admit
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        if self.admit is not None:
            try:
                key_id = await self.admit(headers.get("x-api-key"))
            except (DBAPIError, OSError) as error:
                if not database_away(error):
                    raise
                # Keys live in the database: while it is away, so is every write.
                await self._refuse(
                    scope,
                    receive,
                    send,
                    503,
                    "database_unavailable",
                    "The database cannot be reached; retry later.",
                    field="",
                    headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
                )
                return
            if key_id is None:
                await self._refuse(
                    scope,
                    receive,
                    send,
                    401,
                    "unauthenticated",
                    "a valid API key is required",
                    field="X-API-Key",
                )
                return
            wait = self.limits.take(key_id, time.monotonic()) if self.limits else 0
            if wait:
                await self._refuse(
                    scope,
                    receive,
                    send,
                    429,
                    "too_many_requests",
                    f"this key's write limit is reached; retry in {wait} s",
                    field="X-API-Key",
                    headers={"Retry-After": str(wait)},
                )
                return
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        # A POST that carries nothing (an action such as a replay) needs no content type.
        empty = headers.get("content-length") == "0" and "transfer-encoding" not in headers
        if content_type != "application/json" and not empty:
            await self._refuse(
                scope,
                receive,
                send,
                415,
                "unsupported_media_type",
                "send the body as application/json",
            )
            return
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(
                scope, receive, send, 413, "too_large", f"the body exceeds {self.max_bytes} bytes"
            )
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(
                    scope,
                    receive,
                    send,
                    413,
                    "too_large",
                    f"the body exceeds {self.max_bytes} bytes",
                )
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    @staticmethod
    async def _refuse(
        scope: Scope,
        receive: Receive,
        send: Send,
        status: int,
        code: str,
        message: str,
        *,
        field: str = "body",
        headers: dict[str, str] | None = None,
    ) -> None:
        response = JSONResponse(
            error_body(field, code, message), status_code=status, headers=headers
        )
        await response(scope, receive, send)


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return JSONResponse(
            error_body("body", "malformed_json", "the body is not valid JSON"), status_code=400
        )
    reasons = [
        {
            "field": ".".join(str(p) for p in e["loc"] if p != "body"),
            "code": e["type"],
            "message": e["msg"],
        }
        for e in errors
    ]
    return JSONResponse({"errors": reasons}, status_code=422)


# What Starlette and FastAPI raise themselves (no such route, a method the route does not take,
# a body they cannot parse), by status: answered in the one error shape too.
HTTP_CODES = {400: "malformed_body", 404: "not_found", 405: "method_not_allowed"}


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = HTTP_CODES.get(exc.status_code, "http_error")
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        # Starlette names the methods of the one route it matched; a path served by several
        # routes (GET and POST apart) takes them all.
        headers["Allow"] = ", ".join(sorted(_methods_of(request)))
    field = "body" if exc.status_code == 400 else ""
    return JSONResponse(
        error_body(field, code, str(exc.detail)), status_code=exc.status_code, headers=headers
    )


def _methods_of(request: Request) -> set[str]:
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches({**request.scope, "method": "GET"})
        if match is not Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return methods


async def _database_unreachable(_request: Request, exc: Exception) -> JSONResponse:
    """503 with Retry-After: the request was fine, the database is away for now (a restart, a
    failover). Nothing was stored; the same request, sent again, is safe (idempotency keys).
    Any other database error is the server's own (500)."""
    if not database_away(exc):
        raise exc
    log.warning("database_unreachable_answered_503", error=type(exc).__name__)
    body = error_body("", "database_unavailable", "The database cannot be reached; retry later.")
    return JSONResponse(body, status_code=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def install(
    app: FastAPI,
    runtime: Runtime,
    *,
    max_body_bytes: int,
    keyring: Keyring[Any] | None = None,
    enums: dict[str, list[str]] | None = None,
) -> None:
    """Add the body guard (with ``keyring``, every write needs a valid key, checked before its
    body is read, within the key's write limit), the error format, request metrics and the
    operational endpoints; publish every answer in the OpenAPI document (``shared.openapi``,
    with ``enums`` for parameters whose values the reference data gives)."""
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(ApiError, _api_error)
    for unreachable in (DBAPIError, OSError):
        app.add_exception_handler(unreachable, _database_unreachable)

    @app.middleware("http")
    async def _measure(request: Request, call_next: Any) -> Response:
        started = time.perf_counter()
        correlation_id = request.headers.get("x-correlation-id") or str(uuid.uuid4())
        with correlation(correlation_id[:100]):
            response: Response = await call_next(request)
        route = getattr(request.scope.get("route"), "path", "unmatched")
        HTTP_REQUESTS.labels(route=route, status=str(response.status_code)).inc()
        HTTP_SECONDS.labels(route=route).observe(time.perf_counter() - started)
        return response

    admit: Admit | None = None
    if keyring is not None:
        guarded = keyring

        async def admit(presented: str | None) -> str | None:
            client = await guarded.authenticate(runtime.sessions, presented)
            return None if client is None else str(client.key_id)

    settings = runtime.settings
    limits = TokenBuckets(settings.write_rate_per_key, settings.write_burst_per_key)
    app.add_middleware(BodyGuard, max_bytes=max_body_bytes, admit=admit, limits=limits)
    app.include_router(operational_router(runtime))
    publish_complete(app, writes_need_key=keyring is not None, enums=enums)
    app.state.runtime = runtime


def operational_router(runtime: Runtime) -> APIRouter:
    """``/health`` (the process is alive), ``/ready`` (it can do its work), ``/metrics``."""
    router = APIRouter(tags=["operations"])

    @router.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok", "service": runtime.service}

    async def readiness() -> tuple[bool, dict[str, str]]:
        """The checks, whether all pass, and the same as metrics (each scrape asks afresh)."""
        checks = await runtime.readiness()
        ready = all(state in READY for state in checks.values())
        READINESS.set(int(ready))
        READINESS_CHECKS.clear()  # a standby has fewer checks than an active replica
        for check, state in checks.items():
            READINESS_CHECKS.labels(check=check).set(int(state in READY))
        return ready, checks

    @router.get("/ready")
    async def ready() -> JSONResponse:
        ready, checks = await readiness()
        details = {name: detail() for name, detail in runtime.details.items()}
        return JSONResponse(
            {"ready": ready, "checks": checks, **details}, status_code=200 if ready else 503
        )

    @router.get("/metrics")
    async def metrics() -> Response:
        await readiness()
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


def shutting_down(app: FastAPI) -> bool:
    """Whether the server running ``app`` is shutting down: a stream that never ends by itself
    (server-sent events) ends then, since the server waits for every open response."""
    server: uvicorn.Server | None = getattr(app.state, "server", None)
    return server is not None and server.should_exit


def serve(service: str, settings: CommonSettings, app: FastAPI) -> None:
    """Run a service's app with JSON logs until SIGTERM or Ctrl-C (or until its supervisor,
    if it has one, dies)."""
    configure_logging(service, settings.log_level)
    if settings.supervisor_pid is not None:
        stop_with(settings.supervisor_pid)
    runtime: Runtime = app.state.runtime
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host=settings.http_host,
            port=settings.http_port,
            log_config=None,
            access_log=False,
        )
    )

    app.state.server = server

    def leave(queue: str) -> None:
        log.error("consumer_stopped_exiting", queue=queue, exit_code=EXIT_CONSUMER_STOPPED)
        if len(runtime.failures) == 1:  # one shutdown, however many consumers stop
            exit_soon(lambda: setattr(server, "should_exit", True))

    runtime.when_a_consumer_fails(leave)
    server.run()
    if not server.started:  # it could not listen (a port in use): as uvicorn.run exits
        raise SystemExit(STARTUP_FAILURE)
    if runtime.failures:
        raise SystemExit(EXIT_CONSUMER_STOPPED)
