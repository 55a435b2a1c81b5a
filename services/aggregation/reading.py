"""Reading a union's figures back: counters, daily series and progress against its target."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import date

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.aggregation.counting import Figures, Reach
from services.aggregation.leaderboards import RankBy
from services.aggregation.ledger import FIGURES, FILED_FIGURES
from services.aggregation.progress import (
    Pace,
    Period,
    crossings,
    days_ahead,
    pace,
    percent,
    reached_on,
    thresholds_passed,
)
from services.aggregation.store import (
    daily,
    filed_offsets,
    ranked_unions,
    tallies,
    union_targets,
)
from shared.contracts.progress import Crossing
from shared.contracts.progress import Figures as PublishedFigures
from shared.reference.calendar import Program
from shared.reference.catalog import ReferenceData
from shared.reference.targets import PROGRAM_SCOPE, Target


def period_of(program: Program, scope: str) -> Period | None:
    """The date range of ``scope`` (a phase code or the whole program), or None if unknown."""
    if scope == PROGRAM_SCOPE:
        return Period(program.starts_on, program.ends_on)
    phase = program.phase(scope)
    return None if phase is None else Period(phase.starts_on, phase.ends_on)


def published(figures: Figures) -> PublishedFigures:
    """Figures in the shape of the contracts (events and API answers)."""
    return PublishedFigures(**asdict(figures))


def figures_of(row: sa.Row | None) -> Figures:
    """A tallies row as figures (zeros when the union has nothing yet)."""
    if row is None:
        return Figures()
    return Figures(**{name: getattr(row, name) for name in FIGURES})


@dataclass(frozen=True)
class Progress:
    """A union's progress for one scope, as the API and the snapshots show it."""

    union_code: str
    scope: str
    period: Period
    own: Figures
    subtree: Figures
    filed_own: Figures  # counted as filed (distinct authors aside)
    filed_subtree: Figures
    revision: int
    latest_on: date | None
    target: Target | None
    percent: float | None
    filed_percent: float | None
    reached_on: date | None
    days_ahead: int | None
    pace: Pace
    milestones: list[Crossing]


async def tally_rows_of(
    session: AsyncSession, union_codes: set[str], scope: str | None = None
) -> dict[tuple[str, str], dict[Reach, sa.Row]]:
    """The counter rows of several unions (of one scope, or all) by (union, scope) and reach;
    absent when nothing was counted yet."""
    found: dict[tuple[str, str], dict[Reach, sa.Row]] = {}
    codes = sorted(union_codes)
    for start in range(0, len(codes), 5000):
        query = sa.select(tallies).where(tallies.c.union_code.in_(codes[start : start + 5000]))
        if scope is not None:
            query = query.where(tallies.c.scope == scope)
        rows = await session.execute(query)
        for row in rows:
            found.setdefault((row.union_code, row.scope), {})[Reach(row.reach)] = row
    return found


async def filed_offsets_of(
    session: AsyncSession, union_code: str, scope: str
) -> dict[Reach, sa.Row]:
    """How counting as filed differs from counting as of now for a union and scope, by reach
    (absent: no difference)."""
    rows = await session.execute(
        sa.select(filed_offsets).where(
            filed_offsets.c.union_code == union_code, filed_offsets.c.scope == scope
        )
    )
    return {Reach(row.reach): row for row in rows}


def as_filed(now: Figures, offset: sa.Row | None) -> Figures:
    """Figures counted as of now, with the offset to counting as filed added (distinct
    authors, only counted as of now, left at zero)."""
    if offset is None:
        return replace(now, distinct_authors=0)
    return Figures(*(getattr(now, name) + getattr(offset, name) for name in FILED_FIGURES))


async def daily_series(session: AsyncSession, union_code: str, period: Period) -> dict[date, int]:
    """Counted per local date in ``period`` for the union's subtree (dates without any omitted)."""
    rows = await session.execute(
        sa.select(daily.c.local_date, daily.c.counted)
        .where(
            daily.c.union_code == union_code,
            daily.c.local_date >= period.starts_on,
            daily.c.local_date <= period.ends_on,
        )
        .order_by(daily.c.local_date)
    )
    return {row.local_date: row.counted for row in rows if row.counted}


