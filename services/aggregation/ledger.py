"""Applying a batch of events to the aggregation store, in the caller's transaction.

Reads the standing of every submission the batch mentions and the author tallies it moves, lets
the pure functions (``counting``, ``authors``) work out every change, then writes each table with
one statement for the whole batch: the national node's counters are updated once per batch, not
once per submission.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import date

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.aggregation.authors import coverage_changes, coverage_moves
from services.aggregation.counting import (
    Changes,
    Reach,
    SubmissionEvent,
    SubmissionState,
    transitions,
)
from services.aggregation.store import (
    author_tallies,
    daily,
    dirty,
    filed_offsets,
    placed_version,
    submissions,
    tallies,
)
from shared.contracts.reference import Change, PhasesRedated, UnionMerged, UnionMoved
from shared.contracts.submission import ReviewDecision, Verdict
from shared.db import execute_many, upsert
from shared.reference.calendar import Program
from shared.reference.catalog import ReferenceData
from shared.reference.changes import apply_changes, replay
from shared.reference.history import Placing
from shared.reference.live import stored_changes

log = structlog.get_logger(__name__)

# Whether snapshots are published for a union and scope (e.g. only where there is a target).
Tracked = Callable[[str, str], bool]
TrackedOf = Callable[[ReferenceData], Tracked]  # the tracked pairs of some reference data
FIGURES = ("received", "counted", "flagged", "excluded", "benefit_vnd", "distinct_authors")
FILED_FIGURES = FIGURES[:5]
CHUNK = 5000  # codes per IN list


async def apply_batch(
    session: AsyncSession,
    events: Sequence[SubmissionEvent],
    *,
    reference: ReferenceData,
    tracked: Tracked,
) -> int:
    """Apply ``events`` to the counters, each submission placed and phased by ``reference``;
    returns how many changed anything.

    Applying an event twice changes nothing (the first verdict and the highest review sequence
    win), so repeats and redeliveries need no inbox: they are counted out here.
    """
    ids = list(dict.fromkeys(event.submission_id for event in events))
    before = await _load_states(session, ids)
    placing = reference.placing
    updated, changes, applied = transitions(
        before, _phased(events, reference.program), placing.place
    )
    if updated:
        await _write(session, updated.values(), changes, placing, tracked)
    return applied


def _phased(events: Sequence[SubmissionEvent], program: Program) -> list[SubmissionEvent]:
    """The events with the phase their day falls in by ``program`` (the one a message carries
    may predate phases redated since; a day outside every phase keeps it)."""
    phased = []
    for event in events:
        phase = program.phase_on(event.local_date)
        if phase is not None and phase.code != event.phase:
            event = event._replace(phase=phase.code)
        phased.append(event)
    return phased


async def _write(
    session: AsyncSession,
    updated: Iterable[SubmissionState],
    changes: Changes,
    placing: Placing,
    tracked: Tracked,
) -> None:
    """Write the submissions' new states and the author tallies, counters, offsets and daily
    counts their changes move."""
    pairs = {(author, scope) for author, scope, _ in changes.authors}
    author_rows = coverage_changes(await _load_author_tallies(session, pairs), changes, placing.now)
    dialect = session.get_bind().dialect.name
    await execute_many(
        session,
        upsert(dialect, submissions, replace=("phase", "verdict", "decision", "review_sequence")),
        [_state_row(state) for state in updated],
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
    await _save_changes(session, changes, tracked)


async def follow_reference(
    session: AsyncSession, base: ReferenceData, held: ReferenceData, tracked: TrackedOf
) -> ReferenceData:
    """The reference data the counters place submissions by, brought to the newest version the
    database holds: for each union moved or merged since, the submissions whose place changed
    are counted again where they now belong (``docs/design.md``, "Effective dating"); for
    phases redated, those whose day changed phase are counted in their new phase.

    ``held`` is what the last call returned (``base``, the files' data, at first); it is only
    trusted at the version the database says the counters were placed by.
    """
    placed = await session.scalar(sa.select(placed_version.c.version)) or 0
    if held.version > placed:
        held = base  # a transaction that moved it further was rolled back
    events = await stored_changes(session, held.version)
    at = replay(held, [event for event in events if event.version <= placed])
    waiting: list[Change] = []
    for event in events:
        if event.version <= at.version + len(waiting):
            continue
        if event.version != at.version + len(waiting) + 1:
            break  # a gap: the versions after it wait
        if not isinstance(event.change, UnionMoved | UnionMerged | PhasesRedated):
            waiting.append(event.change)
            continue
        if waiting:
            at, waiting = apply_changes(at, waiting)[0], []
        after = apply_changes(at, [event.change])[0]
        if isinstance(event.change, PhasesRedated):
            moved = await rephase_submissions(session, at.program, after, tracked(after))
        else:
            moved = await replace_submissions(session, at.placing, after.placing, tracked(after))
        log.info("submissions_counted_again", version=after.version, submissions=moved)
        at = after
    if waiting:
        at = apply_changes(at, waiting)[0]
    if at.version != placed:
        await session.execute(
            upsert(session.get_bind().dialect.name, placed_version, replace=("version",)),
            {"id": 1, "version": at.version},
        )
    return at


async def replace_submissions(
    session: AsyncSession, before: Placing, after: Placing, tracked: Tracked
) -> int:
    """Count the submissions whose place ``after`` changes from ``before`` where ``after`` puts
    them; how many moved. Only unions with a dated place (below a union that moved, or merged)
    can change, in either version."""
    unions = sorted(after.dated_unions() | before.dated_unions())
    changes = Changes()
    moved = 0
    author_pairs: set[tuple[str, str]] = set()
    for start in range(0, len(unions), CHUNK):
        chunk = unions[start : start + CHUNK]
        rows = await session.execute(
            sa.select(submissions).where(submissions.c.union_code.in_(chunk))
        )
        for row in rows:
            state = _state_of(row)
            was = before.place(state.union_code, state.local_date)
            now = after.place(state.union_code, state.local_date)
            if was != now:
                changes.move(state, state, was, now)
                moved += 1
        pairs = await session.execute(
            sa.select(author_tallies.c.author_key, author_tallies.c.scope)
            .where(author_tallies.c.union_code.in_(chunk), author_tallies.c.counted > 0)
            .distinct()
        )
        author_pairs.update((author, scope) for author, scope in pairs)
    changes.roll_up()
    authors = await _load_author_tallies(session, author_pairs)
    coverage_moves(authors, changes, before.now, after.now)
    await _save_changes(session, changes, tracked)
    return moved


async def rephase_submissions(
    session: AsyncSession, before: Program, after: ReferenceData, tracked: Tracked
) -> int:
    """Count the submissions dated on days whose phase ``after`` changes from ``before`` in
    their new phase; how many moved."""
    program = after.program
    redated = [phase for phase in program.phases if phase not in before.phases]
    changed = [
        day
        for phase in (*redated, *(before.phase(p.code) for p in redated))
        if phase is not None
        for day in (phase.starts_on, phase.ends_on)
    ]
    if not changed:
        return 0
    rows = await session.execute(
        sa.select(submissions).where(submissions.c.local_date.between(min(changed), max(changed)))
    )
    placing, changes, updated = after.placing, Changes(), []
    for row in rows:
        state = _state_of(row)
        phase = program.phase_on(state.local_date)
        if phase is not None and phase.code != state.phase:
            moved = replace(state, phase=phase.code)
            placement = placing.place(state.union_code, state.local_date)
            changes.move(state, moved, placement, placement)
            updated.append(moved)
    changes.roll_up()
    await _write(session, updated, changes, placing, tracked)
    return len(updated)


async def _save_changes(session: AsyncSession, changes: Changes, tracked: Tracked) -> None:
    """Write the counters, offsets and daily counts a batch changes, and mark the snapshots of
    the tracked (union, scope) pairs among them due."""
    dialect = session.get_bind().dialect.name
    await _save_tallies(session, dialect, changes)
    if changes.offsets:
        await execute_many(
            session,
            upsert(dialect, filed_offsets, add=FILED_FIGURES),
            [
                {
                    "union_code": union,
                    "scope": scope,
                    "reach": reach.value,
                    **dict(zip(FILED_FIGURES, sums, strict=True)),
                }
                for (union, scope, reach), sums in changes.offsets.items()
            ],
        )
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


async def mark_due(session: AsyncSession, due: set[tuple[str, str]]) -> None:
    """Mark these (union, scope) pairs' snapshots due (``snapshots``)."""
    if due:
        await execute_many(
            session,
            upsert(session.get_bind().dialect.name, dirty, add=("marks",)),
            [{"union_code": union, "scope": scope, "marks": 1} for union, scope in due],
        )


async def _load_states(session: AsyncSession, ids: list[str]) -> dict[str, SubmissionState | None]:
    found: dict[str, SubmissionState | None] = dict.fromkeys(ids)
    rows = await session.execute(sa.select(submissions).where(submissions.c.submission_id.in_(ids)))
    for row in rows:
        found[row.submission_id] = _state_of(row)
    return found


def _state_of(row: sa.Row) -> SubmissionState:
    return SubmissionState(
        submission_id=row.submission_id,
        union_code=row.union_code,
        phase=row.phase,
        local_date=row.local_date,
        benefit_vnd=row.benefit_vnd,
        author_key=row.author_key,
        verdict=Verdict(row.verdict) if row.verdict else None,
        decision=ReviewDecision(row.decision) if row.decision else None,
        review_sequence=row.review_sequence,
    )


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
