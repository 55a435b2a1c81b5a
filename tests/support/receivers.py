"""Real receivers on loopback for the notify tests: an HTTP webhook receiver, an SMTP server."""

from __future__ import annotations

import asyncio
import email
import json
from dataclasses import dataclass, field
from email.message import Message
from email.policy import default
from typing import Any

import uvicorn
from aiosmtpd.controller import Controller
from fastapi import FastAPI, Request, Response

from examples.webhook_receiver import verify
from pipeline.processes import free_port
from shared.polling import poll


@dataclass
class Received:
    """One POST the receiver accepted (signature checked)."""

    idempotency_key: str
    body: dict[str, Any]


@dataclass
class WebhookReceiver:
    """A FastAPI app served by uvicorn: verifies signatures, can fail or hang on purpose."""

    secret: str
    fail_first: int = 0  # answer 503 to this many requests first
    hang_first: int = 0  # never answer this many requests first
    accepted: list[Received] = field(default_factory=list)
    refused: int = 0
    requests: int = 0
    port: int = field(default_factory=free_port)

    @property
    def url(self) -> str:
        """Where to POST."""
        return f"http://127.0.0.1:{self.port}/hook"

    def app(self) -> FastAPI:
        """The receiving app."""
        app = FastAPI()

        @app.post("/hook")
        async def hook(request: Request) -> Response:
            self.requests += 1
            body = await request.body()
            if not verify(self.secret, request.headers, body):
                self.refused += 1
                return Response(status_code=401)
            if self.hang_first > 0:
                self.hang_first -= 1
                await asyncio.sleep(3600)
            if self.fail_first > 0:
                self.fail_first -= 1
                return Response(status_code=503)
            self.accepted.append(Received(request.headers["Idempotency-Key"], json.loads(body)))
            return Response(status_code=204)

        return app

    async def __aenter__(self) -> WebhookReceiver:
        config = uvicorn.Config(
            self.app(),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            timeout_graceful_shutdown=1,  # a hanging request must not hold the test up
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        await poll(lambda: self._server.started, bool, 10, "the webhook receiver")
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._server.should_exit = True
        await asyncio.wait_for(self._task, 10)


class _Mailbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content, policy=default))
        return "250 OK"


class SmtpServer:
    """aiosmtpd on loopback, keeping every message it accepts."""

    def __init__(self) -> None:
        self.port = free_port()
        self._mailbox = _Mailbox()
        self._controller = Controller(self._mailbox, hostname="127.0.0.1", port=self.port)

    @property
    def messages(self) -> list[Message]:
        """Messages received so far."""
        return self._mailbox.messages

    def __enter__(self) -> SmtpServer:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()
