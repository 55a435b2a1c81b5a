"""Unions that move and merge with an effective date, as the ledger counts them (SQLite, no
broker).

The property: random tree edits (a union added, moves, merges), target changes and phases
redated, and submissions with reviews, arriving in any order and batching, with repeats, leave
exactly the figures recomputed from scratch from the final tree and its history, each
submission in the phase its day falls in by the final calendar. As of now, each submission counts
where its union sits now; as filed, where its union sat on the submission's local date.
The from-scratch side (``tests.support.history``) is written independently of
``shared.reference.history``.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import uuid
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.aggregation.counting import SubmissionEvent
from services.aggregation.ledger import apply_batch, follow_reference
from services.aggregation.progress import percent
from services.aggregation.reading import period_of, progress_of
from shared.contracts.reference import (
    Change,
    PhaseDates,
    PhasesRedated,
    ReferenceChangedV1,
    TargetsSet,
    TargetValue,
    UnionAdded,
    UnionMerged,
    UnionMoved,
)
from shared.contracts.submission import ReviewDecision, ReviewedV1, ScreenedV1, Verdict
from shared.db import make_engine, make_sessionmaker
from shared.reference.catalog import ReferenceData
from shared.reference.changes import ChangeRefused, apply_change
from shared.reference.live import record_change
from tests.support.counting import from_scratch, read_counters
from tests.support.events import facts, reference, reference_changed, reviewed, screened
from tests.support.history import DatedTree

Event = ScreenedV1 | ReviewedV1
HN, LC = "ldld-ha-noi", "ldld-lai-chau"
PROVINCES = (HN, LC)
DISTRICTS = (f"{HN}.h03", f"{HN}.h04", f"{LC}.h01")
NEW = f"{HN}.h04.moi01"
GRASSROOTS = (f"{HN}.h03.cs0001", f"{HN}.h03.cs0002", f"{HN}.h04.cs0001", f"{LC}.h01.cs0001", NEW)
DATES = (date(2021, 9, 1), date(2022, 3, 1), date(2022, 6, 1), date(2023, 1, 1), date(2023, 9, 1))
# Where phase 2 may start instead of 1 June 2022.
BOUNDARIES = (date(2022, 3, 1), date(2022, 3, 2), date(2022, 6, 1), date(2023, 1, 1))


@st.composite
def edits(draw: st.DrawFn) -> list[Change]:
    """A union added, then moves, merges, target changes and the boundary between the two
    phases moved (some of them refused later)."""
    drawn: list[Change] = [
        UnionAdded(code=NEW, name="Công đoàn mới", level="grassroots", parent_code=f"{HN}.h04")
    ]
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(("move", "merge", "targets", "phases")))
        day = draw(st.sampled_from(DATES))
        if kind == "move":
            pool, parents = draw(st.sampled_from(((GRASSROOTS, DISTRICTS), (DISTRICTS, PROVINCES))))
            code, parent = draw(st.sampled_from(pool)), draw(st.sampled_from(parents))
            drawn.append(UnionMoved(code=code, parent_code=parent, effective_on=day))
        elif kind == "merge":
            pool = draw(st.sampled_from((GRASSROOTS, DISTRICTS)))
            code, into = draw(st.sampled_from(pool)), draw(st.sampled_from(pool))
            drawn.append(UnionMerged(code=code, into_code=into, effective_on=day))
        elif kind == "phases":
            boundary = draw(st.sampled_from(BOUNDARIES))
            drawn.append(
                PhasesRedated(
                    phases=[
                        PhaseDates(
                            code="phase-1", starts_on=DATES[0], ends_on=boundary - timedelta(1)
                        ),
                        PhaseDates(code="phase-2", starts_on=boundary, ends_on=DATES[-1]),
                    ]
                )
            )
        else:
            first, second = draw(st.integers(1, 5)), draw(st.integers(1, 5))
            values = [("phase-1", first), ("phase-2", second), ("program", first + second)]
            drawn.append(
                TargetsSet(
                    union_code=draw(st.sampled_from(DISTRICTS)),
                    targets=[TargetValue(scope=s, assigned=n) for s, n in values],
                )
            )
    return drawn


@st.composite
def submissions(draw: st.DrawFn) -> list[Event]:
    """Submissions to any of the unions (a merged one's too: filed before it merged), each
    with a verdict and up to two reviews."""
    events: list[Event] = []
    for number in range(draw(st.integers(1, 12))):
        union = draw(st.sampled_from((*GRASSROOTS, *DISTRICTS)))
        fact = facts(
            f"s{number}",
            GRASSROOTS[0],
            draw(st.sampled_from(DATES)),
            author_key=draw(st.sampled_from(("author-a", "author-b"))),
            benefit_vnd=draw(st.integers(0, 1000)),
        )
        # The path a message carries is not read: the ledger places submissions itself.
        fact |= {"union_code": union, "union_path": [union]}
        events.append(screened(fact, draw(st.sampled_from(list(Verdict)))))
        for sequence in range(1, draw(st.integers(0, 2)) + 1):
            events.append(reviewed(fact, draw(st.sampled_from(list(ReviewDecision))), sequence))
    return events


def phase_of(data: ReferenceData, event: Event) -> str:
    """The phase an event's day falls in by ``data``."""
    phase = data.program.phase_on(event.local_date)
    assert phase is not None
    return phase.code


def accepted(changes: Sequence[Change]) -> tuple[list[Change], ReferenceData]:
    """The changes the owner accepts in turn (the others refused), and the final data."""
    data, kept = reference(), []
    for change in changes:
        try:
            data = apply_change(data, change)[0]
        except ChangeRefused:
            continue
        kept.append(change)
    return kept, data


async def _run(path: Path, arrivals: Sequence[Any], shuffler: random.Random) -> dict[str, Any]:
    """Record the changes and count the events as they arrive, as the service does: each ledger
    batch first follows the reference data; an event of a union not known yet waits."""
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    sessions = make_sessionmaker(engine)
    base = held = reference()
    waiting: list[Event] = []

    async def count(batch: list[Event]) -> None:
        nonlocal held
        async with sessions() as session, session.begin():
            held = await follow_reference(session, base, held, lambda _data: lambda _u, _s: True)
            known = [event for event in batch if event.union_code in held.tree]
            waiting.extend(event for event in batch if event.union_code not in held.tree)
            await apply_batch(
                session,
                [SubmissionEvent.of(event) for event in known],
                reference=held,
                tracked=lambda _u, _s: True,
            )

    pending: list[Event] = []
    for item in arrivals:
        if isinstance(item, ReferenceChangedV1):
            async with sessions() as session, session.begin():
                await record_change(session, item)
        else:
            pending.append(item)
        if shuffler.random() < 0.3:
            batch, pending = [*waiting, *pending], []
            waiting.clear()
            await count(batch)
    batch = [*waiting, *pending]
    waiting.clear()
    await count(batch)
    assert not waiting
    async with sessions() as session:
        counters = await read_counters(session)
        counters["percent"] = {}
        for union in DISTRICTS:
            period = period_of(held.program, "program")
            assert period is not None
            shown = await progress_of(session, held, union, "program", period)
            counters["percent"][union] = (shown.percent, shown.filed_percent)
        counters["version"] = held.version
    await engine.dispose()
    return counters


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(changes=edits(), events=submissions(), shuffler=st.randoms(use_true_random=False))
def test_edits_and_submissions_in_any_order_give_the_figures_from_scratch(
    ledger_template: Path,
    tmp_path: Path,
    changes: list[Change],
    events: list[Event],
    shuffler: random.Random,
) -> None:
    kept, final = accepted(changes)
    published = [reference_changed(version, change) for version, change in enumerate(kept, 1)]
    arrivals: list[Any] = [*published, *events, *shuffler.sample(events, k=len(events) // 2)]
    shuffler.shuffle(arrivals)
    database = tmp_path / f"{uuid.uuid4().hex}.sqlite3"
    shutil.copy(ledger_template, database)

    counted = asyncio.run(_run(database, arrivals, shuffler))

    history = DatedTree(reference().tree, kept)
    phased = [event.model_copy(update={"phase": phase_of(final, event)}) for event in events]
    expected = from_scratch(phased, lambda union, _day: history.path(union, None), history.path)
    assert counted["version"] == len(kept)
    assert counted["figures"] == expected["figures"]
    assert counted["filed"] == expected["filed"]
    assert counted["daily"] == expected["daily"]
    assert counted["authors"] == expected["authors"]
    for union, (now, filed) in counted["percent"].items():
        target = final.targets.get((union, "program"))
        goal = target.effective if target else None
        subtree = (union, "program", "subtree")
        assert now == percent(expected["figures"].get(subtree, (0, 0))[1], goal)
        assert filed == percent(expected["filed"].get(subtree, (0, 0))[1], goal)


def test_a_move_keeps_what_was_filed_before_it_where_it_was_filed(
    ledger_template: Path, tmp_path: Path
) -> None:
    """A grassroots union moves to another district on 1 March 2022: its February submission
    counts for the old district as filed and for the new one as of now; its March one for the
    new district either way."""
    union, old, new = GRASSROOTS[0], DISTRICTS[0], DISTRICTS[1]
    before = screened({**facts("feb", union, date(2022, 2, 1))})
    after = screened({**facts("mar", union, date(2022, 3, 1))})
    move = reference_changed(
        1, UnionMoved(code=union, parent_code=new, effective_on=date(2022, 3, 1))
    )
    database = tmp_path / "move.sqlite3"
    shutil.copy(ledger_template, database)

    counted = asyncio.run(_run(database, [before, after, move], random.Random(1)))

    def subtree(figures: dict[Any, tuple[int, ...]], code: str) -> int:
        return figures.get((code, "program", "subtree"), (0, 0))[1]

    now, filed = counted["figures"], counted["filed"]
    assert (subtree(now, old), subtree(now, new)) == (0, 2)
    assert (subtree(filed, old), subtree(filed, new)) == (1, 1)
    assert subtree(now, HN) == subtree(filed, HN) == 2  # the province holds both either way


@pytest.mark.parametrize("effective_on", [date(2022, 3, 1), date(2021, 9, 1)])
def test_a_merge_counts_the_merged_union_with_the_one_it_merged_into(
    ledger_template: Path, tmp_path: Path, effective_on: date
) -> None:
    """Two grassroots unions of the same district merge; the merged one's submissions count
    with the other as of now, and as filed only from the merge date on."""
    merged, into = GRASSROOTS[1], GRASSROOTS[0]
    early = screened(facts("early", merged, date(2022, 2, 1)))
    late = screened(facts("late", merged, date(2022, 4, 1)))
    merge = reference_changed(
        1, UnionMerged(code=merged, into_code=into, effective_on=effective_on)
    )
    database = tmp_path / f"merge-{effective_on}.sqlite3"
    shutil.copy(ledger_template, database)

    counted = asyncio.run(_run(database, [merge, early, late], random.Random(2)))

    def own(figures: dict[Any, tuple[int, ...]], code: str) -> int:
        return figures.get((code, "program", "own"), (0, 0))[1]

    now, filed = counted["figures"], counted["filed"]
    assert (own(now, merged), own(now, into)) == (0, 2)
    as_filed = (2, 0) if effective_on > date(2022, 4, 1) else (0, 2)
    if date(2022, 2, 1) < effective_on <= date(2022, 4, 1):
        as_filed = (1, 1)
    assert (own(filed, merged), own(filed, into)) == as_filed
