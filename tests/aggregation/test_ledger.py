"""The store applies events exactly once, in any order, in any batching (SQLite, no broker).

The property: the same events, shuffled, with some delivered twice and cut into batches at random,
leave exactly the counters a direct computation from the final standings gives.
"""

from __future__ import annotations

import asyncio
import random
import shutil
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.aggregation.counting import SubmissionEvent
from services.aggregation.ledger import apply_batch
from services.aggregation.progress import Period, days_ahead, reached_on
from shared.contracts.submission import ReviewDecision, ReviewedV1, ScreenedV1, Verdict
from shared.db import make_engine, make_sessionmaker
from tests.support.counting import from_scratch, read_counters
from tests.support.events import facts, reference, reviewed, screened

Event = ScreenedV1 | ReviewedV1
SUBMITTERS = (
    "ldld-ha-noi.h03.cs0001",
    "ldld-ha-noi.h03.cs0002",
    "ldld-ha-noi.h03",  # a district federation takes submissions too
    "ldld-ha-noi.h04.cs0001",
    "ldld-lai-chau.h01.cs0001",
)
# Both sides of the phase boundary, and the program's first and last days.
DATES = (date(2021, 9, 1), date(2022, 5, 31), date(2022, 6, 1), date(2022, 6, 2), date(2023, 9, 1))
PROGRAM = Period(date(2021, 9, 1), date(2023, 9, 1))


@st.composite
def campaigns(draw: st.DrawFn) -> list[Event]:
    """A few submissions, each with a verdict and up to three reviews."""
    events: list[Event] = []
    for number in range(draw(st.integers(1, 10))):
        fact = facts(
            f"s{number}",
            draw(st.sampled_from(SUBMITTERS)),
            draw(st.sampled_from(DATES)),
            author_key=draw(st.sampled_from(("author-a", "author-b", "author-c"))),
            benefit_vnd=draw(st.integers(0, 10**12)),
        )
        events.append(screened(fact, draw(st.sampled_from(list(Verdict)))))
        for sequence in range(1, draw(st.integers(0, 3)) + 1):
            events.append(reviewed(fact, draw(st.sampled_from(list(ReviewDecision))), sequence))
    return events


async def _apply(path: Path, batches: Sequence[Sequence[Event]]) -> dict[str, Any]:
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    sessions = make_sessionmaker(engine)
    data = reference()

    for batch in batches:  # as the ledger process runs it: the state tells repeats apart
        async with sessions() as session, session.begin():
            await apply_batch(
                session,
                [SubmissionEvent.of(event) for event in batch],
                reference=data,
                tracked=lambda _u, _s: True,
            )
    async with sessions() as session:
        counters = await read_counters(session)
    await engine.dispose()
    return counters


def _expected(events: Sequence[Event]) -> dict[str, Any]:
    """The counters computed directly from each submission's final standing."""
    tree = reference().tree
    return from_scratch(events, lambda union, _day: tree.path(union), lambda u, _d: tree.path(u))


def _dates_and_days_ahead(result: dict[str, Any], union: str, target: int) -> tuple[Any, Any]:
    series = {day: n for (u, day), n in result["daily"].items() if u == union}
    reached = reached_on(series, PROGRAM, target)
    return reached, days_ahead(PROGRAM, reached)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(events=campaigns(), shuffler=st.randoms(use_true_random=False))
def test_any_order_any_batching_with_duplicates_gives_the_same_figures(
    ledger_template: Path, tmp_path: Path, events: list[Event], shuffler: random.Random
) -> None:
    delivered = events + shuffler.sample(events, k=len(events) // 2)
    shuffler.shuffle(delivered)
    cuts = sorted(shuffler.sample(range(1, len(delivered)), k=min(3, len(delivered) - 1)))
    batches = [delivered[a:b] for a, b in zip([0, *cuts], [*cuts, len(delivered)], strict=True)]
    in_order, shuffled = tmp_path / f"a{id(events)}.db", tmp_path / f"b{id(events)}.db"
    shutil.copy(ledger_template, in_order)
    shutil.copy(ledger_template, shuffled)

    first = asyncio.run(_apply(in_order, [events]))
    second = asyncio.run(_apply(shuffled, batches))

    expected = _expected(events)
    assert first == expected
    assert second == expected
    for target in (1, 2, 3, 5):
        assert _dates_and_days_ahead(first, "vn", target) == _dates_and_days_ahead(
            expected, "vn", target
        )
