"""The notify service against the real broker, a real SMTP server and a real webhook receiver."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa

from pipeline.tap import Tap
from services.notify.auth import keyring
from services.notify.store import notifications
from shared.contracts.envelope import utc_now
from shared.contracts.progress import Figures, ProgressUpdatedV1
from shared.polling import poll
from tests.conftest import RunningNotify
from tests.support.metrics import consumed
from tests.support.receivers import SmtpServer, WebhookReceiver

SECRET = "a-webhook-secret-of-some-length"
REACHED = "milestone.reached.v1"
QUEUE = "notify.progress.updated.v1"
pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def snapshot(
    union: str, level: str, counted: int, revision: int, **extra: Any
) -> ProgressUpdatedV1:
    figures = Figures(
        received=counted, counted=counted, flagged=0, excluded=0, benefit_vnd=0, distinct_authors=1
    )
    return ProgressUpdatedV1(
        message_id=f"{union}-program-{revision}",
        correlation_id=f"progress:{union}",
        occurred_at=utc_now(),
        union_code=union,
        level=level,
        program="mot-trieu-sang-kien",
        scope="program",
        revision=revision,
        as_of=date(2022, 10, 3),
        subtree=figures,
        own=figures,
        **extra,
    )


async def send(tap: Tap, *snapshots: ProgressUpdatedV1) -> None:
    for event in snapshots:
        await tap.publish(event.routing_key(), event.model_dump_json().encode(), event.message_id)


async def subscribe(notify: RunningNotify, union: str, **fields: Any) -> str:
    answer = await notify.http.post(
        "/v1/subscriptions", json={"union_code": union, **fields}, headers=notify.headers
    )
    assert answer.status_code == 201, answer.text
    subscription_id: str = answer.json()["subscription_id"]
    return subscription_id


async def test_a_crossing_is_delivered_once_by_webhook_and_email(
    notify: RunningNotify, broker_url: str, smtp: SmtpServer
) -> None:
    async with WebhookReceiver(SECRET) as receiver, Tap(broker_url, (REACHED,)) as tap:
        await subscribe(
            notify,
            "ldld-lai-chau",
            webhook={"url": receiver.url, "secret": SECRET},
            emails=["chu.tich@ldld-laichau.example.vn"],
        )
        first = snapshot("ldld-lai-chau", "province", 1200, 1, target=2300)
        again = snapshot("ldld-lai-chau", "province", 1210, 2, target=2300)
        metrics = (await notify.http.get("/metrics")).text
        before = consumed(metrics, QUEUE, "processed", "duplicate")
        await send(tap, first, first, again)  # a redelivery, and a newer snapshot: same crossing
        await poll(lambda: len(receiver.accepted), lambda n: n >= 1, 30, "the webhook")
        await poll(lambda: len(smtp.messages), lambda n: n >= 1, 30, "the e-mail")
        await tap.wait_for(lambda d: True)
        await send(tap, snapshot("ldld-lai-chau", "province", 1220, 3, target=2300))
        await poll(
            lambda: notify.http.get("/metrics"),
            lambda r: consumed(r.text, QUEUE, "processed", "duplicate") == before + 4,
            30,
            "every snapshot consumed",
        )
    [delivery] = receiver.accepted
    [milestone] = delivery.body["milestones"]
    assert milestone["rule_id"] == "percent-50" and milestone["union_code"] == "ldld-lai-chau"
    assert milestone["headline"].startswith("Liên đoàn Lao động tỉnh Lai Châu đạt 50% chỉ tiêu")
    assert receiver.refused == 0
    assert len(tap.seen) == 1 and tap.seen[0].body["rule_id"] == "percent-50"
    [mail] = smtp.messages
    assert "đạt 50% chỉ tiêu toàn chương trình" in str(mail["Subject"])
    assert mail.is_multipart()
    assert len(receiver.accepted) == 1 and len(smtp.messages) == 1


async def test_a_failing_receiver_gets_it_again_with_the_same_key_and_the_log_shows_it(
    notify: RunningNotify, broker_url: str
) -> None:
    async with WebhookReceiver(SECRET, fail_first=3) as receiver, Tap(broker_url, ()) as tap:
        subscription = await subscribe(
            notify, "vn", reach="subtree", webhook={"url": receiver.url, "secret": SECRET}
        )
        await send(tap, snapshot("vn", "national", 100_500, 1))
        await poll(lambda: len(receiver.accepted), lambda n: n >= 1, 60, "the 4th attempt")
    assert receiver.requests == 4
    log = (
        await notify.http.get(
            f"/v1/subscriptions/{subscription}/deliveries", headers=notify.headers
        )
    ).json()
    [notice] = log
    assert notice["status"] == "delivered"
    assert [a["ok"] for a in notice["attempts"]] == [False, False, False, True]
    assert notice["attempts"][0]["detail"].startswith("HTTP 503")
    assert receiver.accepted[0].idempotency_key == notice["notification_id"]


async def test_a_burst_of_200_milestones_is_one_digest_per_subscriber(
    notify: RunningNotify, broker_url: str, smtp: SmtpServer
) -> None:
    targets = notify.ctx.reference.targets
    districts = sorted(
        code
        for (code, scope), _ in targets.items()
        if scope == "program" and code.startswith("ldld-ha-noi.")
    )[:50]
    assert len(districts) == 50
    async with WebhookReceiver(SECRET) as receiver, Tap(broker_url, ()) as tap:
        await subscribe(
            notify, "ldld-ha-noi", reach="subtree", webhook={"url": receiver.url, "secret": SECRET}
        )
        await subscribe(notify, "ldld-ha-noi", reach="subtree", emails=["vp@ldld.example.vn"])
        burst = []
        for code in districts:
            goal = targets[(code, "program")].effective
            burst.append(
                snapshot(
                    code,
                    "district",
                    goal * 8 // 5,  # 160%: 50, 75 and 150 percent, and the target itself
                    1,
                    target=goal,
                    reached_on=date(2022, 9, 1),
                    days_ahead=365,
                )
            )
        await send(tap, *burst)
        await poll(lambda: len(receiver.accepted), lambda n: n >= 1, 60, "the digest")
        await poll(lambda: len(smtp.messages), lambda n: n >= 1, 60, "the e-mail digest")
    [digest] = receiver.accepted
    assert digest.body["digest"] is True and len(digest.body["milestones"]) == 200
    assert len(smtp.messages) == 1
    assert "200 mốc mới" in str(smtp.messages[0]["Subject"])
    assert any("sớm 365 ngày" in m["headline"] for m in digest.body["milestones"])


async def test_private_addresses_and_foreign_unions_are_refused(notify: RunningNotify) -> None:
    for url in ("http://10.1.2.3/hook", "http://169.254.169.254/latest", "http://192.168.0.9/"):
        answer = await notify.http.post(
            "/v1/subscriptions",
            json={"union_code": "vn", "webhook": {"url": url, "secret": SECRET}},
            headers=notify.headers,
        )
        assert answer.status_code == 422, url
        assert answer.json()["errors"][0]["code"] == "refused_address"
    async with notify.ctx.runtime.sessions() as session, session.begin():
        lai_chau_key = await keyring().create(
            session, name="Lai Châu", scopes=["ldld-lai-chau"], tree=notify.ctx.reference.tree
        )
    foreign = await notify.http.post(
        "/v1/subscriptions",
        json={"union_code": "ldld-ha-noi", "emails": ["a@example.vn"]},
        headers={"X-API-Key": lai_chau_key},
    )
    assert foreign.status_code == 403
    anonymous = await notify.http.get("/v1/subscriptions")
    assert anonymous.status_code == 401


async def test_a_notice_that_keeps_failing_is_marked_failed_and_can_be_replayed(
    notify: RunningNotify, broker_url: str
) -> None:
    async with (
        WebhookReceiver(SECRET, fail_first=5) as receiver,
        Tap(broker_url, ("notification.failed.v1", "notification.delivered.v1")) as tap,
    ):
        subscription = await subscribe(
            notify, "vn", webhook={"url": receiver.url, "secret": SECRET}
        )
        await send(tap, snapshot("vn", "national", 100_001, 1))
        [failed] = await tap.wait_for(lambda d: d.routing_key == "notification.failed.v1", 1, 60)
        assert failed.body["attempts"] == 5 and failed.body["last_error"].startswith("HTTP 503")
        log_url = f"/v1/subscriptions/{subscription}/deliveries"
        [notice] = (await notify.http.get(log_url, headers=notify.headers)).json()
        assert notice["status"] == "failed" and len(notice["attempts"]) == 5
        replay_url = f"{log_url}/{notice['notification_id']}/replay"
        assert (await notify.http.post(replay_url, headers=notify.headers)).status_code == 202
        await tap.wait_for(lambda d: d.routing_key == "notification.delivered.v1", 1, 60)
        again = await notify.http.post(replay_url, headers=notify.headers)
        assert again.status_code == 409  # only a failed notice is replayed
    [notice] = (await notify.http.get(log_url, headers=notify.headers)).json()
    assert notice["status"] == "delivered" and len(notice["attempts"]) == 6
    assert receiver.accepted[0].idempotency_key == notice["notification_id"]


async def test_a_hanging_receiver_does_not_delay_the_others(
    notify: RunningNotify, broker_url: str
) -> None:
    async with (
        WebhookReceiver(SECRET, hang_first=1) as stuck,
        WebhookReceiver(SECRET) as prompt,
        Tap(broker_url, ()) as tap,
    ):
        await subscribe(notify, "vn", webhook={"url": stuck.url, "secret": SECRET})
        await subscribe(notify, "vn", webhook={"url": prompt.url, "secret": SECRET})
        await send(tap, snapshot("vn", "national", 100_001, 1))
        await poll(lambda: len(prompt.accepted), lambda n: n == 1, 15, "the prompt receiver")
        # Both attempts start at once; the stuck one's request may land a moment later.
        await poll(lambda: stuck.requests, lambda n: n == 1, 15, "the stuck receiver's request")
        assert stuck.accepted == []  # still held open


async def test_a_subscription_deleted_while_milestones_wait_gets_nothing(
    notify: RunningNotify, broker_url: str
) -> None:
    notify.ctx.settings.notify_digest_seconds = 5.0  # ample time to delete while they wait
    async with WebhookReceiver(SECRET) as gone, WebhookReceiver(SECRET) as kept:
        async with Tap(broker_url, ()) as tap:
            deleted = await subscribe(notify, "vn", webhook={"url": gone.url, "secret": SECRET})
            await subscribe(notify, "vn", webhook={"url": kept.url, "secret": SECRET})
            before = consumed((await notify.http.get("/metrics")).text, QUEUE, "processed")
            await send(tap, snapshot("vn", "national", 100_001, 1))
            await poll(  # queued for both, still inside the digest window
                lambda: notify.http.get("/metrics"),
                lambda r: consumed(r.text, QUEUE, "processed") == before + 1,
                30,
                "the snapshot consumed",
            )
            answer = await notify.http.delete(
                f"/v1/subscriptions/{deleted}", headers=notify.headers
            )
            assert answer.status_code == 204
        await poll(lambda: len(kept.accepted), lambda n: n == 1, 30, "the kept subscriber")

        async def statuses() -> dict[str, str]:
            async with notify.ctx.runtime.sessions() as session:
                return {
                    row.subscription_id: row.status
                    for row in await session.execute(sa.select(notifications))
                }

        # Both notices fall due together; the kept one may be delivered first.
        await poll(statuses, lambda got: got.get(deleted) == "cancelled", 30, "the cancellation")
        assert gone.requests == 0
