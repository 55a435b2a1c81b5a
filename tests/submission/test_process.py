"""The submission service as a real process: SIGKILL, broker restart, what its logs hold."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import asyncpg
import httpx
import pytest

from pipeline.processes import ServiceProcess, create_api_key
from pipeline.tap import Tap
from shared.messaging.publishers import broker_user
from shared.messaging.topology import declare_queues, portal_outcomes
from shared.polling import poll
from tests.support.broker import PrivateRabbit
from tests.support.drafts import HANOI_EMAIL, HANOI_PHONE, draft
from tests.support.publish import publish_raw, submit_command, take_messages

RECEIVED = "submission.received.v1"
REVIEWED = "submission.reviewed.v1"
OUTCOMES = (RECEIVED, "submission.rejected.v1")

ServiceFactory = Callable[..., ServiceProcess]


@pytest.fixture
async def service(
    broker_url: str, database_url: str, tmp_path: Path
) -> AsyncIterator[ServiceFactory]:
    """Start submission processes on the test's broker and database; stops them at the end."""
    started: list[ServiceProcess] = []

    def start(**env: str) -> ServiceProcess:
        process = ServiceProcess(
            "submission",
            {
                "SANGKIEN_BROKER_URL": broker_url,
                "SANGKIEN_DATABASE_URL": database_url,
                "SANGKIEN_RELAY_IDLE_SECONDS": "0.1",
                **env,
            },
            tmp_path,
        )
        process.start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.terminate()


def api_key(
    database_url: str, scope: str, review: bool = False, portal: str | None = None
) -> dict[str, str]:
    """Headers with a key made by the service's own command (``portal``: that broker user's
    commands are filed as this key)."""
    key = create_api_key(
        {"SANGKIEN_DATABASE_URL": database_url},
        name="test",
        scope=scope,
        review=review,
        broker_user=portal,
    )
    return {"X-API-Key": key}


async def file(process: ServiceProcess, headers: dict[str, str], key: str, **body: object) -> str:
    async with httpx.AsyncClient(base_url=process.base_url, timeout=10) as client:
        response = await client.post(
            "/v1/submissions", json=draft(**body), headers={**headers, "Idempotency-Key": key}
        )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def about(submission_id: str):
    return lambda d: d.body.get("submission_id") == submission_id


async def test_event_committed_but_unpublished_at_sigkill_is_published_once_after_restart(
    service: ServiceFactory, broker_url: str, database_url: str
) -> None:
    headers = api_key(database_url, "ldld-ha-noi")
    async with Tap(broker_url, (RECEIVED,)) as tap:
        # With the relay off, the state after the response is exactly "committed, not published".
        stalled = service(SANGKIEN_RELAY_ENABLED="false")
        await stalled.wait_ready()
        submission_id = await file(stalled, headers, "k-1")
        stalled.kill()
        assert tap.seen == []
        restarted = service()
        await restarted.wait_ready()
        await tap.wait_for(about(submission_id))
        barrier = await file(restarted, headers, "k-2", title="Sáng kiến rào chắn thứ hai")
        await tap.wait_for(about(barrier))
        assert len(tap.matching(about(submission_id))) == 1


