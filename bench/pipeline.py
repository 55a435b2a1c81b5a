"""Benchmark: submissions per second through all four services, beside raw aio-pika rates.

    .venv/bin/python -m bench.pipeline [--count 20000] [--latency-seconds 30]
        [--snapshot-seconds 1] [--profile DIR]

In one run, on one private RabbitMQ node:

- baseline: aio-pika publishing persistent messages of a submission's size to a quorum queue with
  confirms in windows of 1,000, then consuming them (acks ×500): the fastest this client library
  moves such messages through this broker;
- sustained: ``--count`` simulated submissions sent over HTTP batches as fast as taken, timed from
  the first request until a ``progress.updated.v1`` snapshot of the national node shows them all
  received (intake, outbox, dedup, aggregation, snapshot);
- latency at a fixed 200 per second: for each batch, from its request until the first national
  snapshot counting it (snapshots every second unless ``--snapshot-seconds``; the service's
  default is 5 s: fewer snapshots, since upper unions change several times within one interval).

The four services are real processes on SQLite, as the run command starts them. A second table
says where the CPU went during the sustained run: seconds of each service, the broker and this
client, per submission and as a share of the machine's cores. ``--profile DIR`` also samples each
service with py-spy during that run.
"""

from __future__ import annotations

import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import aio_pika
import httpx
import typer
from rich.console import Console
from rich.table import Table

from bench.aggregation import BENCH_RABBIT_PORT, RABBIT, RAW_QUEUE, new_vhost, raw_consume
from pipeline.campaign import Filed, campaign
from pipeline.processes import Pipeline, create_api_key
from pipeline.simulate import batched
from pipeline.tap import Delivery, Tap
from shared.polling import poll
from shared.reference.catalog import load_reference
from shared.settings import REPO_ROOT

BATCH = 100
PY_SPY = str(Path(sys.executable).with_name("py-spy"))
BROKER_PID_FILE = REPO_ROOT / ".run" / f"rabbitmq-{BENCH_RABBIT_PORT}" / "rabbit.pid"


def cpu_seconds(pid: int, *, descendants: bool = False) -> float:
    """User plus system CPU time a process has used so far, with that of its live descendants
    if asked (the aggregation service applies its batches in a child process)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    if not descendants:
        return own
    children = " ".join(
        task.read_text() for task in Path(f"/proc/{pid}/task").glob("*/children")
    ).split()
    return own + sum(cpu_seconds(int(child), descendants=True) for child in children)


def cpu_by_process(pids: dict[str, int]) -> dict[str, float]:
    """``cpu_seconds`` of each named process; a service's with its descendants, this client's
    (whose descendants are the services and the samplers) without."""
    return {name: cpu_seconds(pid, descendants=pid != os.getpid()) for name, pid in pids.items()}


async def raw_publish(url: str, bodies: list[bytes]) -> float:
    """Seconds aio-pika takes to publish ``bodies`` persistently, confirms in windows of 1,000."""
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        await channel.declare_queue(RAW_QUEUE, durable=True, arguments={"x-queue-type": "quorum"})
        started = time.perf_counter()
        for window in range(0, len(bodies), 1000):
            await asyncio.gather(
                *(
                    channel.default_exchange.publish(
                        aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                        RAW_QUEUE,
                    )
                    for body in bodies[window : window + 1000]
                )
            )
        return time.perf_counter() - started


class Received:
    """National snapshots: when each cumulative received count was first shown."""

    def __init__(self) -> None:
        self.shown: list[tuple[float, int]] = []

    def record(self, delivery: Delivery) -> None:
        """Keep a national whole-program snapshot's time and received count."""
        body = delivery.body
        if body.get("union_code") == "vn" and body.get("scope") == "program":
            self.shown.append((time.perf_counter(), int(body["subtree"]["received"])))

    def first_showing(self, total: int) -> float | None:
        """When a snapshot first showed at least ``total`` received."""
        return next((at for at, received in self.shown if received >= total), None)


