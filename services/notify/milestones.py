"""Recording milestones from progress snapshots: each fires once, is revised when later data
changes it, and its subscribers are queued a notice or a correction.

In the transaction of the snapshots' micro-batch: stale snapshots (a revision at or below the
newest seen for the union and scope) are skipped, and of the rest only the newest per union and
scope counts (a snapshot is cumulative). Where a milestone stands is compared with its record
(``revisions``):

- reached and never recorded: inserted (its id is the primary key), published as
  ``milestone.reached.v1`` and queued for every subscription that covers the union;
- recorded, and its day, days ahead or reached state changed: the record is revised, the change
  logged in ``milestone_revisions``, published as ``milestone.revised.v1`` (once per change) and
  queued as a correction for subscribers who may have been told. A subscriber whose first notice
  is still queued gets no correction: that notice is rendered with the milestone's facts when it
  is sent; one whose first notice is queued and the milestone withdrawn is told nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.notify.revisions import Revision, Told, revision
from services.notify.rules import Standing, standings
from services.notify.store import (
    milestone_revisions,
    milestones,
    pending,
    snapshots_seen,
    subscriptions,
)
from shared.contracts.envelope import derived_message_id, utc_now
from shared.contracts.milestone import MilestoneReachedV1, MilestoneRevisedV1, RevisionReason
from shared.contracts.notification import Channel
from shared.contracts.progress import ProgressUpdatedV1
from shared.db import upsert
from shared.messaging.outbox import add_to_outbox
from shared.reference.milestones import Rule
from shared.reference.unions import UnionTree


@dataclass(frozen=True)
class Recorded:
    """What a batch of snapshots changed: milestones fired, milestones revised."""

    fired: list[Standing]
    revised: list[Revision]


def revision_id(milestone_id: str, number: int) -> str:
    """The stable id of a milestone's ``number``-th revision."""
    return derived_message_id(milestone_id, "revision", str(number))


async def record(
    session: AsyncSession,
    snapshots: Sequence[ProgressUpdatedV1],
    *,
    rules: Sequence[Rule],
    tree: UnionTree,
) -> Recorded:
    """Record what ``snapshots`` (in queue order) newly reached or changed.

    A few statements per batch, not per snapshot: at its shortest interval aggregation sends
    hundreds of snapshots a second, most of them changing nothing."""
    newest: dict[tuple[str, str], ProgressUpdatedV1] = {}
    for snapshot in await _newer_than_seen(session, snapshots):
        newest[(snapshot.union_code, snapshot.scope)] = snapshot
    found = [(snap, st) for snap in newest.values() for st in standings(snap, tuple(rules))]
    if not found:
        return Recorded([], [])
    records = {
        row.milestone_id: row
        for row in await session.execute(
            sa.select(milestones).where(
                milestones.c.milestone_id.in_({st.milestone_id for _, st in found})
            )
        )
    }
    fired: list[tuple[ProgressUpdatedV1, Standing]] = []
    revised: list[tuple[ProgressUpdatedV1, Revision]] = []
    for snapshot, standing in found:
        row = records.get(standing.milestone_id)
        if row is None:
            if standing.reached_on is not None:
                fired.append((snapshot, standing))
            continue
        told = Told(None if row.withdrawn else row.reached_on, row.days_ahead, row.revisions)
        change = revision(told, standing)
        if change is not None:
            revised.append((snapshot, change))
    now = utc_now()
    if fired:
        await _fire(session, fired, tree, now)
    if revised:
        await _revise(session, revised, tree, now)
    return Recorded([st for _, st in fired], [change for _, change in revised])


async def _fire(
    session: AsyncSession,
    fired: list[tuple[ProgressUpdatedV1, Standing]],
    tree: UnionTree,
    now: datetime,
) -> None:
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
            for snapshot, m in fired
        ],
    )
    await add_to_outbox(session, *(_reached_event(snapshot, m, tree, now) for snapshot, m in fired))
    by_union: dict[str, list[str]] = {}
    for snapshot, m in fired:
        by_union.setdefault(snapshot.union_code, []).append(m.milestone_id)
    for union_code, milestone_ids in by_union.items():  # one look-up of subscribers per union
        subscribers = await _subscribers(session, union_code, tree)
        await _queue(session, [(s, c, m) for s, c in subscribers for m in milestone_ids], now)


