"""Counters read back from an aggregation database, and the same counters computed from scratch
from each submission's final standing: what the ledger's property tests compare."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.aggregation.counting import SubmissionEvent, SubmissionState, standing_of
from services.aggregation.store import author_tallies, daily, filed_offsets, tallies
from shared.contracts.submission import ReviewedV1, ScreenedV1, Verdict

Event = ScreenedV1 | ReviewedV1
PathOn = Callable[[str, date], tuple[str, ...]]  # a union and a date → the path counted along
FIVE = ("received", "counted", "flagged", "excluded", "benefit_vnd")


async def read_counters(session: AsyncSession) -> dict[str, Any]:
    """The non-zero counters as of now (five figures and distinct authors), as filed (five
    figures), the daily counts and the per-author tallies."""
    figures: dict[tuple[str, str, str], tuple[int, ...]] = {}
    for r in await session.execute(sa.select(tallies)):
        row = (*(getattr(r, name) for name in FIVE), r.distinct_authors)
        if any(row):
            figures[(r.union_code, r.scope, r.reach)] = row
    filed = {key: list(row[:5]) for key, row in figures.items()}
    for r in await session.execute(sa.select(filed_offsets)):
        sums = filed.setdefault((r.union_code, r.scope, r.reach), [0] * 5)
        for i, name in enumerate(FIVE):
            sums[i] += getattr(r, name)
    days = {
        (r.union_code, r.local_date): r.counted
        for r in await session.execute(sa.select(daily))
        if r.counted
    }
    authors = {
        (r.author_key, r.scope, r.union_code): r.counted
        for r in await session.execute(sa.select(author_tallies))
        if r.counted
    }
    return {
        "figures": figures,
        "filed": {key: tuple(row) for key, row in filed.items() if any(row)},
        "daily": days,
        "authors": authors,
    }


def from_scratch(events: Sequence[Event], now: PathOn, filed: PathOn) -> dict[str, Any]:
    """The counters ``read_counters`` should find, computed directly from each submission's
    final standing; ``now`` and ``filed`` say where a submission counts as of now and as filed
    (the path ends with the union counted with)."""
    verdicts: dict[str, Verdict] = {}
    reviews: dict[str, ReviewedV1] = {}
    states: dict[str, SubmissionState] = {}
    for event in events:
        states[event.submission_id] = SubmissionState.first_seen(SubmissionEvent.of(event))
        if isinstance(event, ScreenedV1):
            verdicts[event.submission_id] = event.verdict
        elif event.sequence > getattr(reviews.get(event.submission_id), "sequence", 0):
            reviews[event.submission_id] = event
    sums: defaultdict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0] * 5)
    filed_sums: defaultdict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0] * 5)
    authors: defaultdict[tuple[str, str, str], set[str]] = defaultdict(set)
    days: defaultdict[tuple[str, date], int] = defaultdict(int)
    per_author: defaultdict[tuple[str, str, str], int] = defaultdict(int)
    for submission_id, state in states.items():
        review = reviews.get(submission_id)
        standing = standing_of(verdicts.get(submission_id), review.decision if review else None)
        counted = standing.value != "excluded"
        row = [1, int(counted), int(standing.value == "flagged"), int(not counted)]
        row.append(state.benefit_vnd if counted else 0)
        now_path = now(state.union_code, state.local_date)
        filed_path = filed(state.union_code, state.local_date)
        for scope in (state.phase, "program"):
            for path, into in ((now_path, sums), (filed_path, filed_sums)):
                rows = [(u, scope, "subtree") for u in path] + [(path[-1], scope, "own")]
                for key in rows:
                    into[key] = [a + b for a, b in zip(into[key], row, strict=True)]
                    if counted and into is sums:
                        authors[key].add(state.author_key)
            if counted:
                per_author[(state.author_key, scope, state.union_code)] += 1
        if counted:
            for union in now_path:
                days[(union, state.local_date)] += 1
    figures = {key: (*row, len(authors[key])) for key, row in sums.items() if any(row)}
    return {
        "figures": figures,
        "filed": {key: tuple(row) for key, row in filed_sums.items() if any(row)},
        "daily": dict(days),
        "authors": dict(per_author),
    }
