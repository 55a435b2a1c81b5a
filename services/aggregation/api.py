"""HTTP routes of the aggregation service: progress, children, leaderboards, daily series.

Every route answers JSON, or CSV with ``?format=csv``. The figures are aggregates without any
personal data, so reading them needs no key.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterable, Iterable
from datetime import date
from enum import StrEnum
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.sse import EventSourceResponse, ServerSentEvent
from pydantic import BaseModel

from services.aggregation.context import AggregationContext
from services.aggregation.disclosure import shown
from services.aggregation.leaderboards import Entry, RankBy, ranked
from services.aggregation.progress import Period, percent
from services.aggregation.reading import (
    daily_series,
    period_of,
    progress_of,
    ranked_page,
    totals_of,
)
from services.aggregation.schemas import (
    ClusterList,
    ClusterStanding,
    DayView,
    ProgramView,
    ProgressView,
    RankedList,
    RankedUnion,
    SeriesView,
    flat,
    program_view,
    progress_view,
)
from services.aggregation.store import ranked_unions
from shared.http import ApiError, shutting_down
from shared.openapi import error_answer
from shared.reference.targets import PROGRAM_SCOPE
from shared.reference.unions import LEVELS, Union

router = APIRouter(prefix="/v1", tags=["progress"])
CSV_ANSWER: dict[int | str, dict[str, Any]] = {200: {"content": {"text/csv": {}}}}


class Format(StrEnum):
    """Answer format."""

    JSON = "json"
    CSV = "csv"


def context(request: Request) -> AggregationContext:
    """The service's composition root, set on the app at start-up."""
    ctx: AggregationContext = request.app.state.ctx
    return ctx


Ctx = Annotated[AggregationContext, Depends(context)]
Scope = Annotated[str, Query(description="'program' or a phase code, e.g. 'phase-1'.")]
AsFormat = Annotated[Format, Query(alias="format")]
UnionCode = Annotated[str, Path(max_length=100)]


def _period(ctx: AggregationContext, scope: str) -> Period:
    period = period_of(ctx.reference.program, scope)
    if period is None:
        phases = ", ".join(p.code for p in ctx.reference.program.phases)
        raise ApiError(
            422, "scope", "unknown_scope", f"scope must be 'program' or one of: {phases}"
        )
    return period


def _union(ctx: AggregationContext, code: str) -> Union:
    union = ctx.reference.tree.get(code)
    if union is None:
        raise ApiError(404, "union_code", "unknown_union", f"no union with code {code!r}")
    return union


def _children(ctx: AggregationContext, union: Union) -> list[Union]:
    tree = ctx.reference.tree
    return [u for code in tree.children(union.code) if (u := tree.get(code)) is not None]


def known_union(ctx: Ctx, union_code: UnionCode) -> Union:
    """The union a route names, checked before any answer starts (a stream's included)."""
    return _union(ctx, union_code)


def _csv(rows: Iterable[dict[str, Any]], filename: str) -> Response:
    buffer = io.StringIO()
    writer: csv.DictWriter[str] | None = None
    for row in rows:
        if writer is None:
            writer = csv.DictWriter(buffer, fieldnames=list(row))
            writer.writeheader()
        writer.writerow(row)
    return Response(
        # A byte-order mark so that spreadsheet programs read the Vietnamese names as UTF-8.
        content="\ufeff" + buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'},
    )


def _answer(model: BaseModel, items: list[Any] | None, fmt: Format, filename: str) -> Any:
    if fmt is Format.JSON:
        return model
    return _csv([flat(m) for m in (items if items is not None else [model])], filename)


