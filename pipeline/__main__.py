"""``python -m pipeline run``: start the broker and the services, show the pipeline working.

Without ``--broker-url`` a private RabbitMQ node is started (and stopped at the end) by
``scripts/rabbitmq.sh``. Each service runs as its own process on its embedded SQLite database
under ``.run/``. Ctrl-C stops everything it started.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import signal
import subprocess
from collections import Counter
from dataclasses import dataclass, replace
from itertools import islice
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console
from rich.live import Live
from rich.progress import Progress

from pipeline.campaign import campaign
from pipeline.dashboard import WATCHED, EventCounts, Figures, read_figures, render
from pipeline.demo import event_table, run_demo
from pipeline.processes import Pipeline, create_api_key
from pipeline.receiver import LOG as RECEIVER_LOG
from pipeline.receiver import notices_received, start_receiver, subscribe
from pipeline.resume import CampaignState, load_state, save_state, start_over
from pipeline.simulate import send_amqp, send_http
from pipeline.tap import Tap
from shared.messaging.publishers import broker_user
from shared.reference.catalog import load_reference
from shared.settings import REPO_ROOT

cli = typer.Typer(help="Run the sáng kiến pipeline.", no_args_is_help=True)
RABBIT_SCRIPT = REPO_ROOT / "scripts" / "rabbitmq.sh"
DEFAULT_RUN_DIR = REPO_ROOT / ".run"


@cli.callback()
def main() -> None:
    """Run the sáng kiến pipeline."""


@dataclass(frozen=True)
class CampaignPlan:
    """The simulated campaign the run command feeds after its demo."""

    count: int
    rate: float
    seed: int


async def _run(
    console: Console,
    broker_url: str,
    run_dir: Path,
    first_port: int,
    plan: CampaignPlan | None,
    fresh: bool,
) -> None:
    # The run's own webhook receiver listens on loopback: notify may call it there.
    pipeline = Pipeline(
        broker_url,
        run_dir,
        env={"SANGKIEN_NOTIFY_ALLOWED_HOSTS": '["127.0.0.1"]'},
        first_port=first_port,
    )
    receiver_port = first_port + len(pipeline.processes)
    receiver: subprocess.Popen[bytes] | None = None
    main = asyncio.current_task()
    assert main is not None
    for number in (signal.SIGINT, signal.SIGTERM):  # Ctrl-C or a supervisor: stop it all
        asyncio.get_running_loop().add_signal_handler(number, main.cancel)
    if fresh:
        await start_over(run_dir, broker_url)
        console.print(f"--fresh: earlier runs' databases and queued messages in {run_dir} removed")
    try:
        pipeline.start()
        for process in pipeline.processes.values():
            await process.wait_ready(timeout=120)
            console.print(
                f"[green]{process.name}[/] ready at {process.base_url} "
                f"(pid {process.pid}, logs: {process.log_path})"
            )
        submission, aggregation = pipeline["submission"], pipeline["aggregation"]
        state = await _portal(console, pipeline, plan, receiver_port)
        key = state.portal_key
        receiver = start_receiver(run_dir, receiver_port, state.receiver_secret)
        console.print(
            f"webhook receiver (examples/webhook_receiver.py) at http://127.0.0.1:{receiver_port}"
            f", subscribed to the national milestones (receiver pid {receiver.pid}, "
            f"log: {run_dir / RECEIVER_LOG})"
        )
        async with Tap(broker_url, ("#",)) as tap:
            await run_demo(console, submission.base_url, aggregation.base_url, key, tap)
            console.print(event_table(tap.seen))
        for process in pipeline.processes.values():
            console.print(
                f"{process.name}: OpenAPI {process.base_url}/docs · "
                f"metrics {process.base_url}/metrics"
            )
        console.print(
            f"[bold]Progress board[/] (live, in Vietnamese): {aggregation.base_url}/board/ "
            f"· a province: {aggregation.base_url}/board/unions/ldld-ha-noi"
        )
        if plan is not None:
            console.print(
                f"Simulating a campaign of {plan.count:,} submissions at "
                f"{plan.rate:g}/s. Ctrl-C stops everything."
            )
            await _live(console, pipeline, state, broker_url, plan)
    finally:
        if receiver is not None:
            receiver.terminate()
            receiver.wait(timeout=10)
        for name in pipeline.stop():
            console.print(f"[red]{name}[/] did not stop on SIGTERM within 30 s: killed")


async def _portal(
    console: Console, pipeline: Pipeline, plan: CampaignPlan | None, receiver_port: int
) -> CampaignState:
    """The demo portal's key and the campaign's progress: an earlier run's, when its key still
    works, else a new key, a subscription of the run's webhook receiver, and a campaign from
    the start."""
    seed, count = (plan.seed, plan.count) if plan is not None else (0, 0)
    state = load_state(pipeline.run_dir)
    if state is not None and await _key_works(pipeline["submission"].base_url, state.portal_key):
        start = state.resume_at(seed, count) if plan is not None else state.sent
        resumed = replace(state, seed=seed or state.seed, count=count or state.count, sent=start)
        campaign_part = (
            f"; the simulated campaign (seed {resumed.seed}) continues at {start:,} of "
            f"{resumed.count:,}"
            if plan is not None
            else ""
        )
        console.print(
            f"Resuming with the earlier run's portal key{campaign_part} (--fresh starts over)"
        )
        return resumed
    key = create_api_key(
        pipeline.database_env("submission"),
        name="demo portal",
        scope="vn",
        broker_user=broker_user(pipeline.broker_url),
    )
    secret = secrets.token_hex(16)
    notify_key = create_api_key(
        pipeline.database_env("notify"), name="demo receiver", scope="vn", service="notify"
    )
    await subscribe(
        pipeline["notify"].base_url, notify_key, f"http://127.0.0.1:{receiver_port}/", secret
    )
    state = CampaignState(portal_key=key, seed=seed, count=count, receiver_secret=secret)
    save_state(pipeline.run_dir, state)
    console.print("A new demo portal key; the simulated campaign starts from the beginning")
    return state


async def _key_works(base_url: str, key: str) -> bool:
    """Whether the submission service takes ``key`` (401 means it does not know it)."""
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        answer = await client.get("/v1/submissions/none", headers={"X-API-Key": key})
    return answer.status_code != 401


async def _live(
    console: Console, pipeline: Pipeline, state: CampaignState, broker_url: str, plan: CampaignPlan
) -> None:
    """Feed the simulated campaign (from where an earlier run stopped) and show the live view
    until it is all sent, then keep showing it until Ctrl-C."""
    reference = load_reference(REPO_ROOT / "reference")
    scopes = ("program", *(phase.code for phase in reference.program.phases))
    events = EventCounts()
    sent = state.sent

    def advance(n: int) -> None:
        nonlocal sent
        sent += n
        save_state(pipeline.run_dir, replace(state, sent=sent))

    key = state.portal_key
    filed = islice(campaign(reference, plan.count, seed=plan.seed), state.sent, None)
    async with (
        Tap(broker_url, WATCHED, on_delivery=events.record),
        httpx.AsyncClient(base_url=pipeline["submission"].base_url) as intake,
        httpx.AsyncClient(base_url=pipeline["aggregation"].base_url, timeout=10) as progress,
    ):
        sending = asyncio.create_task(
            send_http(intake, key, filed, rate=plan.rate, progress=advance, retry_for=60)
        )
        # A terminal gets a live view; a log file (not a terminal) a new frame every 10 seconds.
        live = Live(console=console, refresh_per_second=2) if console.is_terminal else None
        figures = Figures()
        with live or contextlib.nullcontext():
            while True:
                try:
                    figures = await read_figures(progress, scopes)
                except httpx.HTTPError as error:  # a busy or restarting service: show the last
                    figures = replace(
                        figures,
                        problem=f"progress API did not answer ({type(error).__name__}): "
                        "figures as last read",
                    )
                view = render(
                    figures,
                    events,
                    sent,
                    plan.count,
                    notices_received(pipeline.run_dir),
                    f"{pipeline['aggregation'].base_url}/board/",
                )
                if live is not None:
                    live.update(view)
                else:
                    console.print(view)
                if sending.done() and sending.exception() is not None:
                    raise sending.exception()  # type: ignore[misc]
                await asyncio.sleep(1 if live is not None else 10)


@cli.command()
def run(
    broker_url: Annotated[
        str | None, typer.Option(help="Use this broker instead of a private one.")
    ] = None,
    run_dir: Annotated[Path, typer.Option(help="Where databases and logs go.")] = DEFAULT_RUN_DIR,
    first_port: Annotated[int, typer.Option(help="HTTP port of the first service.")] = 8000,
    exit_after_demo: Annotated[bool, typer.Option(help="Stop after the demo.")] = False,
    count: Annotated[int, typer.Option(help="Submissions of the simulated campaign.")] = 1_000_000,
    rate: Annotated[float, typer.Option(help="Its submissions per second; 0: as fast.")] = 200,
    seed: Annotated[int, typer.Option(help="Its seed (the same seed replays).")] = 1,
    fresh: Annotated[
        bool, typer.Option(help="Start over: drop earlier runs' databases, queues and progress.")
    ] = False,
) -> None:
    """Start the broker (unless given) and the services, run the demo, then feed a simulated
    campaign and show it live until Ctrl-C. A second run resumes the campaign where the first
    stopped, with the same portal key (``--fresh`` starts over)."""
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
            plan = None if exit_after_demo else CampaignPlan(count, rate, seed)
            asyncio.run(_run(console, broker_url, run_dir, first_port, plan, fresh))
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
