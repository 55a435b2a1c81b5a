"""Aggregation follows reference changes without a restart, whatever order they and the
submissions of a new union arrive in (real broker, SQLite and PostgreSQL): a union added takes
its submissions, a target changed judges progress again and publishes it, a union moved and
phases redated count the submissions already there again."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx

from pipeline.tap import Tap
from shared.contracts.reference import (
    PhaseAdded,
    PhaseDates,
    PhasesRedated,
    TargetsSet,
    TargetValue,
    UnionAdded,
    UnionMoved,
)
from shared.polling import poll
from tests.aggregation.test_service import progress_of, send
from tests.support.events import facts, reference_changed, screened

DISTRICT = "ldld-lai-chau.h01"
NEW_UNION = f"{DISTRICT}.moi01"
PROGRESS = "progress.updated.v1"
MARCH_AND_MAY = (date(2022, 3, 1), date(2022, 5, 15))


def new_union_facts(submission_id: str) -> dict[str, Any]:
    fact = facts(submission_id, f"{DISTRICT}.cs0001", date(2022, 3, 1))
    path = ["vn", "ldld-lai-chau", DISTRICT, NEW_UNION]
    return {**fact, "union_code": NEW_UNION, "union_path": path}


def facts_on(submission_id: str, day: date) -> dict[str, Any]:
    """A submission's facts in the phase added after the program's last (``facts`` knows only
    the repository's phases)."""
    fact = facts(submission_id, f"{DISTRICT}.cs0001", date(2023, 9, 1))
    moment = fact["submitted_at"].replace(year=day.year, month=day.month, day=day.day)
    return {**fact, "phase": "phase-3", "local_date": day, "submitted_at": moment}


async def test_changes_apply_without_a_restart_whatever_order_they_arrive_in(
    aggregation: httpx.AsyncClient, broker_url: str
) -> None:
    existing = [
        screened(facts(f"s{i}", f"{DISTRICT}.cs0001", date(2022, 3, 1 + i))) for i in range(3)
    ]
    added = reference_changed(
        1,
        UnionAdded(
            code=NEW_UNION, name="Công đoàn cơ sở mới", level="grassroots", parent_code=DISTRICT
        ),
    )
    target = reference_changed(
        2, TargetsSet(union_code=DISTRICT, targets=[TargetValue(scope="program", assigned=4)])
    )
    before = await progress_of(aggregation, DISTRICT)
    assert before["target"]["effective"] != 4
    async with Tap(broker_url, (PROGRESS,)) as tap:
        # The new union's submission first, then the target change, then the union itself.
        await send(tap, screened(new_union_facts("n1")), *existing)
        await progress_of(aggregation, DISTRICT, counted=3)
        await send(tap, target)
        await send(tap, added)
        body = await progress_of(aggregation, DISTRICT, counted=4)
        assert body["target"] == {"assigned": 4, "self_set": None, "effective": 4}
        assert body["percent"] == 100.0
        assert body["reached_on"] == "2022-03-03"
        snapshots = await tap.wait_for(
            lambda d: (
                d.body.get("union_code") == DISTRICT
                and d.body.get("scope") == "program"
                and d.body.get("target") == 4
                and d.body["subtree"]["counted"] == 4
            )
        )
        assert snapshots[-1].body["reached_on"] == "2022-03-03"
    new_union = await progress_of(aggregation, NEW_UNION, counted=1)
    assert new_union["name"] == "Công đoàn cơ sở mới"
    ready = await aggregation.get("/ready")
    assert ready.json()["reference_version"] == 2

    phase = reference_changed(
        3,
        PhaseAdded(
            code="phase-3",
            name="Giai đoạn 3",
            starts_on=date(2023, 9, 2),
            ends_on=date(2027, 12, 31),
            national_target=500_000,
        ),
    )
    unknown = await aggregation.get("/v1/unions/vn/progress", params={"scope": "phase-3"})
    assert unknown.status_code == 422
    async with Tap(broker_url, ()) as tap:
        await send(tap, phase, screened(facts_on("p3", date(2024, 3, 1))))
    await poll(
        lambda: aggregation.get("/ready"),
        lambda r: r.json().get("reference_version") == 3,
        30,
        "version 3",
    )
    national = await progress_of(aggregation, "vn", "phase-3", counted=1)
    assert national["target"]["effective"] == 500_000


async def test_a_move_and_redated_phases_count_submissions_again_without_a_restart(
    aggregation: httpx.AsyncClient, broker_url: str
) -> None:
    """A grassroots union with filings on 1 March and 15 May 2022 moves to the other district
    from 1 April, then phase 2 is made to start on 1 May: as of now both count for the new
    district, one in each phase; as filed the March one stays with the old district."""
    union, new_district = f"{DISTRICT}.cs0001", "ldld-lai-chau.h02"
    filings = [screened(facts(f"m{i}", union, day)) for i, day in enumerate(MARCH_AND_MAY)]
    move = reference_changed(
        1, UnionMoved(code=union, parent_code=new_district, effective_on=date(2022, 4, 1))
    )
    redated = reference_changed(
        2,
        PhasesRedated(
            phases=[
                PhaseDates(code="phase-1", starts_on=date(2021, 9, 1), ends_on=date(2022, 4, 30)),
                PhaseDates(code="phase-2", starts_on=date(2022, 5, 1), ends_on=date(2023, 9, 1)),
            ]
        ),
    )
    async with Tap(broker_url, ()) as tap:
        await send(tap, *filings)
        await progress_of(aggregation, DISTRICT, counted=2)
        await send(tap, redated, move)  # out of order: version 2 waits for version 1
    moved_to = await progress_of(aggregation, new_district, counted=2)
    assert moved_to["as_filed"]["subtree"]["counted"] == 1
    left = await progress_of(aggregation, DISTRICT, counted=0)
    assert left["as_filed"]["subtree"]["counted"] == 1
    await progress_of(aggregation, new_district, "phase-1", counted=1)
    await progress_of(aggregation, new_district, "phase-2", counted=1)
    await progress_of(aggregation, "ldld-lai-chau", "phase-2", counted=1)
    await progress_of(aggregation, "ldld-lai-chau", counted=2)
