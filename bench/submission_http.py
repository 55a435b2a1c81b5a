"""HTTP intake throughput of one submission-service process, beside a trivial FastAPI endpoint.

    .venv/bin/python -m bench.submission_http [--seconds 20] [--concurrency 16]

Both servers are one uvicorn process on this machine; the load comes from this process over
loopback with the same client, so the ratio between the rows is what matters on a noisy machine.
The submission service runs with its real broker (a private RabbitMQ node unless --broker-url is
given) and SQLite, so each accepted submission is validated, stored, put in the outbox and
published with a confirm while the load runs.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.table import Table

from pipeline.processes import ServiceProcess, create_api_key, free_port
from pipeline.samples import SAMPLES
from shared.polling import poll
from shared.settings import REPO_ROOT

RABBIT = REPO_ROOT / "scripts" / "rabbitmq.sh"
BENCH_RABBIT_PORT = "5697"


@dataclass
class Figures:
    """What one load run measured."""

    name: str
    requests: int
    failures: int
    seconds: float
    latencies: list[float]
    per_request: int = 1

    @property
    def rate(self) -> float:
        """Submissions per second."""
        return self.requests * self.per_request / self.seconds

    def percentile(self, q: float) -> float:
        """Latency percentile in milliseconds."""
        cuts = statistics.quantiles(self.latencies, n=100)
        return cuts[int(q) - 1] * 1000


async def load(
    name: str,
    url: str,
    make: Any,
    seconds: float,
    concurrency: int,
    headers: dict[str, str],
    per_request: int = 1,
) -> Figures:
    """Send requests built by ``make(i)`` from ``concurrency`` workers for ``seconds``."""
    latencies: list[float] = []
    failures = 0
    counter = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=30, limits=limits) as client:

        async def worker() -> None:
            nonlocal failures, counter
            while time.perf_counter() < deadline:
                counter += 1
                body, extra = make(counter)
                started = time.perf_counter()
                response = await client.post(url, json=body, headers={**headers, **extra})
                latencies.append(time.perf_counter() - started)
                if response.status_code not in (200, 201):
                    failures += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return Figures(name, len(latencies), failures, elapsed, latencies, per_request)


def one(i: int) -> tuple[dict[str, Any], dict[str, str]]:
    """A distinct valid submission and its idempotency key."""
    sample = SAMPLES[i % len(SAMPLES)]
    body = {**sample, "title": f"{sample['title']} (bản {i})"}
    return body, {"Idempotency-Key": f"bench-{uuid.uuid4().hex}"}


def batch(i: int, size: int = 100) -> tuple[dict[str, Any], dict[str, str]]:
    """A batch of ``size`` distinct submissions."""
    items = [
        {"client_key": uuid.uuid4().hex, "submission": one(i * size + j)[0]} for j in range(size)
    ]
    return {"items": items}, {}


async def measure(
    trivial_url: str,
    env: dict[str, str],
    api_key: str,
    seconds: float,
    concurrency: int,
    work: Path,
) -> list[Figures]:
    """Run the baseline and the service, one after the other, on the same machine."""
    async with httpx.AsyncClient() as client:

        async def up() -> bool:
            try:
                await client.post(trivial_url, json={})
            except httpx.TransportError:
                return False
            return True

        await poll(up, bool, 30, "the trivial app")
    baseline = await load(
        "trivial FastAPI endpoint (parse JSON)", trivial_url, one, seconds, concurrency, {}
    )
    service = ServiceProcess("submission", env, work)
    service.start()
    try:
        await service.wait_ready(120)
        headers = {"X-API-Key": api_key}
        single = await load(
            "POST /v1/submissions (SQLite, outbox, relay)",
            f"{service.base_url}/v1/submissions",
            one,
            seconds,
            concurrency,
            headers,
        )
        batched = await load(
            "POST /v1/submissions/batch ×100",
            f"{service.base_url}/v1/submissions/batch",
            batch,
            seconds,
            max(2, concurrency // 4),
            headers,
            per_request=100,
        )
    finally:
        service.terminate()
    return [baseline, single, batched]


def _run_sync(broker_url: str, seconds: float, concurrency: int) -> list[Figures]:
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        env = {
            "SANGKIEN_BROKER_URL": broker_url,
            "SANGKIEN_DATABASE_URL": f"sqlite+aiosqlite:///{work / 'submission.sqlite3'}",
            # One key sends everything here: its write limit would measure the limiter.
            "SANGKIEN_WRITE_RATE_PER_KEY": "1000000",
            "SANGKIEN_WRITE_BURST_PER_KEY": "1000000",
        }
        api_key = create_api_key(env, name="bench", scope="vn")
        port = free_port()
        trivial = subprocess.Popen(
            [sys.executable, "-m", "bench.trivial_app", str(port)], cwd=REPO_ROOT
        )
        try:
            return asyncio.run(
                measure(f"http://127.0.0.1:{port}/echo", env, api_key, seconds, concurrency, work)
            )
        finally:
            trivial.terminate()
            trivial.wait()


def main(
    seconds: Annotated[float, typer.Option(help="Load time per row.")] = 20.0,
    concurrency: Annotated[int, typer.Option(help="Requests in flight.")] = 16,
    broker_url: Annotated[str | None, typer.Option(help="Existing broker to use.")] = None,
) -> None:
    """Measure and print the table."""
    own_broker = broker_url is None
    if broker_url is None:
        broker_url = subprocess.run(
            [str(RABBIT), "start", BENCH_RABBIT_PORT], check=True, capture_output=True, text=True
        ).stdout.split()[-1]
    try:
        rows = _run_sync(broker_url, seconds, concurrency)
    finally:
        if own_broker:
            subprocess.run([str(RABBIT), "stop", BENCH_RABBIT_PORT], check=False)
    table = Table(title=f"HTTP intake, one process, {concurrency} in flight, {seconds:.0f} s each")
    for column in (
        "scenario",
        "requests",
        "failed",
        "submissions/s",
        "p50 ms",
        "p99 ms",
        "vs baseline",
    ):
        table.add_column(column, justify="right" if column != "scenario" else "left")
    base = rows[0].rate
    for row in rows:
        table.add_row(
            row.name,
            str(row.requests),
            str(row.failures),
            f"{row.rate:,.0f}",
            f"{row.percentile(50):.1f}",
            f"{row.percentile(99):.1f}",
            f"{row.rate / base:.2f}×",
        )
    Console().print(table)


if __name__ == "__main__":
    typer.run(main)
