"""Where the aggregation ledger's time goes, applied in-process with no broker.

    .venv/bin/python -m bench.aggregation_profile [--events 300000] [--batch 2000]

A profiling aid beside ``bench.aggregation`` (which measures the service against the broker):
the same generated events are applied with ``ledger.apply_batch`` to a migrated SQLite file,
one transaction per batch as the service does, and each step is timed by wrapping the ledger's
functions. The in-process rate is the ceiling the service could reach if receiving and parsing
messages cost nothing.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from bench.aggregation import campaign
from services.aggregation import ledger
from services.aggregation.context import MIGRATIONS
from services.aggregation.counting import SubmissionEvent
from shared.db import make_engine, make_sessionmaker, migrate
from shared.runtime import tune_garbage_collection
from tests.support.events import reference

SPENT: defaultdict[str, float] = defaultdict(float)


def _timed_async(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    async def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return await function(*args, **kwargs)
        finally:
            step = f"{name} {args[1].table.name}" if name == "upsert" else name
            SPENT[step] += time.perf_counter() - started

    return timed


def _timed(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            SPENT[name] += time.perf_counter() - started

    return timed


async def _apply(events: list[Any], batch: int, folder: Path) -> float:
    engine = make_engine(f"sqlite+aiosqlite:///{folder / 'aggregation.sqlite3'}")
    await migrate(engine, MIGRATIONS)
    sessions = make_sessionmaker(engine)
    data = reference()
    started = time.perf_counter()
    for start in range(0, len(events), batch):
        async with sessions() as session, session.begin():
            await ledger.apply_batch(
                session,
                events[start : start + batch],
                reference=data,
                tracked=lambda _u, _s: False,
            )
            committing = time.perf_counter()
        SPENT["commit"] += time.perf_counter() - committing
    elapsed = time.perf_counter() - started
    await engine.dispose()
    return elapsed


def main(
    events: Annotated[int, typer.Option(help="Events to apply.")] = 300_000,
    batch: Annotated[int, typer.Option(help="Events per transaction.")] = 2000,
) -> None:
    """Apply the events and print the seconds each step took."""
    ledger.execute_many = _timed_async("upsert", ledger.execute_many)  # type: ignore[assignment]
    for name in ("_load_states", "_load_author_tallies"):
        setattr(ledger, name, _timed_async(name, getattr(ledger, name)))
    for name in ("transitions", "coverage_changes"):
        setattr(ledger, name, _timed(name, getattr(ledger, name)))
    generated = [SubmissionEvent.of(message) for message in campaign(events, seed=1)]
    reference()  # loaded now, to be frozen with the events as the ledger process does its own
    tune_garbage_collection()
    with tempfile.TemporaryDirectory() as folder:
        elapsed = asyncio.run(_apply(generated, batch, Path(folder)))
    table = Table(
        title=f"Aggregation ledger in-process: {events:,} events, {events / elapsed:,.0f}/s"
    )
    for column in ("step", "seconds", "share", "µs per event"):
        table.add_column(column, justify="left" if column == "step" else "right")
    SPENT["other (rows, session)"] = elapsed - sum(SPENT.values())
    for step, seconds in sorted(SPENT.items(), key=lambda item: -item[1]):
        table.add_row(
            step, f"{seconds:.1f}", f"{seconds / elapsed:.0%}", f"{seconds / events * 1e6:.0f}"
        )
    table.add_row("total", f"{elapsed:.1f}", "100%", f"{elapsed / events * 1e6:.0f}", style="bold")
    Console().print(table)


if __name__ == "__main__":
    typer.run(main)
