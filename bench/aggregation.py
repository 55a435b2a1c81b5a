"""Benchmark: events applied per second by the aggregation service, beside the raw consume rate.

``python -m bench.aggregation --events 1000000`` generates screened events (and some reviews) over
the realistic tree of ``reference/`` (≈ 126,000 grassroots unions, dates across both phases, a
pool of authors, 2% near- and 1% exact duplicates), publishes them once to the events exchange,
where they land both in the aggregation queue and in a plain queue, then measures in the same run:

- baseline: aio-pika consuming the plain queue, acking every 500 with ``multiple`` (the fastest
  way the same client library takes these messages off this broker);
- the aggregation service (a real process and its ledger process, SQLite or PostgreSQL) applying
  the same events, from ready until the progress API shows all of them counted. Its peak RSS is
  summed over the service's processes.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import aio_pika
import httpx
import typer
from rich.console import Console
from rich.table import Table

from pipeline.processes import ServiceProcess, free_port
from shared.contracts.submission import ReviewDecision, ReviewedV1, ScreenedV1, Verdict
from shared.messaging.publishers import broker_user
from shared.messaging.topology import (
    AGGREGATION_REVIEWED,
    AGGREGATION_SCREENED,
    declare_topology,
)
from shared.polling import poll
from shared.settings import REPO_ROOT
from tests.support.events import facts, reference, reviewed, screened
from tests.support.postgres import PrivatePostgres

RABBIT = REPO_ROOT / "scripts" / "rabbitmq.sh"
BENCH_RABBIT_PORT = "5696"
RAW_QUEUE = "bench.raw"
VERDICTS = (Verdict.UNIQUE,) * 97 + (Verdict.NEAR_DUPLICATE,) * 2 + (Verdict.EXACT_DUPLICATE,)


def campaign(count: int, seed: int) -> Iterator[ScreenedV1 | ReviewedV1]:
    """``count`` events: screened ones, and every 50th submission reviewed as well."""
    rng = random.Random(seed)
    data = reference()
    grassroots = [u.code for u in data.tree if u.level == "grassroots"]
    start, days = data.program.starts_on, (data.program.ends_on - data.program.starts_on).days
    produced = 0
    number = 0
    while produced < count:
        fact = facts(
            f"bench-{seed}-{number}",
            rng.choice(grassroots),
            start + timedelta(days=rng.randrange(days + 1)),
            author_key=f"author-{rng.randrange(max(1, count // 2))}",
            benefit_vnd=int(rng.paretovariate(1.2) * 5_000_000),
        )
        yield screened(fact, rng.choice(VERDICTS))
        produced += 1
        if number % 50 == 0 and produced < count:
            yield reviewed(fact, rng.choice(list(ReviewDecision)), 1)
            produced += 1
        number += 1


async def publish(url: str, count: int, seed: int, console: Console) -> int:
    """Publish the campaign with confirms awaited in windows of 1,000; returns how many
    submissions (screened events) it holds."""
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange("sangkien.events")
        raw = await channel.declare_queue(
            RAW_QUEUE, durable=True, arguments={"x-queue-type": "quorum"}
        )
        for spec in (AGGREGATION_SCREENED, AGGREGATION_REVIEWED):
            await raw.bind(exchange, routing_key=spec.routing_keys[0])
        window: list[asyncio.Future[object]] = []
        started = time.perf_counter()
        submissions = 0
        for n, event in enumerate(campaign(count, seed), start=1):
            submissions += isinstance(event, ScreenedV1)
            message = aio_pika.Message(
                event.model_dump_json().encode(),
                message_id=event.message_id,
                correlation_id=event.correlation_id,
                content_type="application/json",
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                headers=dict[str, Any](event.schema_header()),
                user_id=broker_user(url),
            )
            window.append(
                asyncio.ensure_future(
                    exchange.publish(message, event.routing_key(), mandatory=True)
                )
            )
            if len(window) >= 1000:
                await asyncio.gather(*window)
                window.clear()
            if n % 100_000 == 0:
                console.print(f"  published {n:,} ({n / (time.perf_counter() - started):,.0f}/s)")
        await asyncio.gather(*window)
    return submissions


async def raw_consume(url: str, count: int) -> float:
    """Seconds aio-pika takes to consume ``count`` messages, acking every 500 at once."""
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=1000)
        queue = await channel.get_queue(RAW_QUEUE)
        done = asyncio.Event()
        seen = 0

        async def take(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            nonlocal seen
            seen += 1
            if seen % 500 == 0 or seen == count:
                await message.ack(multiple=True)
            if seen == count:
                done.set()

        started = time.perf_counter()
        await queue.consume(take)
        await done.wait()
        return time.perf_counter() - started


@dataclass
class Applied:
    """How the service did."""

    seconds: float
    received: int
    peak_rss_mib: float


def _rss_mib(pid: int) -> float:
    """Peak resident memory of ``pid`` and its child processes (the ledger process), summed."""
    peak = 0.0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            peak = int(line.split()[1]) / 1024
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return peak + sum(_rss_mib(int(child)) for child in children)


async def apply_all(url: str, database_url: str, submissions: int, work: Path) -> Applied:
    """Start the service on the filled queues; time until every submission is received."""
    service = ServiceProcess(
        "aggregation",
        {"SANGKIEN_BROKER_URL": url, "SANGKIEN_DATABASE_URL": database_url},
        work,
    )
    service.start()
    try:
        await service.wait_ready(300)
        assert service.pid is not None
        started = time.perf_counter()
        async with httpx.AsyncClient(base_url=service.base_url, timeout=30) as http:

            async def received() -> int:
                answer = await http.get("/v1/unions/vn/progress")
                return int(answer.json()["subtree"]["received"])

            # Every half second: a progress request costs the service CPU that it would not
            # spend on counting otherwise.
            total = await poll(
                received, lambda n: n >= submissions, 3600, "every event applied", interval=0.5
            )
        return Applied(time.perf_counter() - started, total, _rss_mib(service.pid))
    finally:
        service.terminate()


def new_vhost(port: str) -> str:
    """A fresh virtual host on the bench node with full permissions for guest; its URL."""
    vhost = f"bench-{random.randrange(10**9)}"
    for args in (("add_vhost", vhost), ("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")):
        subprocess.run([str(RABBIT), "ctl", port, *args], check=True, capture_output=True)
    return f"amqp://guest:guest@127.0.0.1:{port}/{vhost}"


def main(
    events: Annotated[int, typer.Option(help="Events to apply.")] = 200_000,
    database: Annotated[str, typer.Option(help="sqlite, postgres or both.")] = "both",
    seed: Annotated[int, typer.Option(help="Seed of the generated campaign.")] = 1,
) -> None:
    """Print events/s applied beside the raw consume rate, per database."""
    console = Console()
    subprocess.run([str(RABBIT), "start", BENCH_RABBIT_PORT, "--fresh"], check=True)
    postgres: PrivatePostgres | None = None
    table = Table(title=f"Aggregation: {events:,} events over the reference tree")
    for column in ("run", "seconds", "events/s", "× raw", "peak RSS MiB"):
        table.add_column(column)
    try:
        for kind in ("sqlite", "postgres") if database == "both" else (database,):
            url = new_vhost(BENCH_RABBIT_PORT)
            asyncio.run(declare_topology(url))
            console.print(f"{kind}: publishing {events:,} events…")
            submissions = asyncio.run(publish(url, events, seed, console))
            raw_seconds = asyncio.run(raw_consume(url, events))
            raw_rate = events / raw_seconds
            table.add_row(
                "aio-pika raw consume (ack ×500)",
                f"{raw_seconds:.1f}",
                f"{raw_rate:,.0f}",
                "1.00",
                "",
            )
            work = Path(tempfile.mkdtemp(prefix="bench-aggregation-"))
            if kind == "sqlite":
                database_url = f"sqlite+aiosqlite:///{work / 'aggregation.sqlite3'}"
            else:
                postgres = postgres or PrivatePostgres(free_port())
                if not postgres.data.exists():
                    postgres.start()
                database_url = asyncio.run(postgres.new_database())
            try:
                applied = asyncio.run(apply_all(url, database_url, submissions, work))
            finally:
                shutil.rmtree(work, ignore_errors=True)
            rate = events / applied.seconds
            table.add_row(
                f"aggregation service ({kind})",
                f"{applied.seconds:.1f}",
                f"{rate:,.0f}",
                f"{rate / raw_rate:.2f}",
                f"{applied.peak_rss_mib:,.0f}",
            )
            console.print(table)
    finally:
        if postgres is not None:
            postgres.stop()
        subprocess.run([str(RABBIT), "stop", BENCH_RABBIT_PORT], check=False)
    console.print(table)


if __name__ == "__main__":
    typer.run(main)