@router.get("/unions/{union_code}/progress", response_model=ProgressView, responses=CSV_ANSWER)
async def union_progress(
    ctx: Ctx,
    union_code: UnionCode,
    scope: Scope = PROGRAM_SCOPE,
    as_of: Annotated[
        date | None, Query(description="Date that rolling windows and pace end on.")
    ] = None,
    fmt: AsFormat = Format.JSON,
) -> Any:
    """Own and subtree figures, target, percent, ``reached_on``, ``days_ahead`` and pace."""
    union = _union(ctx, union_code)
    period = _period(ctx, scope)
    async with ctx.runtime.sessions() as session:
        progress = await progress_of(session, ctx.reference, union.code, scope, period, as_of)
    tree = ctx.reference.tree
    superiors = [u for code in tree.path(union.code)[:-1] if (u := tree.get(code)) is not None]
    view = progress_view(progress, union, superiors)
    return _answer(view, None, fmt, f"{union.code}-{scope}")


Page = Annotated[int, Query(ge=1, le=10_000)]
# Past the last union there is nothing to page to (the tree has 127,259).
Offset = Annotated[int, Query(ge=0, le=1_000_000)]


async def _ranked_list(
    ctx: AggregationContext,
    members: sa.ColumnElement[bool],
    scope: str,
    by: RankBy,
    limit: int,
    offset: int,
) -> RankedList:
    """One page of the unions ``members`` selects, ranked by the database."""
    async with ctx.runtime.sessions() as session:
        total, rows = await ranked_page(session, members, scope, by, limit, offset)
    tree = ctx.reference.tree
    items = [
        RankedUnion(
            rank=row.rank,
            union_code=union.code,
            name=union.name,
            level=union.level,
            cluster=union.cluster,
            received=shown(union.level, "received", row.received),
            counted=row.counted,
            flagged=shown(union.level, "flagged", row.flagged),
            benefit_vnd=shown(union.level, "benefit_vnd", row.benefit_vnd),
            target=row.target,
            percent=percent(row.counted, row.target),
        )
        for row in rows
        if (union := tree.get(row.union_code)) is not None
    ]
    return RankedList(scope=scope, by=by.value, total=total, items=items)


@router.get("/unions/{union_code}/children", response_model=RankedList, responses=CSV_ANSWER)
async def union_children(
    ctx: Ctx,
    union_code: UnionCode,
    scope: Scope = PROGRAM_SCOPE,
    by: RankBy = RankBy.COUNTED,
    limit: Page = 1000,
    offset: Offset = 0,
    fmt: AsFormat = Format.JSON,
) -> Any:
    """The unions directly below, each with its subtree figures and target, ranked."""
    union = _union(ctx, union_code)
    _period(ctx, scope)
    members = ranked_unions.c.parent_code == union.code
    page = await _ranked_list(ctx, members, scope, by, limit, offset)
    return _answer(page, page.items, fmt, f"{union.code}-children-{scope}")


@router.get("/leaderboards/levels/{level}", response_model=RankedList, responses=CSV_ANSWER)
async def level_leaderboard(
    ctx: Ctx,
    level: str,
    scope: Scope = PROGRAM_SCOPE,
    by: RankBy = RankBy.COUNTED,
    limit: Page = 100,
    offset: Offset = 0,
    fmt: AsFormat = Format.JSON,
) -> Any:
    """Every union of one level, ranked (e.g. the 63 provincial federations)."""
    if level not in LEVELS:
        raise ApiError(404, "level", "unknown_level", f"level must be one of: {', '.join(LEVELS)}")
    _period(ctx, scope)
    page = await _ranked_list(ctx, ranked_unions.c.level == level, scope, by, limit, offset)
    return _answer(page, page.items, fmt, f"{level}-{scope}")


