"""Applying a batch of events to the aggregation store, in the caller's transaction.

Reads the standing of every submission the batch mentions and the author tallies it moves, lets
the pure functions (``counting``, ``authors``) work out every change, then writes each table with
one statement for the whole batch: the national node's counters are updated once per batch, not
once per submission.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.aggregation.authors import coverage_changes
from services.aggregation.counting import (
    Changes,
    Reach,
    SubmissionEvent,
    SubmissionState,
    transitions,
)
from services.aggregation.store import author_tallies, daily, dirty, submissions, tallies
from shared.contracts.submission import ReviewDecision, Verdict
from shared.db import execute_many, upsert
from shared.reference.unions import UnionTree

# Whether snapshots are published for a union and scope (e.g. only where there is a target).
Tracked = Callable[[str, str], bool]
FIGURES = ("received", "counted", "flagged", "excluded", "benefit_vnd", "distinct_authors")


async def apply_batch(
    session: AsyncSession,
    events: Sequence[SubmissionEvent],
    *,
    tree: UnionTree,
    tracked: Tracked,
) -> int:
    """Apply ``events`` to the counters; returns how many changed anything.

    Applying an event twice changes nothing (the first verdict and the highest review sequence
    win), so repeats and redeliveries need no inbox: they are counted out here.
    """
    dialect = session.get_bind().dialect.name
    ids = list(dict.fromkeys(event.submission_id for event in events))
    before = await _load_states(session, ids, tree)
    updated, changes, applied = transitions(before, events)
    if not updated:
        return applied
    pairs = {(author, scope) for author, scope, _ in changes.authors}
    author_rows = coverage_changes(await _load_author_tallies(session, pairs), changes, tree.path)
    await execute_many(
        session,
        upsert(dialect, submissions, replace=("verdict", "decision", "review_sequence")),
        [_state_row(state) for state in updated.values()],
    )
    if author_rows:
        await execute_many(
            session,
            upsert(dialect, author_tallies, replace=("counted",)),
            [
                {"author_key": a, "scope": s, "union_code": u, "counted": n}
                for (a, s, u), n in author_rows.items()
            ],
        )
    await _save_tallies(session, dialect, changes)
    if changes.daily:
        await execute_many(
            session,
            upsert(dialect, daily, add=("counted",)),
            [
                {"union_code": union, "local_date": day, "counted": n}
                for (union, day), n in changes.daily.items()
            ],
        )
    due = {
        (union, scope)
        for union, scope, reach in changes.tallies
        if reach is Reach.SUBTREE and tracked(union, scope)
    }
    await mark_due(session, due)
    return applied


async def mark_due(session: AsyncSession, due: set[tuple[str, str]]) -> None:
    """Mark these (union, scope) pairs' snapshots due (``snapshots``)."""
    if due:
        await execute_many(
            session,
            upsert(session.get_bind().dialect.name, dirty, add=("marks",)),
            [{"union_code": union, "scope": scope, "marks": 1} for union, scope in due],
        )


async def _load_states(
    session: AsyncSession, ids: list[str], tree: UnionTree
) -> dict[str, SubmissionState | None]:
    found: dict[str, SubmissionState | None] = dict.fromkeys(ids)
    rows = await session.execute(sa.select(submissions).where(submissions.c.submission_id.in_(ids)))
    for row in rows:
        found[row.submission_id] = SubmissionState(
            submission_id=row.submission_id,
            union_code=row.union_code,
            union_path=tree.path(row.union_code),
            phase=row.phase,
            local_date=row.local_date,
            benefit_vnd=row.benefit_vnd,
            author_key=row.author_key,
            verdict=Verdict(row.verdict) if row.verdict else None,
            decision=ReviewDecision(row.decision) if row.decision else None,
            review_sequence=row.review_sequence,
        )
    return found


def _state_row(state: SubmissionState) -> dict[str, object]:
    return {
        "submission_id": state.submission_id,
        "union_code": state.union_code,
        "phase": state.phase,
        "local_date": state.local_date,
        "benefit_vnd": state.benefit_vnd,
        "author_key": state.author_key,
        "verdict": state.verdict.value if state.verdict else None,
        "decision": state.decision.value if state.decision else None,
        "review_sequence": state.review_sequence,
    }


async def _load_author_tallies(
    session: AsyncSession, pairs: set[tuple[str, str]]
) -> dict[tuple[str, str], dict[str, int]]:
    found: dict[tuple[str, str], dict[str, int]] = {}
    if not pairs:
        return found
    rows = await session.execute(
        sa.select(author_tallies).where(
            author_tallies.c.author_key.in_({author for author, _ in pairs})
        )
    )
    for row in rows:
        if (row.author_key, row.scope) in pairs:
            found.setdefault((row.author_key, row.scope), {})[row.union_code] = row.counted
    return found


async def _save_tallies(session: AsyncSession, dialect: str, changes: Changes) -> None:
    rows = []
    for (union_code, scope, reach), delta in changes.tallies.items():
        rows.append(
            {
                "union_code": union_code,
                "scope": scope,
                "reach": reach.value,
                **dict(zip(FIGURES, delta, strict=True)),
                "revision": 1,
                "latest_on": changes.latest_on.get((union_code, scope, reach), date.min),
            }
        )
    await execute_many(
        session,
        upsert(dialect, tallies, add=(*FIGURES, "revision"), greatest=("latest_on",)),
        rows,
    )
