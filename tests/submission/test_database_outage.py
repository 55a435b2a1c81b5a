"""A database outage delays commands; it does not dead-letter them."""

from __future__ import annotations

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
