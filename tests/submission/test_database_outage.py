"""A database outage delays commands; it does not dead-letter them."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from pipeline.tap import Tap
from shared.polling import poll
from tests.conftest import RunningSubmission
from tests.support.broker import PrivateRabbit
from tests.support.drafts import draft
from tests.support.postgres import PrivatePostgres
from tests.support.publish import submit_command

pytestmark = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)


async def test_command_sent_while_the_database_is_down_is_applied_after(
    submission: RunningSubmission,
    broker_url: str,
    rabbit: PrivateRabbit,
    postgres: PrivatePostgres,
) -> None:
    queue = "submission.submission.submit.v1"
    async with Tap(broker_url, ("submission.received.v1",)) as tap:
        postgres.pause()
        try:
            await tap.publish("submission.submit.v1", submit_command("during", draft()), "during")
            # Held unacked by the service while the database is away.
            await poll(
                lambda: rabbit.queue_depths(broker_url).get(queue),
                lambda n: n == 1,
                30,
                "the command taken and held",
            )
            ready = await submission.http.get("/ready")
            assert ready.status_code == 503 and ready.json()["checks"]["database"] != "ok"
        finally:
            postgres.resume()
        await tap.wait_for(lambda d: d.body.get("command_id") == "during", timeout=60)
    depths = await poll(
        lambda: rabbit.queue_depths(broker_url), lambda d: d[queue] == 0, 30, "the command acked"
    )
    assert depths[f"{queue}.dlq"] == 0


async def test_a_submission_sent_while_the_database_is_down_is_answered_503_retry_later(
    submission: RunningSubmission, postgres: PrivatePostgres
) -> None:
    headers = {**await submission.new_key("vn"), "Idempotency-Key": "k"}
    filed = draft()
    postgres.pause()
    try:
        answer = await submission.http.post("/v1/submissions", json=filed, headers=headers)
    finally:
        postgres.resume()
    assert answer.status_code == 503, answer.text
    assert answer.headers["Retry-After"] == "5"
    assert answer.json()["errors"][0]["code"] == "database_unavailable"
    again = await submission.http.post("/v1/submissions", json=filed, headers=headers)
    assert again.status_code == 201, again.text


async def test_a_submission_whose_connection_the_server_ends_mid_statement_is_answered_503(
    submission: RunningSubmission, database_url: str
) -> None:
    """A PostgreSQL restart or failover ends the connections of statements in flight (SQLSTATE
    57P01, which SQLAlchemy reports as neither OperationalError nor InterfaceError): the client
    is told to retry, not that the server failed, and the retry is stored."""
    headers = {**await submission.new_key("vn"), "Idempotency-Key": "ended"}
    filed = draft()
    url = database_url.replace("postgresql+asyncpg", "postgresql")
    locker, killer = await asyncpg.connect(url), await asyncpg.connect(url)
    try:
        # The submission's insert waits on this lock; the server then ends its connection.
        holding = locker.transaction()
        await holding.start()
        await locker.execute("LOCK TABLE submissions IN ACCESS EXCLUSIVE MODE")
        posted = asyncio.create_task(
            submission.http.post("/v1/submissions", json=filed, headers=headers)
        )
        waiting = await poll(
            lambda: killer.fetch(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'"
            ),
            bool,
            30,
            "the insert waiting on the lock",
        )
        await killer.execute("SELECT pg_terminate_backend($1)", waiting[0]["pid"])
        answer = await asyncio.wait_for(posted, 30)
        await holding.rollback()
    finally:
        await locker.close()
        await killer.close()
    assert answer.status_code == 503, answer.text
    assert answer.json()["errors"][0]["code"] == "database_unavailable"
    again = await submission.http.post("/v1/submissions", json=filed, headers=headers)
    assert again.status_code == 201, again.text