async def _revise(
    session: AsyncSession,
    revised: list[tuple[ProgressUpdatedV1, Revision]],
    tree: UnionTree,
    now: datetime,
) -> None:
    for snapshot, change in revised:
        standing = change.standing
        values: dict[str, object] = {
            "withdrawn": standing.reached_on is None,
            "revisions": change.number,
            "counted": standing.counted,
            "target": standing.target,
            "days_ahead": standing.days_ahead,
            "revision": snapshot.revision,
        }
        if standing.reached_on is not None:  # a withdrawn one keeps the day last told
            values["reached_on"] = standing.reached_on
        await session.execute(
            milestones.update()
            .where(milestones.c.milestone_id == standing.milestone_id)
            .values(**values)
        )
        revision_key = revision_id(standing.milestone_id, change.number)
        await session.execute(
            milestone_revisions.insert().values(
                revision_id=revision_key,
                milestone_id=standing.milestone_id,
                number=change.number,
                reason=change.reason.value,
                previous_reached_on=change.previous.reached_on,
                previous_days_ahead=change.previous.days_ahead,
                reached_on=standing.reached_on,
                days_ahead=standing.days_ahead,
                counted=standing.counted,
                revised_at=now,
            )
        )
        await add_to_outbox(session, _revised_event(snapshot, change, tree, now))
        await _queue_correction(session, snapshot.union_code, tree, change, revision_key, now)


async def _queue_correction(
    session: AsyncSession,
    union_code: str,
    tree: UnionTree,
    change: Revision,
    revision_key: str,
    now: datetime,
) -> None:
    """Queue the correction for each subscriber whose first notice is not still queued; drop a
    still-queued first notice of a withdrawn milestone (the subscriber was never told)."""
    milestone_key = change.standing.milestone_id
    untold = {
        (row.subscription_id, row.channel)
        for row in await session.execute(
            sa.select(pending.c.subscription_id, pending.c.channel).where(
                pending.c.milestone_id == milestone_key
            )
        )
    }
    if change.reason is RevisionReason.WITHDRAWN and untold:
        await session.execute(pending.delete().where(pending.c.milestone_id == milestone_key))
    queued = [
        (subscription_id, channel, revision_key)
        for subscription_id, channel in await _subscribers(session, union_code, tree)
        if (subscription_id, channel) not in untold
    ]
    await _queue(session, queued, now)


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
            upsert(dialect, snapshots_seen, greatest=("revision",)),
            [
                {"union_code": union_code, "scope": scope, "revision": revision}
                for (union_code, scope), revision in changed.items()
            ],
        )
    return fresh


def _facts(snapshot: ProgressUpdatedV1, m: Standing, tree: UnionTree) -> dict[str, object]:
    """What both milestone events say of the milestone and its union."""
    union = tree.get(snapshot.union_code)
    return {
        "correlation_id": m.milestone_id,
        "milestone_id": m.milestone_id,
        "union_code": snapshot.union_code,
        "union_name": union.name if union else snapshot.union_code,
        "program": snapshot.program,
        "scope": snapshot.scope,
        "rule_id": m.rule.id,
        "kind": m.rule.kind,
        "threshold": m.rule.threshold,
        "counted": m.counted,
        "target": m.target,
        "reached_on": m.reached_on,
        "days_ahead": m.days_ahead,
    }


def _reached_event(
    snapshot: ProgressUpdatedV1, m: Standing, tree: UnionTree, now: datetime
) -> MilestoneReachedV1:
    return MilestoneReachedV1.model_validate(
        {
            **_facts(snapshot, m, tree),
            "message_id": derived_message_id(m.milestone_id, MilestoneReachedV1.routing_key()),
            "occurred_at": now,
        }
    )


def _revised_event(
    snapshot: ProgressUpdatedV1, change: Revision, tree: UnionTree, now: datetime
) -> MilestoneRevisedV1:
    return MilestoneRevisedV1.model_validate(
        {
            **_facts(snapshot, change.standing, tree),
            "message_id": revision_id(change.standing.milestone_id, change.number),
            "occurred_at": now,
            "revision": change.number,
            "reason": change.reason,
            "previous_reached_on": change.previous.reached_on,
            "previous_days_ahead": change.previous.days_ahead,
        }
    )


async def _subscribers(
    session: AsyncSession, union_code: str, tree: UnionTree
) -> list[tuple[str, str]]:
    """(subscription, channel) of every live subscription of the union (own or subtree) or of
    an ancestor (subtree), once per channel it has."""
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
    found = []
    for subscription in rows:
        if subscription.webhook_url:
            found.append((subscription.subscription_id, Channel.WEBHOOK.value))
        if subscription.emails:
            found.append((subscription.subscription_id, Channel.EMAIL.value))
    return found


async def _queue(session: AsyncSession, items: list[tuple[str, str, str]], now: datetime) -> None:
    """Queue (subscription, channel, milestone or revision id) items for the next notices."""
    if items:
        await session.execute(
            pending.insert(),
            [
                {
                    "subscription_id": subscription_id,
                    "channel": channel,
                    "milestone_id": item,
                    "queued_at": now,
                }
                for subscription_id, channel, item in items
            ],
        )
