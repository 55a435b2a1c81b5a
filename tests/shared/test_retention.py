"""Bounded storage: rows past their retention are deleted, in batches; recent ones stay."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.notify import notice_store
from services.notify.store import attempts, notifications
from shared import retention
from shared.contracts.envelope import utc_now
from shared.messaging.tables import INBOX
from shared.retention import Retention, purge_inbox

Sessions = async_sessionmaker[AsyncSession]


async def count(sessions: Sessions, table: sa.Table) -> int:
    async with sessions() as session:
        return int(await session.scalar(sa.select(sa.func.count()).select_from(table)) or 0)


async def test_inbox_rows_past_their_retention_go_batch_by_batch(
    sessions: Sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retention, "BATCH", 3)
    now = utc_now()
    rows = [
        {"consumer": "q", "message_id": f"old-{n}", "processed_at": now - timedelta(days=40)}
        for n in range(7)
    ] + [{"consumer": "q", "message_id": "recent", "processed_at": now - timedelta(days=2)}]
    async with sessions() as session, session.begin():
        await session.execute(INBOX.insert(), rows)
    keeper = Retention(sessions)
    keeper.add("inbox", timedelta(days=30), purge_inbox)
    assert await keeper.purge_all() == {"inbox": 7}
    async with sessions() as session:
        left = (await session.scalars(sa.select(INBOX.c.message_id))).all()
    assert left == ["recent"]


async def test_the_delivery_log_keeps_recent_and_unfinished_notices(sessions: Sessions) -> None:
    now = utc_now()

    def notice(notice_id: str, status: str, finished_days_ago: float | None) -> dict[str, object]:
        finished = None if finished_days_ago is None else now - timedelta(days=finished_days_ago)
        return {
            "notification_id": notice_id,
            "subscription_id": "s",
            "channel": "webhook",
            "milestone_ids": [],
            "status": status,
            "attempts": 1,
            "next_attempt_at": now,
            "created_at": now - timedelta(days=400),
            "finished_at": finished,
        }

    async with sessions() as session, session.begin():
        await session.execute(
            notifications.insert(),
            [
                notice("old", "delivered", 200),
                notice("recent", "delivered", 10),
                notice("pending", "pending", None),
            ],
        )
        await session.execute(
            attempts.insert(),
            [
                {"notification_id": n, "number": 1, "at": now, "ok": True, "detail": "HTTP 204"}
                for n in ("old", "recent", "pending")
            ],
        )
    keeper = Retention(sessions)
    keeper.add("notifications", timedelta(days=180), notice_store.purge_finished)
    assert await keeper.purge_all() == {"notifications": 1}
    async with sessions() as session:
        kept = set((await session.scalars(sa.select(notifications.c.notification_id))).all())
        logged = set((await session.scalars(sa.select(attempts.c.notification_id))).all())
    assert kept == logged == {"recent", "pending"}