async def send(
    client: httpx.AsyncClient, key: str, filed: list[Filed], rate: float, base: int
) -> list[tuple[float, int]]:
    """Send ``filed`` in batches (paced at ``rate``/s unless 0, four in flight otherwise);
    return (request time, cumulative total once the batch is in) per batch."""
    sent: list[tuple[float, int]] = []
    slots = asyncio.Semaphore(1 if rate else 4)
    started = time.perf_counter()

    async def post(items: tuple[Filed, ...], total: int) -> None:
        async with slots:
            at = time.perf_counter()
            answer = await client.post(
                "/v1/submissions/batch",
                json={
                    "items": [{"client_key": f.client_key, "submission": f.draft} for f in items]
                },
                headers={"X-API-Key": key},
                timeout=120,
            )
        answer.raise_for_status()
        sent.append((at, total))

    tasks = []
    total = base
    for items in batched(filed, BATCH):
        total += len(items)
        if rate:
            ahead = (total - base) / rate - (time.perf_counter() - started)
            if ahead > 0:
                await asyncio.sleep(ahead)
        tasks.append(asyncio.create_task(post(items, total)))
    await asyncio.gather(*tasks)
    return sent


def start_profiles(pids: dict[str, int], folder: Path) -> list[subprocess.Popen[bytes]]:
    """py-spy sampling each process, without pausing it, while it holds the GIL (where its CPU
    goes) into ``folder/NAME.txt``: collapsed stacks that flamegraph.pl or speedscope read."""
    folder.mkdir(parents=True, exist_ok=True)
    return [
        subprocess.Popen(
            [
                PY_SPY,
                "record",
                "--pid",
                str(pid),
                "--gil",
                "--nonblocking",
                "--rate",
                "200",
                "--format",
                "raw",
                "--output",
                str(folder / f"{name}.txt"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name, pid in pids.items()
    ]


def stop_profiles(profilers: list[subprocess.Popen[bytes]]) -> None:
    """Stop the samplers; each writes its file on SIGINT."""
    for profiler in profilers:
        profiler.send_signal(signal.SIGINT)
    for profiler in profilers:
        profiler.wait(timeout=60)


@dataclass(frozen=True)
class Run:
    """What one pipeline run measured."""

    intake_seconds: float  # until every batch of the sustained run was answered
    sustained_seconds: float  # until the national snapshot showed them all
    latencies: list[float]  # per submission at 200/s
    cpu: dict[str, float]  # seconds of each process during the sustained run


async def run_pipeline(
    url: str,
    folder: Path,
    count: int,
    latency_count: int,
    snapshot_seconds: float,
    profile_dir: Path | None,
) -> Run:
    """The sustained run of ``count`` submissions, the CPU seconds each process used meanwhile
    (sampled into ``profile_dir`` if given), then per-submission latencies at 200/s."""
    filed = list(campaign(load_reference(REPO_ROOT / "reference"), count + latency_count, seed=9))
    pipeline = Pipeline(
        url, folder, {"SANGKIEN_AGGREGATION_SNAPSHOT_SECONDS": str(snapshot_seconds)}
    )
    pipeline.start()
    try:
        await pipeline.wait_ready()
        key = create_api_key(pipeline.database_env("submission"), name="bench", scope="vn")
        services = {
            name: process.pid
            for name, process in pipeline.processes.items()
            if process.pid is not None
        }
        watched = {
            **services,
            "broker": int(BROKER_PID_FILE.read_text()),
            "bench client": os.getpid(),
        }
        snapshots = Received()
        async with (
            Tap(url, ("progress.updated.v1",), on_delivery=snapshots.record),
            httpx.AsyncClient(base_url=pipeline["submission"].base_url) as client,
        ):
            profilers = start_profiles(services, profile_dir) if profile_dir else []
            started, cpu_before = time.perf_counter(), cpu_by_process(watched)
            await send(client, key, filed[:count], 0, 0)
            answered = time.perf_counter()
            done = await poll(
                lambda: snapshots.first_showing(count), bool, 3600, "all received nationally"
            )
            stop_profiles(profilers)
            cpu = {
                name: seconds - cpu_before[name]
                for name, seconds in cpu_by_process(watched).items()
            }
            sent = await send(client, key, filed[count:], 200, count)
            await poll(
                lambda: snapshots.first_showing(count + latency_count),
                bool,
                3600,
                "the paced ones received nationally",
            )
        latencies = []
        previous = count
        for at, total in sorted(sent, key=lambda s: s[1]):
            shown = snapshots.first_showing(total)
            assert shown is not None
            latencies.extend([shown - at] * (total - previous))
            previous = total
        return Run(answered - started, done - started, latencies, cpu)
    finally:
        pipeline.stop()


def main(
    count: Annotated[int, typer.Option(help="Submissions for the sustained rate.")] = 20_000,
    latency_seconds: Annotated[int, typer.Option(help="Seconds of load at 200/s.")] = 30,
    snapshot_seconds: Annotated[
        float, typer.Option(help="Aggregation's snapshot interval (the service's default: 5).")
    ] = 1,
    profile: Annotated[
        Path | None, typer.Option(help="Sample each service with py-spy into this folder.")
    ] = None,
) -> None:
    """Print the table."""
    console = Console(width=120)
    subprocess.run([str(RABBIT), "start", BENCH_RABBIT_PORT, "--fresh"], check=True)
    try:
        url = new_vhost(BENCH_RABBIT_PORT)
        sample = [f.draft for f in campaign(load_reference(REPO_ROOT / "reference"), 200)]
        size = statistics.mean(len(str(d).encode()) for d in sample)
        bodies = [b"x" * int(size)] * count
        publish_seconds = asyncio.run(raw_publish(url, bodies))
        consume_seconds = asyncio.run(raw_consume(url, count))
        with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as folder:
            run = asyncio.run(
                run_pipeline(
                    new_vhost(BENCH_RABBIT_PORT),
                    Path(folder),
                    count,
                    latency_seconds * 200,
                    snapshot_seconds,
                    profile,
                )
            )
    finally:
        subprocess.run([str(RABBIT), "stop", BENCH_RABBIT_PORT], check=False)
    publish_rate, consume_rate = count / publish_seconds, count / consume_seconds
    rate = count / run.sustained_seconds
    cuts = statistics.quantiles(run.latencies, n=100)
    table = Table(title=f"Whole pipeline: {count:,} submissions, then {latency_seconds} s at 200/s")
    for column in ("run", "messages or submissions/s", "× raw publish", "p50 s", "p99 s"):
        table.add_column(column, justify="left" if column == "run" else "right")
    table.add_row(
        f"aio-pika raw publish ({size:,.0f} B, confirms)", f"{publish_rate:,.0f}", "1.00", "", ""
    )
    table.add_row(
        "aio-pika raw consume (ack ×500)",
        f"{consume_rate:,.0f}",
        f"{consume_rate / publish_rate:.2f}",
        "",
        "",
    )
    table.add_row(
        "pipeline, intake alone (every batch answered)",
        f"{count / run.intake_seconds:,.0f}",
        f"{count / run.intake_seconds / publish_rate:.3f}",
        "",
        "",
    )
    table.add_row(
        "pipeline, sustained (intake → national snapshot)",
        f"{rate:,.0f}",
        f"{rate / publish_rate:.3f}",
        "",
        "",
    )
    table.add_row(
        f"pipeline at 200/s (snapshots every {snapshot_seconds:g} s)",
        "200",
        "",
        f"{cuts[49]:.2f}",
        f"{cuts[98]:.2f}",
    )
    console.print(table)
    cores = os.cpu_count() or 1
    where = Table(
        title=f"CPU during the sustained run ({run.sustained_seconds:.1f} s, {cores} cores)"
    )
    for column in ("process", "CPU s", "ms per submission", "share of the cores"):
        where.add_column(column, justify="left" if column == "process" else "right")
    for name, seconds in [
        *sorted(run.cpu.items(), key=lambda item: -item[1]),
        ("all", sum(run.cpu.values())),
    ]:
        where.add_row(
            name,
            f"{seconds:.1f}",
            f"{seconds / count * 1000:.2f}",
            f"{seconds / (run.sustained_seconds * cores):.0%}",
        )
    console.print(where)


if __name__ == "__main__":
    typer.run(main)