async def test_review_committed_but_unpublished_at_sigkill_is_published_once_after_restart(
    service: ServiceFactory, broker_url: str, database_url: str
) -> None:
    headers = api_key(database_url, "ldld-ha-noi", review=True)
    reviewed = lambda d: d.routing_key == REVIEWED  # noqa: E731
    async with Tap(broker_url, (REVIEWED,)) as tap:
        stalled = service(SANGKIEN_RELAY_ENABLED="false")
        await stalled.wait_ready()
        submission_id = await file(stalled, headers, "k-1")
        async with httpx.AsyncClient(base_url=stalled.base_url, timeout=10) as client:
            answer = await client.post(
                f"/v1/submissions/{submission_id}/reviews",
                json={"decision": "invalid", "reason": "không có tính mới"},
                headers=headers,
            )
        assert answer.status_code == 201, answer.text
        stalled.kill()
        assert tap.seen == []
        restarted = service()
        await restarted.wait_ready()
        [published] = await tap.wait_for(reviewed)
        async with httpx.AsyncClient(base_url=restarted.base_url, timeout=10) as client:
            again = await client.post(
                f"/v1/submissions/{submission_id}/reviews",
                json={"decision": "valid"},
                headers=headers,
            )
        assert again.status_code == 201
        await tap.wait_for(reviewed, count=2)
    assert [d.body["sequence"] for d in tap.matching(reviewed)] == [1, 2]
    assert published.body["review_id"] == answer.json()["review_id"]
    assert published.body["reason"] == "không có tính mới"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_service_reconnects_after_a_broker_restart(
    service: ServiceFactory, broker_url: str, database_url: str, rabbit: PrivateRabbit
) -> None:
    headers = api_key(database_url, "ldld-ha-noi", portal=broker_user(broker_url))
    outcomes = portal_outcomes(broker_user(broker_url))
    await declare_queues(broker_url, [outcomes])  # as the portal would, once
    process = service()
    await process.wait_ready()
    rabbit.stop()
    async with httpx.AsyncClient(base_url=process.base_url, timeout=10) as client:
        await poll(lambda: client.get("/ready"), lambda r: r.status_code == 503, 30, "not ready")
    during_outage = await file(process, headers, "outage")  # intake goes on into the outbox
    rabbit.start()
    await process.wait_ready(timeout=90)
    # The relay may publish it before any new listener binds: read the portal's durable queue.
    [outcome] = await take_messages(broker_url, outcomes.name, 1, timeout=60)
    assert json.loads(outcome.body)["submission_id"] == during_outage
    async with Tap(broker_url, OUTCOMES) as tap:
        after = await file(process, headers, "after", title="Sáng kiến sau khi khởi động lại")
        await tap.wait_for(about(after))
        await publish_raw(
            broker_url,
            "submission.submit.v1",
            submit_command("cmd-after", draft(title="Lệnh AMQP sau sự cố")),
            message_id="cmd-after",
        )
        await tap.wait_for(lambda d: d.body.get("command_id") == "cmd-after")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_logs_are_json_with_correlation_ids_and_no_contact_details(
    service: ServiceFactory, broker_url: str, database_url: str
) -> None:
    headers = api_key(database_url, "ldld-ha-noi", portal=broker_user(broker_url))
    process = service(SANGKIEN_LOG_LEVEL="DEBUG")
    await process.wait_ready()
    async with Tap(broker_url, OUTCOMES) as tap:
        submission_id = await file(process, headers, "k")
        bad = draft(union_code="nope")
        await publish_raw(
            broker_url,
            "submission.submit.v1",
            submit_command("cmd-bad", bad),
            message_id="cmd-bad",
            correlation_id="corr-bad",
        )
        await tap.wait_for(lambda d: d.body.get("command_id") == "cmd-bad")
        await tap.wait_for(about(submission_id))
        published = b"".join(d.raw for d in tap.seen).decode()
    process.terminate()
    logs = process.logs()
    lines = [json.loads(line) for line in logs.splitlines() if line.strip()]
    # The command's own correlation id (its envelope's; submit_command makes it corr-<id>).
    assert any(line.get("correlation_id") == "corr-cmd-bad" for line in lines)
    for text in (logs, published):
        assert HANOI_PHONE not in text and HANOI_EMAIL not in text
        assert "0912345678" not in text.replace(" ", "")


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_a_database_error_about_a_submission_logs_no_contact_details(
    service: ServiceFactory, broker_url: str, database_url: str
) -> None:
    """The database refuses the insert (here a trigger, as a constraint or a full disk would),
    of a submission over HTTP and of a command over AMQP: each error is logged with its
    traceback, and neither the statement's parameters nor the contact details they hold appear
    anywhere in the log."""
    headers = api_key(database_url, "ldld-ha-noi", portal=broker_user(broker_url))
    process = service()
    await process.wait_ready()
    connection = await asyncpg.connect(database_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        await connection.execute(
            """
            CREATE FUNCTION refuse() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION 'refused by the test'; END $$ LANGUAGE plpgsql;
            CREATE TRIGGER refuse BEFORE INSERT ON submissions
            FOR EACH ROW EXECUTE FUNCTION refuse();
            """
        )
    finally:
        await connection.close()
    async with httpx.AsyncClient(base_url=process.base_url, timeout=10) as client:
        answer = await client.post(
            "/v1/submissions", json=draft(), headers={**headers, "Idempotency-Key": "refused"}
        )
    assert answer.status_code == 500
    await publish_raw(
        broker_url,
        "submission.submit.v1",
        submit_command("cmd-refused", draft()),
        message_id="cmd-refused",
    )
    logs = await poll(
        process.logs, lambda text: "message_failed_will_retry" in text, 30, "the consumer's error"
    )
    for personal in (HANOI_PHONE, HANOI_EMAIL, draft()["author"]["member_id"]):
        assert personal not in logs
    assert "0912345678" not in logs.replace(" ", "")
    assert "Traceback (most recent call last)" in logs  # readable, not a repr of exc_info
