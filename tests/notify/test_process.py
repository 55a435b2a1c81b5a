"""The notify service as a real process: a SIGKILL during delivery, then a restart."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from pipeline.processes import ServiceProcess
from pipeline.tap import Tap
from services.notify.auth import keyring
from services.notify.context import MIGRATIONS
from shared.db import in_migrated_database
from shared.polling import poll
from tests.notify.test_service import SECRET, send, snapshot
from tests.support.events import reference
from tests.support.receivers import WebhookReceiver


@pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)
async def test_sigkill_during_delivery_delivers_after_restart_with_the_same_key(
    broker_url: str, database_url: str, tmp_path: Path
) -> None:
    env = {
        "SANGKIEN_BROKER_URL": broker_url,
        "SANGKIEN_DATABASE_URL": database_url,
        "SANGKIEN_RELAY_IDLE_SECONDS": "0.1",
        "SANGKIEN_NOTIFY_ALLOWED_HOSTS": '["127.0.0.1"]',
        "SANGKIEN_NOTIFY_DIGEST_SECONDS": "0.2",
        "SANGKIEN_NOTIFY_WEBHOOK_TIMEOUT_SECONDS": "120",
    }
    key = await in_migrated_database(
        database_url,
        MIGRATIONS,
        lambda session: keyring().create(session, name="t", scopes=["vn"], tree=reference().tree),
    )
    first, second = ServiceProcess("notify", env, tmp_path), ServiceProcess("notify", env, tmp_path)
    async with (
        WebhookReceiver(SECRET, hang_first=1) as receiver,
        Tap(broker_url, ("milestone.reached.v1",)) as tap,
    ):
        first.start()
        try:
            await first.wait_ready()
            async with httpx.AsyncClient(base_url=first.base_url) as http:
                answer = await http.post(
                    "/v1/subscriptions",
                    json={"union_code": "vn", "webhook": {"url": receiver.url, "secret": SECRET}},
                    headers={"X-API-Key": key},
                )
                assert answer.status_code == 201, answer.text
            await send(tap, snapshot("vn", "national", 300_001, 1))
            await poll(lambda: receiver.requests, lambda n: n >= 1, 30, "a delivery under way")
            first.kill()  # while the receiver holds the request open

            second.start()
            await second.wait_ready()
            await poll(lambda: len(receiver.accepted), lambda n: n >= 1, 60, "the redelivery")
            await send(tap, snapshot("vn", "national", 300_002, 2))  # same milestones again
            await tap.wait_for(lambda d: True, count=4)
        finally:
            first.kill()
            second.terminate()
    [delivery] = receiver.accepted
    assert receiver.requests == 2
    passed = ["national-100k", "national-10k", "national-300k", "national-50k"]
    assert sorted(m["rule_id"] for m in delivery.body["milestones"]) == passed
    assert delivery.idempotency_key == delivery.body["notification_id"]
    assert sorted(d.body["rule_id"] for d in tap.seen) == passed