@router.get(
    "/leaderboards/clusters",
    response_model=ClusterList,
    responses={404: error_answer("No union has the code 'within' names")},
)
async def cluster_standings(
    ctx: Ctx,
    scope: Scope = PROGRAM_SCOPE,
    within: Annotated[
        str,
        Query(
            max_length=100,
            description="The union whose direct children the clusters group ('vn': the "
            "provinces' and central sectors' clusters).",
        ),
    ] = "vn",
) -> ClusterList:
    """The emulation clusters of a union's direct children: their members' figures and
    targets summed, ranked by percent, each with the member that leads it by percent."""
    parent = _union(ctx, within)
    _period(ctx, scope)
    clusters = sorted({u.cluster for u in _children(ctx, parent) if u.cluster})
    standings = []
    for cluster in clusters:
        members = ranked_unions.c.cluster == cluster
        async with ctx.runtime.sessions() as session:
            size, counted, target = await totals_of(session, members, scope)
        leader = await _ranked_list(ctx, members, scope, RankBy.PERCENT, 1, 0)
        standings.append((Entry(cluster, counted, target), size, leader.items))
    by_cluster = {entry.code: (size, leaders) for entry, size, leaders in standings}
    items = []
    for rank, entry in ranked([entry for entry, _, _ in standings], RankBy.PERCENT):
        size, leaders = by_cluster[entry.code]
        items.append(
            ClusterStanding(
                rank=rank,
                cluster=entry.code,
                members=size,
                counted=entry.counted,
                target=entry.target,
                percent=percent(entry.counted, entry.target),
                leader=leaders[0] if leaders else None,
            )
        )
    return ClusterList(within=parent.code, scope=scope, items=items)


@router.get("/program", response_model=ProgramView)
async def program(ctx: Ctx) -> ProgramView:
    """The program, its phases and their national targets: the scopes every route takes."""
    return program_view(ctx.reference.program)


@router.get("/leaderboards/clusters/{cluster}", response_model=RankedList, responses=CSV_ANSWER)
async def cluster_leaderboard(
    ctx: Ctx,
    cluster: str,
    scope: Scope = PROGRAM_SCOPE,
    by: RankBy = RankBy.PERCENT,
    limit: Page = 100,
    offset: Offset = 0,
    fmt: AsFormat = Format.JSON,
) -> Any:
    """The unions of one emulation cluster (cụm thi đua), ranked; by percent unless asked."""
    if not ctx.members_of_cluster(cluster):
        raise ApiError(404, "cluster", "unknown_cluster", f"no emulation cluster {cluster!r}")
    _period(ctx, scope)
    page = await _ranked_list(ctx, ranked_unions.c.cluster == cluster, scope, by, limit, offset)
    return _answer(page, page.items, fmt, f"{cluster}-{scope}")


@router.get("/unions/{union_code}/stream", response_class=EventSourceResponse)
async def union_stream(
    ctx: Ctx, request: Request, union: Annotated[Union, Depends(known_union)]
) -> AsyncIterable[ServerSentEvent]:
    """Server-sent events: a ``progress`` event with the union's version as soon as it is read,
    then each time any of its figures (any scope) change; read the figures again on each. The
    stream stays open (with keep-alive comments) until the client leaves."""
    async for version in ctx.revisions.follow(union.code, lambda: shutting_down(request.app)):
        yield ServerSentEvent(
            event="progress",
            id=str(version),
            data={"union_code": union.code, "version": version},
        )


@router.get("/unions/{union_code}/daily", response_model=SeriesView, responses=CSV_ANSWER)
async def union_daily(
    ctx: Ctx,
    union_code: UnionCode,
    scope: Scope = PROGRAM_SCOPE,
    fmt: AsFormat = Format.JSON,
) -> Any:
    """Counted per local date for the union's subtree, with the running total."""
    union = _union(ctx, union_code)
    period = _period(ctx, scope)
    async with ctx.runtime.sessions() as session:
        series = await daily_series(session, union.code, period)
    days, total = [], 0
    for day, counted in sorted(series.items()):
        total += counted
        days.append(DayView(date=day, counted=counted, cumulative=total))
    view = SeriesView(union_code=union.code, scope=scope, days=days)
    return _answer(view, days, fmt, f"{union.code}-daily-{scope}")