async def progress_of(
    session: AsyncSession,
    reference: ReferenceData,
    union_code: str,
    scope: str,
    period: Period,
    as_of: date | None = None,
) -> Progress:
    """Figures, target, percent, ``reached_on``, ``days_ahead``, pace and the milestone counts
    passed (dated as the snapshots date them) of one union.

    ``as_of`` (for rolling windows and pace) defaults to the latest date the union has data for.
    """
    rows = (await tally_rows_of(session, {union_code}, scope)).get((union_code, scope), {})
    subtree_row = rows.get(Reach.SUBTREE)
    subtree = figures_of(subtree_row)
    series = await daily_series(session, union_code, period)
    target = reference.targets.get((union_code, scope))
    goal = target.effective if target else None
    reached = reached_on(series, period, goal)
    latest_on = subtree_row.latest_on if subtree_row is not None else None
    filed = await filed_offsets_of(session, union_code, scope)
    filed_own = as_filed(figures_of(rows.get(Reach.OWN)), filed.get(Reach.OWN))
    filed_subtree = as_filed(subtree, filed.get(Reach.SUBTREE))
    union = reference.tree.get(union_code)
    passed = (
        thresholds_passed(reference.milestone_rules, union.level, scope, goal, subtree.counted)
        if union is not None
        else set()
    )
    return Progress(
        union_code=union_code,
        scope=scope,
        period=period,
        own=figures_of(rows.get(Reach.OWN)),
        subtree=subtree,
        filed_own=filed_own,
        filed_subtree=filed_subtree,
        revision=subtree_row.revision if subtree_row is not None else 0,
        latest_on=latest_on,
        target=target,
        percent=percent(subtree.counted, goal),
        filed_percent=percent(filed_subtree.counted, goal),
        reached_on=reached,
        days_ahead=days_ahead(period, reached),
        pace=pace(series, period, goal, as_of or latest_on or period.starts_on, reached),
        milestones=crossings(series, period, passed),
    )


@dataclass(frozen=True)
class RankedRow:
    """A union's place in a ranked list, with its subtree figures and effective target."""

    rank: int
    union_code: str
    received: int
    counted: int
    flagged: int
    benefit_vnd: int
    target: int | None


def _with_figures(scope: str) -> sa.Join:
    """The copied unions, each with its subtree counters and effective target for ``scope``
    (absent ones as nulls)."""
    u, t, g = ranked_unions, tallies, union_targets
    subtree = sa.and_(
        t.c.union_code == u.c.union_code, t.c.scope == scope, t.c.reach == Reach.SUBTREE.value
    )
    return u.outerjoin(t, subtree).outerjoin(
        g, sa.and_(g.c.union_code == u.c.union_code, g.c.scope == scope)
    )


async def ranked_page(
    session: AsyncSession,
    members: sa.ColumnElement[bool],
    scope: str,
    by: RankBy,
    limit: int,
    offset: int,
) -> tuple[int, list[RankedRow]]:
    """The unions of ``ranked_unions`` that ``members`` selects, ranked in the database, and one
    page of them: how many there are, and the page.

    The ranking is ``leaderboards.ranked``'s: competition ranks (1, 2, 2, 4), ties in code
    order; by percent, the unions without a target last, ranked among themselves by count.
    """
    u, t, g = ranked_unions, tallies, union_targets
    counted = sa.func.coalesce(t.c.counted, 0)
    has_target = sa.func.coalesce(g.c.effective, 0) > 0
    order: tuple[sa.ColumnElement[object], ...]
    if by is RankBy.PERCENT:
        order = (
            sa.case((has_target, 0), else_=1),
            sa.case((has_target, counted * 1.0 / g.c.effective), else_=counted * 1.0).desc(),
        )
    else:
        order = (counted.desc(),)
    ranked = (
        sa.select(
            sa.func.rank().over(order_by=order).label("rank"),
            u.c.union_code,
            sa.func.coalesce(t.c.received, 0).label("received"),
            counted.label("counted"),
            sa.func.coalesce(t.c.flagged, 0).label("flagged"),
            sa.func.coalesce(t.c.benefit_vnd, 0).label("benefit_vnd"),
            g.c.effective.label("target"),
        )
        .select_from(_with_figures(scope))
        .where(members)
        .subquery()
    )
    total = await session.scalar(sa.select(sa.func.count()).select_from(u).where(members))
    rows = await session.execute(
        sa.select(ranked).order_by(ranked.c.rank, ranked.c.union_code).limit(limit).offset(offset)
    )
    return int(total or 0), [RankedRow(**row._mapping) for row in rows]


async def totals_of(
    session: AsyncSession, members: sa.ColumnElement[bool], scope: str
) -> tuple[int, int, int | None]:
    """How many unions ``members`` selects, their subtree counts summed, and their targets
    summed: None unless every one has a target (a sum over some would make a percent of
    nothing)."""
    t, g = tallies, union_targets
    size, counted, targets, with_target = (
        await session.execute(
            sa.select(
                sa.func.count(),
                sa.func.coalesce(sa.func.sum(t.c.counted), 0),
                sa.func.sum(g.c.effective),
                sa.func.count(g.c.effective),
            )
            .select_from(_with_figures(scope))
            .where(members)
        )
    ).one()
    return int(size), int(counted), int(targets) if size and with_target == size else None
