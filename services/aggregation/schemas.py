"""Shapes of the aggregation API's answers, and their flat CSV rows."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, Field

from services.aggregation.disclosure import filed_figures, open_figures
from services.aggregation.reading import Progress, published
from shared.contracts.progress import Crossing
from shared.reference.calendar import Program
from shared.reference.unions import Union


class TargetView(BaseModel):
    """A union's target for the scope: assigned, self-set, and the one progress is measured by."""

    assigned: int
    self_set: int | None
    effective: int


class PaceView(BaseModel):
    """Rolling counts and pace as of a date."""

    as_of: date
    counted_to_date: int
    last_1_day: int
    last_7_days: int
    last_30_days: int
    average_7d: float
    projected_on: date | None
    needed_per_day: float | None


class UnionLink(BaseModel):
    """A union named in another's answer (its superiors, its children)."""

    union_code: str
    name: str
    level: str


class OpenFigures(BaseModel):
    """A union's counters for a scope as the open API shows them: below the district level only
    ``counted``, the rest ``null`` (docs/aggregation.md, small unions)."""

    received: int | None
    counted: int
    flagged: int | None
    excluded: int | None
    benefit_vnd: int | None
    distinct_authors: int | None


class FiledView(BaseModel):
    """A union's figures counted as filed: each submission where its union sat on the
    submission's local date (docs/design.md, "Effective dating"). They differ from the figures
    as of now only once a union moved or merged. Distinct authors (``null`` here), the daily
    series, ``reached_on``, pace and milestones are counted as of now."""

    own: OpenFigures
    subtree: OpenFigures
    percent: float | None


class ProgressView(BaseModel):
    """Progress of one union for one scope."""

    union_code: str
    name: str
    level: str
    cluster: str | None
    path: list[UnionLink]
    scope: str
    starts_on: date
    ends_on: date
    revision: int
    own: OpenFigures = Field(description="As of now: each submission where its union sits now.")
    subtree: OpenFigures = Field(description="As of now: each submission where its union sits now.")
    as_filed: FiledView
    target: TargetView | None
    percent: float | None
    reached_on: date | None
    days_ahead: int | None
    pace: PaceView
    milestones: list[Crossing]


class RankedUnion(BaseModel):
    """One union in a list of children or a leaderboard (below the district level ``received``,
    ``flagged`` and ``benefit_vnd`` are ``null``: docs/aggregation.md, small unions)."""

    rank: int
    union_code: str
    name: str
    level: str
    cluster: str | None
    received: int | None
    counted: int
    flagged: int | None
    benefit_vnd: int | None
    target: int | None
    percent: float | None


class RankedList(BaseModel):
    """A page of ranked unions."""

    scope: str
    by: str
    total: int
    items: list[RankedUnion]


class ClusterStanding(BaseModel):
    """An emulation cluster (cụm thi đua): its members' figures summed, and its leader."""

    rank: int
    cluster: str
    members: int
    counted: int
    target: int | None
    percent: float | None
    leader: RankedUnion | None


class ClusterList(BaseModel):
    """The emulation clusters of a union's children, ranked by their summed percent of target."""

    within: str
    scope: str
    items: list[ClusterStanding]


class PhaseView(BaseModel):
    """A phase of the program."""

    code: str
    name: str
    starts_on: date
    ends_on: date
    national_target: int


class ProgramView(BaseModel):
    """The program and its calendar."""

    code: str
    name: str
    starts_on: date
    ends_on: date
    national_target: int
    phases: list[PhaseView]


def program_view(program: Program) -> ProgramView:
    """The API's view of the program calendar."""
    return ProgramView(
        code=program.code,
        name=program.name,
        starts_on=program.starts_on,
        ends_on=program.ends_on,
        national_target=program.national_target,
        phases=[
            PhaseView(
                code=phase.code,
                name=phase.name,
                starts_on=phase.starts_on,
                ends_on=phase.ends_on,
                national_target=phase.national_target,
            )
            for phase in program.phases
        ],
    )


class DayView(BaseModel):
    """Counted on one local date, and the running total of the scope."""

    date: date
    counted: int
    cumulative: int


class SeriesView(BaseModel):
    """A union's daily series for a scope (dates without submissions omitted)."""

    union_code: str
    scope: str
    days: list[DayView]


def progress_view(progress: Progress, union: Union, superiors: list[Union]) -> ProgressView:
    """The API's view of a union's progress; ``superiors`` from the national node down."""
    target = progress.target
    pace = progress.pace
    return ProgressView(
        union_code=union.code,
        name=union.name,
        level=union.level,
        cluster=union.cluster,
        path=[UnionLink(union_code=u.code, name=u.name, level=u.level) for u in superiors],
        scope=progress.scope,
        starts_on=progress.period.starts_on,
        ends_on=progress.period.ends_on,
        revision=progress.revision,
        own=OpenFigures(**open_figures(published(progress.own), union.level)),
        subtree=OpenFigures(**open_figures(published(progress.subtree), union.level)),
        as_filed=FiledView(
            own=OpenFigures(**filed_figures(progress.filed_own, union.level)),
            subtree=OpenFigures(**filed_figures(progress.filed_subtree, union.level)),
            percent=progress.filed_percent,
        ),
        target=TargetView(
            assigned=target.assigned, self_set=target.self_set, effective=target.effective
        )
        if target
        else None,
        percent=progress.percent,
        reached_on=progress.reached_on,
        days_ahead=progress.days_ahead,
        pace=PaceView(
            as_of=pace.as_of,
            counted_to_date=pace.counted_to_date,
            last_1_day=pace.rolling[1],
            last_7_days=pace.rolling[7],
            last_30_days=pace.rolling[30],
            average_7d=round(pace.average_7d, 2),
            projected_on=pace.projected_on,
            needed_per_day=None if pace.needed_per_day is None else round(pace.needed_per_day, 2),
        ),
        milestones=progress.milestones,
    )


def flat(model: BaseModel) -> dict[str, Any]:
    """A nested answer as one flat CSV row: ``subtree.counted`` becomes ``subtree_counted``,
    ``as_filed.own.counted`` becomes ``as_filed_own_counted``."""
    return _flattened(model.model_dump(mode="json"))


def _flattened(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    row: dict[str, Any] = {}
    for name, value in values.items():
        if isinstance(value, dict):
            row.update(_flattened(value, f"{prefix}{name}_"))
        elif not isinstance(value, list):
            row[f"{prefix}{name}"] = value
    return row
