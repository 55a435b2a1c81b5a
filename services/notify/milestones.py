"""Recording milestones from progress snapshots: each fires once, and its subscribers are queued.

In the transaction of the snapshots' micro-batch: stale snapshots (a revision at or below the
newest seen for the union and scope) are skipped; each milestone a snapshot shows that was never
recorded is inserted (its id is the primary key), published as ``milestone.reached.v1`` through
the outbox, and queued for every subscription that covers the union, per channel.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.rules import Reached, Rule, reached
from services.notify.store import milestones, pending, snapshots_seen, subscriptions
from shared.contracts.envelope import derived_message_id, utc_now
from shared.contracts.milestone import MilestoneReachedV1
from shared.contracts.notification import Channel
from shared.contracts.progress import ProgressUpdatedV1
from shared.db import upsert
from shared.messaging.outbox import add_to_outbox
from shared.reference.unions import UnionTree


async def record(
    session: AsyncSession,
    snapshots: Sequence[ProgressUpdatedV1],
    *,
    rules: Sequence[Rule],
    tree: UnionTree,
) -> list[Reached]:
    """Record what ``snapshots`` (in queue order) newly reached; returns those milestones.

    A few statements per batch, not per snapshot: at its shortest interval aggregation sends
    hundreds of snapshots a second, most of them showing milestones recorded long ago."""
    fresh = await _newer_than_seen(session, snapshots)
    found = [(snapshot, m) for snapshot in fresh for m in reached(snapshot, tuple(rules))]
    if not found:
        return []
    known = set(
        (
            await session.scalars(
                sa.select(milestones.c.milestone_id).where(
                    milestones.c.milestone_id.in_({m.milestone_id for _, m in found})
                )
            )
        ).all()
    )
    new: list[tuple[ProgressUpdatedV1, Reached]] = []
    for snapshot, m in found:
        if m.milestone_id not in known:
            known.add(m.milestone_id)
            new.append((snapshot, m))
    if not new:
        return []
    now = utc_now()
    await session.execute(
        milestones.insert(),
        [
            {
                "milestone_id": m.milestone_id,
                "program": snapshot.program,
                "scope": snapshot.scope,
                "union_code": snapshot.union_code,
                "rule_id": m.rule.id,
                "kind": m.rule.kind.value,
                "threshold": m.rule.threshold,
                "counted": m.counted,
                "target": m.target,
                "reached_on": m.reached_on,
                "days_ahead": m.days_ahead,
                "revision": snapshot.revision,
                "recorded_at": now,
            }
            for snapshot, m in new
        ],
    )
    await add_to_outbox(session, *(_reached_event(snapshot, m, tree, now) for snapshot, m in new))
    by_union: dict[str, list[str]] = {}
    for snapshot, m in new:
        by_union.setdefault(snapshot.union_code, []).append(m.milestone_id)
    for union_code, milestone_ids in by_union.items():
        await _queue_for_subscribers(session, union_code, tree, milestone_ids)
    return [m for _, m in new]


async def _newer_than_seen(
    session: AsyncSession, snapshots: Sequence[ProgressUpdatedV1]
) -> list[ProgressUpdatedV1]:
    """The snapshots newer than any seen before for their union and scope (stale ones, at or
    below the newest revision seen, are skipped); records the newest revisions."""
    unions = {snapshot.union_code for snapshot in snapshots}
    newest = {
        (row.union_code, row.scope): row.revision
        for row in await session.execute(
            sa.select(snapshots_seen).where(snapshots_seen.c.union_code.in_(unions))
        )
    }
    changed: dict[tuple[str, str], int] = {}
    fresh = []
    for snapshot in snapshots:
        key = (snapshot.union_code, snapshot.scope)
        if newest.get(key, -1) < snapshot.revision:
            newest[key] = changed[key] = snapshot.revision
            fresh.append(snapshot)
    if changed:
        dialect = session.get_bind().dialect.name
        await session.execute(
            upsert(dialect, snapshots_seen, replace=("revision",)),
            [
                {"union_code": union_code, "scope": scope, "revision": revision}
                for (union_code, scope), revision in changed.items()
            ],
        )
    return fresh


def _reached_event(
    snapshot: ProgressUpdatedV1, m: Reached, tree: UnionTree, now: datetime
) -> MilestoneReachedV1:
    union = tree.get(snapshot.union_code)
    return MilestoneReachedV1(
        message_id=derived_message_id(m.milestone_id, MilestoneReachedV1.routing_key()),
        correlation_id=m.milestone_id,
        occurred_at=now,
        milestone_id=m.milestone_id,
        union_code=snapshot.union_code,
        union_name=union.name if union else snapshot.union_code,
        program=snapshot.program,
        scope=snapshot.scope,
        rule_id=m.rule.id,
        kind=m.rule.kind,
        threshold=m.rule.threshold,
        counted=m.counted,
        target=m.target,
        reached_on=m.reached_on,
        days_ahead=m.days_ahead,
    )


async def _queue_for_subscribers(
    session: AsyncSession, union_code: str, tree: UnionTree, milestone_ids: list[str]
) -> None:
    """Queue the milestones for every live subscription of the union (own or subtree) or of an
    ancestor (subtree), once per channel it has."""
    ancestors = tree.path(union_code)[:-1] if union_code in tree else ()
    rows = await session.execute(
        sa.select(subscriptions).where(
            subscriptions.c.deleted_at.is_(None),
            sa.or_(
                subscriptions.c.union_code == union_code,
                sa.and_(
                    subscriptions.c.union_code.in_(ancestors),
                    subscriptions.c.reach == "subtree",
                ),
            ),
        )
    )
    now = utc_now()
    queued = []
    for subscription in rows:
        channels = []
        if subscription.webhook_url:
            channels.append(Channel.WEBHOOK)
        if subscription.emails:
            channels.append(Channel.EMAIL)
        queued += [
            {
                "subscription_id": subscription.subscription_id,
                "channel": channel.value,
                "milestone_id": milestone_id,
                "queued_at": now,
            }
            for channel in channels
            for milestone_id in milestone_ids
        ]
    if queued:
        await session.execute(pending.insert(), queued)
