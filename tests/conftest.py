"""Fixtures: the private broker and PostgreSQL of the session, databases, the submission app."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from pipeline.processes import free_port
from services.aggregation.app import create_app as create_aggregation_app
from services.aggregation.settings import AggregationSettings
from services.dedup.app import create_app as create_dedup_app
from services.dedup.settings import DedupSettings
from services.notify.app import create_app as create_notify_app
from services.notify.auth import keyring as notify_keyring
from services.notify.context import NotifyContext
from services.notify.settings import NotifySettings
from services.submission.app import create_app
from services.submission.auth import create_client
from services.submission.context import SubmissionContext
from services.submission.settings import SubmissionSettings
from shared.messaging.publishers import broker_user
from tests.support.broker import PrivateRabbit, broker_port
from tests.support.inprocess import serving
from tests.support.postgres import PrivatePostgres
from tests.support.receivers import SmtpServer

# Tests run on the embedded defaults, placeholder secrets included; the production-shape suite
# (tests/production) and the refusal test turn development mode off for what they start.
os.environ.setdefault("SANGKIEN_DEVELOPMENT", "true")


@pytest.fixture(scope="session")
def rabbit() -> Iterator[PrivateRabbit]:
    """The session's RabbitMQ node."""
    node = PrivateRabbit(broker_port())
    node.start(fresh=True)
    yield node
    node.stop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PrivatePostgres]:
    """The session's PostgreSQL cluster."""
    cluster = PrivatePostgres(int(os.environ.get("SANGKIEN_TEST_PG_PORT", free_port())))
    cluster.start()
    yield cluster
    cluster.stop()


@pytest.fixture
def broker_url(rabbit: PrivateRabbit) -> str:
    """A fresh virtual host: each test sees an empty topology."""
    return rabbit.new_vhost()


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each kind."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'service.sqlite3'}"
    cluster: PrivatePostgres = request.getfixturevalue("postgres")
    return await cluster.new_database()


@pytest.fixture
def submission_settings(broker_url: str, database_url: str) -> SubmissionSettings:
    """Settings of a submission service on the test's broker and database."""
    return SubmissionSettings(
        broker_url=broker_url, database_url=database_url, relay_idle_seconds=0.1
    )


@dataclass
class RunningSubmission:
    """An in-process submission service and an HTTP client for it."""

    ctx: SubmissionContext
    http: httpx.AsyncClient

    async def new_key(
        self,
        *scopes: str,
        contacts: bool = False,
        review: bool = False,
        broker_user: str | None = None,
        manage_reference: bool = False,
    ) -> dict[str, str]:
        """Headers carrying a fresh API key scoped to ``scopes`` (``broker_user``: a portal's
        commands from that broker user are filed as this client; ``manage_reference``: a
        union office's key, which may change the unions and targets below it)."""
        async with self.ctx.runtime.sessions() as session, session.begin():
            key = await create_client(
                session,
                name="test portal",
                scopes=list(scopes),
                tree=self.ctx.reference.tree,
                can_see_contacts=contacts,
                can_review=review,
                broker_user=broker_user,
                can_manage_reference=manage_reference,
            )
        return {"X-API-Key": key}


def dedup_app(broker_url: str, database_url: str) -> FastAPI:
    """A dedup service on the test's broker and ``database_url``."""
    return create_dedup_app(
        DedupSettings(broker_url=broker_url, database_url=database_url, relay_idle_seconds=0.1)
    )


def aggregation_app(broker_url: str, database_url: str) -> FastAPI:
    """An aggregation service on the test's broker and ``database_url``, snapshots every 0.2 s."""
    return create_aggregation_app(
        AggregationSettings(
            broker_url=broker_url,
            database_url=database_url,
            relay_idle_seconds=0.1,
            aggregation_snapshot_seconds=0.2,
        )
    )


@pytest.fixture
async def dedup(broker_url: str, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The dedup service running in this process, ready; yields a client of its HTTP side."""
    async with serving(dedup_app(broker_url, database_url), "dedup") as http:
        yield http


@pytest.fixture
async def submission(submission_settings: SubmissionSettings) -> AsyncIterator[RunningSubmission]:
    """The submission service running in this process, ready (database and broker up); the
    tests' broker user (``guest``) is a portal covering the whole tree."""
    app = create_app(submission_settings)
    async with serving(app, "submission") as http:
        running = RunningSubmission(app.state.ctx, http)
        await running.new_key("vn", broker_user=broker_user(submission_settings.broker_url))
        yield running


@pytest.fixture
async def aggregation(broker_url: str, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The aggregation service in this process, ready, snapshots every 0.2 s; an HTTP client."""
    async with serving(aggregation_app(broker_url, database_url), "aggregation") as http:
        yield http


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A real SMTP server on loopback."""
    with SmtpServer() as server:
        yield server


@dataclass
class RunningNotify:
    """An in-process notify service, an HTTP client for it and a key covering ``vn``."""

    ctx: NotifyContext
    http: httpx.AsyncClient
    headers: dict[str, str]


def notify_settings(broker_url: str, database_url: str, smtp_port: int) -> NotifySettings:
    """Notify settings for tests: loopback receivers admitted, short windows and retries."""
    return NotifySettings(
        broker_url=broker_url,
        database_url=database_url,
        relay_idle_seconds=0.1,
        notify_smtp_port=smtp_port,
        notify_allowed_hosts=["127.0.0.1"],
        notify_digest_seconds=1.0,
        notify_retry_base_seconds=0.2,
        notify_max_attempts=5,
    )


@pytest.fixture
async def notify(
    broker_url: str, database_url: str, smtp: SmtpServer
) -> AsyncIterator[RunningNotify]:
    """The notify service running in this process, ready."""
    app = create_notify_app(notify_settings(broker_url, database_url, smtp.port))
    ctx: NotifyContext = app.state.ctx
    async with serving(app, "notify") as http:
        async with ctx.runtime.sessions() as session, session.begin():
            key = await notify_keyring().create(
                session, name="test", scopes=["vn"], tree=ctx.reference.tree
            )
        yield RunningNotify(ctx, http, {"X-API-Key": key})
