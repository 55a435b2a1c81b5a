"""``python -m pipeline run``: start the broker and the services, show the pipeline working.

Without ``--broker-url`` a private RabbitMQ node is started (and stopped at the end) by
``scripts/rabbitmq.sh``. Each service runs as its own process on its embedded SQLite database
under ``.run/``. Ctrl-C stops everything it started.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
from collections import Counter
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console
from rich.live import Live
from rich.progress import Progress

from pipeline.campaign import campaign
from pipeline.demo import event_table, run_demo
from pipeline.processes import ServiceProcess, create_api_key
from pipeline.simulate import send_amqp, send_http
from pipeline.tap import Tap
from shared.reference.catalog import load_reference
from shared.settings import REPO_ROOT

cli = typer.Typer(help="Run the sáng kiến pipeline.", no_args_is_help=True)
SERVICES = ("submission", "dedup", "aggregation", "notify")
RABBIT_SCRIPT = REPO_ROOT / "scripts" / "rabbitmq.sh"
DEFAULT_RUN_DIR = REPO_ROOT / ".run"


@cli.callback()
def main() -> None:
    """Run the sáng kiến pipeline."""


async def _run(
    console: Console, broker_url: str, run_dir: Path, first_port: int, exit_after_demo: bool
) -> None:
    env = {"SANGKIEN_BROKER_URL": broker_url}
    processes: list[ServiceProcess] = []
    main = asyncio.current_task()
    assert main is not None
    for number in (signal.SIGINT, signal.SIGTERM):  # Ctrl-C or a supervisor: stop it all
        asyncio.get_running_loop().add_signal_handler(number, main.cancel)
    try:
        for name in SERVICES:
            database = f"sqlite+aiosqlite:///{run_dir / f'{name}.sqlite3'}"
            process = ServiceProcess(
                name,
                {**env, "SANGKIEN_DATABASE_URL": database},
                run_dir,
                port=first_port + len(processes),
            )
            process.start()
            processes.append(process)
        for process in processes:
            await process.wait_ready(timeout=120)
            console.print(
                f"[green]{process.name}[/] ready at {process.base_url} "
                f"(pid {process.pid}, logs: {process.log_path})"
            )
        submission, aggregation = processes[0], processes[2]
        key = create_api_key(
            {**env, "SANGKIEN_DATABASE_URL": submission.env["SANGKIEN_DATABASE_URL"]},
            name="demo portal",
            scope="vn",
        )
        async with Tap(broker_url, ("#",)) as tap:
            await run_demo(console, submission.base_url, aggregation.base_url, key, tap)
            console.print(event_table(tap.seen))
            for process in (submission, aggregation):
                console.print(
                    f"{process.name}: OpenAPI {process.base_url}/docs · "
                    f"metrics {process.base_url}/metrics"
                )
            if exit_after_demo:
                return
            console.print("Running; new events appear below. Ctrl-C stops everything.")
            with Live(event_table(tap.seen), console=console, refresh_per_second=2) as live:
                while True:
                    await asyncio.sleep(0.5)
                    live.update(event_table(tap.seen[-30:]))
    finally:
        for process in processes:
            process.terminate()


@cli.command()
def run(
    broker_url: Annotated[
        str | None, typer.Option(help="Use this broker instead of a private one.")
    ] = None,
    run_dir: Annotated[Path, typer.Option(help="Where databases and logs go.")] = REPO_ROOT
    / ".run",
    first_port: Annotated[int, typer.Option(help="HTTP port of the first service.")] = 8000,
    exit_after_demo: Annotated[bool, typer.Option(help="Stop after the demo.")] = False,
) -> None:
    """Start the broker (unless given) and the services, run the demo, stay up until Ctrl-C."""
    console = Console()
    started_broker = broker_url is None
    if broker_url is None:
        console.print("starting a private RabbitMQ node (scripts/rabbitmq.sh)…")
        broker_url = (
            subprocess.run(
                [str(RABBIT_SCRIPT), "start"], check=True, text=True, capture_output=True
            )
            .stdout.strip()
            .splitlines()[-1]
        )
    try:
        with contextlib.suppress(KeyboardInterrupt, asyncio.CancelledError):
            asyncio.run(_run(console, broker_url, run_dir, first_port, exit_after_demo))
    finally:
        if started_broker:
            console.print("stopping the private RabbitMQ node…")
            subprocess.run([str(RABBIT_SCRIPT), "stop"], check=False, capture_output=True)
        console.print("stopped.")


@cli.command()
def simulate(
    count: Annotated[int, typer.Option(help="Submissions to send.")] = 10_000,
    seed: Annotated[int, typer.Option(help="Same seed, same campaign (and keys).")] = 1,
    rate: Annotated[float, typer.Option(help="Submissions per second; 0: as fast as taken.")] = 0,
    via: Annotated[str, typer.Option(help="http (batches) or amqp (commands).")] = "http",
    url: Annotated[str, typer.Option(help="Submission service base URL (http).")] = (
        "http://127.0.0.1:8000"
    ),
    api_key: Annotated[str, typer.Option(help="Portal key covering 'vn' (http).")] = "",
    broker_url: Annotated[str, typer.Option(help="Broker to publish commands to (amqp).")] = "",
    near_share: Annotated[float, typer.Option(help="Share of near-duplicates.")] = 0.02,
    exact_share: Annotated[float, typer.Option(help="Share of exact repeats.")] = 0.01,
) -> None:
    """Send a simulated campaign (realistic tree, texts, dates, copies) to a deployment."""
    reference = load_reference(REPO_ROOT / "reference")
    filed = campaign(reference, count, seed=seed, near_share=near_share, exact_share=exact_share)
    console = Console()
    with Progress(console=console) as bar:
        task = bar.add_task(f"sending {count:,} over {via}", total=count)

        def advance(n: int) -> None:
            bar.advance(task, n)

        if via == "http":
            if not api_key:
                raise typer.BadParameter("--api-key is needed over http")

            async def over_http() -> Counter[str]:
                async with httpx.AsyncClient(base_url=url) as client:
                    return await send_http(client, api_key, filed, rate=rate, progress=advance)

            outcomes = asyncio.run(over_http())
        elif via == "amqp":
            if not broker_url:
                raise typer.BadParameter("--broker-url is needed over amqp")
            outcomes = asyncio.run(send_amqp(broker_url, filed, rate=rate, progress=advance))
        else:
            raise typer.BadParameter("--via is http or amqp")
    console.print(", ".join(f"{name}: {n:,}" for name, n in sorted(outcomes.items())))


if __name__ == "__main__":
    cli()
