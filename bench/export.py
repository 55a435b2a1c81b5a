"""Peak memory of a 200,000-row export, beside the file's size and a load-everything baseline.

    .venv/bin/python -m bench.export [--rows 200000]

Files a generated campaign into a fresh SQLite database through the service's own intake, starts
one submission-service process on it, and downloads the whole national subtree as CSV and as XLSX
(with contact columns). The process's peak resident memory is reset before each download
(``/proc/<pid>/clear_refs``) and read after it (``VmHWM``). The baseline is a process that only
fetches the same rows into a list, as an export that holds them all would have to.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from itertools import islice
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console
from rich.progress import track
from rich.table import Table
from sqlalchemy.ext.asyncio import AsyncSession

from pipeline.campaign import campaign
from pipeline.processes import ServiceProcess, free_port
from services.submission.auth import create_client
from services.submission.context import MIGRATIONS
from services.submission.intake import Attempt, IntakePolicy, file_batch
from services.submission.validation import Limits
from shared.contracts.envelope import utc_now
from shared.contracts.submission import SubmissionDraft
from shared.db import in_migrated_database
from shared.polling import poll
from shared.reference.catalog import load_reference
from shared.settings import REPO_ROOT

BATCH = 1000
MIB = 1024 * 1024
LOAD_ALL = """
import asyncio, sys
import sqlalchemy as sa
from bench.export import _status
from shared.db import make_engine
from services.submission.store import submissions

async def main():
    engine = make_engine(sys.argv[1])
    before = _status("self", "VmRSS")
    async with engine.connect() as connection:
        rows = (await connection.execute(sa.select(submissions))).all()
    print(len(rows), before, _status("self", "VmHWM"))

asyncio.run(main())
"""


async def fill(url: str, rows: int) -> str:
    """File ``rows`` generated submissions and return a national key that sees contacts."""
    reference = load_reference(REPO_ROOT / "reference")
    policy = IntakePolicy(reference, Limits(10**13, timedelta(minutes=10)), b"bench")
    filed = iter(campaign(reference, rows, seed=7))

    async def work(session: AsyncSession) -> str:
        for _ in track(range(0, rows, BATCH), description="filing"):
            attempts = [
                Attempt(f.client_key, SubmissionDraft.model_validate(f.draft))
                for f in islice(filed, BATCH)
            ]
            await file_batch(session, attempts, client_id="bench", policy=policy, now=utc_now())
        return await create_client(
            session, name="bench", scopes=["vn"], tree=reference.tree, can_see_contacts=True
        )

    return await in_migrated_database(url, MIGRATIONS, work)


def _status(pid: int | str, field: str) -> int:
    """A memory figure of a process in bytes, from ``/proc/<pid>/status``."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


async def fetch(service: ServiceProcess, key: str, fmt: str, target: Path) -> None:
    """Download the national subtree's export in ``fmt`` to ``target``."""
    async with httpx.AsyncClient(base_url=service.base_url, timeout=600) as client:
        params = {"union": "vn", "format": fmt}
        async with client.stream(
            "GET", "/v1/exports/submissions", params=params, headers={"X-API-Key": key}
        ) as answer:
            answer.raise_for_status()
            with target.open("wb") as out:
                async for block in answer.aiter_bytes():
                    out.write(block)


def measure(service: ServiceProcess, key: str, fmt: str, target: Path) -> dict[str, float]:
    """One export's duration, file size, and the service's memory before and at its peak."""
    assert service.pid is not None
    before = _status(service.pid, "VmRSS")
    Path(f"/proc/{service.pid}/clear_refs").write_text("5")  # reset the peak to the current RSS
    started = time.perf_counter()
    asyncio.run(fetch(service, key, fmt, target))
    return {
        "seconds": time.perf_counter() - started,
        "before": before,
        "peak": _status(service.pid, "VmHWM"),
        "size": target.stat().st_size,
    }


def main(
    rows: Annotated[int, typer.Option(help="Submissions to file and export.")] = 200_000,
) -> None:
    """Fill a database, export it both ways, print the table."""
    console = Console(width=150)
    with tempfile.TemporaryDirectory(prefix="bench-export-") as folder:
        work = Path(folder)
        url = f"sqlite+aiosqlite:///{work / 'submission.sqlite3'}"
        key = asyncio.run(fill(url, rows))
        service = ServiceProcess(
            "submission",
            {
                "SANGKIEN_DATABASE_URL": url,
                # No broker: exports need none, and the relay must not compete for the database.
                "SANGKIEN_BROKER_URL": f"amqp://guest:guest@127.0.0.1:{free_port()}/",
                "SANGKIEN_RELAY_ENABLED": "false",
            },
            work,
        )
        service.start()
        try:
            asyncio.run(_wait_alive(service))
            figures = {
                fmt: measure(service, key, fmt, work / f"export.{fmt}") for fmt in ("csv", "xlsx")
            }
        finally:
            service.terminate()
        baseline = subprocess.run(
            [sys.executable, "-c", LOAD_ALL, url],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
    loaded, start, peak = (int(v) for v in baseline)
    table = Table(title=f"Export of {rows:,} submissions (national subtree, with contacts)")
    for column in (
        "run",
        "seconds",
        "rows/s",
        "file MiB",
        "RSS before MiB",
        "peak RSS MiB",
        "peak − before MiB",
    ):
        table.add_column(column, justify="right" if column != "run" else "left")
    for fmt, f in figures.items():
        table.add_row(
            f"service, streamed {fmt.upper()}",
            f"{f['seconds']:.1f}",
            f"{rows / f['seconds']:,.0f}",
            f"{f['size'] / MIB:.1f}",
            f"{f['before'] / MIB:.0f}",
            f"{f['peak'] / MIB:.0f}",
            f"{(f['peak'] - f['before']) / MIB:.0f}",
        )
    table.add_row(
        f"baseline: fetch all {loaded:,} rows into a list",
        "",
        "",
        "",
        f"{start / MIB:.0f}",
        f"{peak / MIB:.0f}",
        f"{(peak - start) / MIB:.0f}",
    )
    console.print(table)


async def _wait_alive(service: ServiceProcess) -> None:
    async with httpx.AsyncClient(base_url=service.base_url, timeout=2.0) as client:

        async def health() -> int:
            try:
                return (await client.get("/health")).status_code
            except httpx.TransportError:
                return 0

        await poll(health, lambda status: status == 200, 120, "submission service alive")


if __name__ == "__main__":
    typer.run(main)
