"""The README's promises: the run command works; published docs match the code."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi import FastAPI

from pipeline.processes import free_ports, running
from services.aggregation.app import create_app as create_aggregation_app
from services.aggregation.settings import AggregationSettings
from services.dedup.settings import DedupSettings
from services.notify.app import create_app as create_notify_app
from services.notify.settings import NotifySettings
from services.submission.app import create_app
from services.submission.settings import SubmissionSettings
from shared.polling import poll
from shared.settings import REPO_ROOT

SCREEN = {**os.environ, "COLUMNS": "250"}  # wide enough that table cells do not wrap


def run_command(broker_url: str, folder: Path) -> list[str]:
    """The README's run command on the test's broker, databases in ``folder``."""
    return [
        sys.executable,
        "-m",
        "pipeline",
        "run",
        "--broker-url",
        broker_url,
        "--run-dir",
        str(folder),
        "--first-port",
        str(free_ports(5)),  # four services, then the run's webhook receiver
    ]


@pytest.mark.parametrize(
    ("service", "create"),
    [
        ("submission", create_app),
        ("aggregation", create_aggregation_app),
        ("notify", create_notify_app),
    ],
)
def test_published_openapi_matches_the_app(service: str, create: Callable[[], FastAPI]) -> None:
    published = json.loads((REPO_ROOT / f"docs/api/{service}.openapi.json").read_text())
    assert published == create().openapi(), (
        f"regenerate: python -m services.{service} openapi > docs/api/{service}.openapi.json"
    )


def test_every_setting_is_documented() -> None:
    documented = (REPO_ROOT / "docs/settings.md").read_text(encoding="utf-8")
    fields = {
        *SubmissionSettings.model_fields,
        *DedupSettings.model_fields,
        *AggregationSettings.model_fields,
        *NotifySettings.model_fields,
    }
    missing = [
        f"SANGKIEN_{name.upper()}"
        for name in fields
        if f"SANGKIEN_{name.upper()}" not in documented
    ]
    assert missing == []


def test_run_command_files_initiatives_and_shows_their_events(
    broker_url: str, tmp_path: Path
) -> None:
    done = subprocess.run(
        [*run_command(broker_url, tmp_path), "--exit-after-demo"],
        cwd=REPO_ROOT,
        env=SCREEN,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("submission.received.v1 ") == 5
    assert done.stdout.count("submission.screened.v1 ") == 5
    assert "submission.rejected.v1" in done.stdout
    assert "union_code: union_not_accepting" in done.stdout
    assert "GET the copy → verdict exact_duplicate" in done.stdout
    # Five received, the copy excluded as an exact duplicate: four count nationally.
    assert "national: 4 counted of 1,000,000" in done.stdout
    assert "progress.updated.v1" in done.stdout


def start_run_command(
    broker_url: str, folder: Path, output: Path, *options: str
) -> subprocess.Popen[bytes]:
    """The run command in the background, as a user starts it, its screen going to ``output``."""
    with open(output, "wb") as sink:
        return subprocess.Popen(
            [*run_command(broker_url, folder), *options],
            cwd=REPO_ROOT,
            env=SCREEN,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )


def diagnosis(folder: Path, lines: int = 30) -> str:
    """The last lines the run command and each of its services wrote, to tell why it failed."""
    return "\n".join(
        f"== {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
        for log in sorted(folder.glob("*.out")) + sorted(folder.glob("*.log"))
    )


SERVICE_PID = re.compile(r"\(pid (\d+),")  # the run command prints each service's pid
RECEIVER_PID = re.compile(r"receiver pid (\d+),")  # and its webhook receiver's


async def screen_once(
    run: subprocess.Popen[bytes],
    output: Path,
    folder: Path,
    shown: Callable[[str], bool],
    what: str,
) -> str:
    """The run command's screen once ``shown`` (within 240 s), or a failure showing the logs,
    at once if the run command ended first."""

    def screen() -> str:
        text = output.read_text(encoding="utf-8", errors="replace")
        if run.poll() is not None and not shown(text):
            raise AssertionError(f"the run command ended ({run.returncode}):\n{text[-3000:]}")
        return text

    try:
        return await poll(screen, shown, 240, what)
    except TimeoutError as late:
        raise AssertionError(diagnosis(folder)) from late


async def test_ctrl_c_stops_every_process_the_run_command_started(
    broker_url: str, tmp_path: Path
) -> None:
    output = tmp_path / "run.out"
    run = start_run_command(broker_url, tmp_path, output)
    try:
        screen = await screen_once(
            run,
            output,
            tmp_path,
            lambda text: "Cả nước" in text and "Leading provinces" in text,
            "the live view",
        )
        services = [int(pid) for pid in SERVICE_PID.findall(screen)]
        assert len(services) == 4 and all(running(pid) for pid in services), diagnosis(tmp_path)
        run.send_signal(signal.SIGINT)
        assert run.wait(timeout=90) == 0, diagnosis(tmp_path)
    finally:
        if run.poll() is None:
            run.kill()
    assert [pid for pid in services if running(pid)] == [], diagnosis(tmp_path)


async def test_the_services_stop_when_the_run_command_is_killed(
    broker_url: str, tmp_path: Path
) -> None:
    output = tmp_path / "run.out"
    run = start_run_command(broker_url, tmp_path, output)
    services: list[int] = []
    try:
        screen = await screen_once(
            run,
            output,
            tmp_path,
            lambda text: RECEIVER_PID.search(text) is not None,
            "the receiver",
        )
        services = [int(pid) for pid in SERVICE_PID.findall(screen)]
        assert len(services) == 4, screen
        services.append(int(RECEIVER_PID.findall(screen)[0]))
        assert all(running(pid) for pid in services), diagnosis(tmp_path)
        run.kill()  # no handler runs: the run command cannot stop them itself
        run.wait(timeout=30)
        try:
            await poll(
                lambda: [pid for pid in services if running(pid)],
                lambda alive: alive == [],
                60,
                "the services stopped",
            )
        except TimeoutError as late:
            raise AssertionError(diagnosis(tmp_path)) from late
    finally:
        if run.poll() is None:
            run.kill()
        for pid in services:
            if running(pid):
                os.kill(pid, signal.SIGKILL)


async def run_until(
    broker_url: str, folder: Path, name: str, shown: Callable[[str], bool], *options: str
) -> str:
    """Run the run command until its screen shows ``shown``, then Ctrl-C it; its screen."""
    output = folder / f"{name}.out"
    run = start_run_command(broker_url, folder, output, *options)
    try:
        screen = await screen_once(run, output, folder, shown, name)
        run.send_signal(signal.SIGINT)
        assert run.wait(timeout=90) == 0, diagnosis(folder)
    finally:
        if run.poll() is None:
            run.kill()
    return screen


async def test_a_second_run_resumes_the_campaign_and_fresh_starts_over(
    broker_url: str, tmp_path: Path
) -> None:
    campaign = ("--count", "300", "--rate", "150")

    def all_received(count: int) -> Callable[[str], bool]:
        # The demo files five submissions per run; the campaign's 300 are filed once.
        return lambda text: "simulator 300/300 sent" in text and f"received {count} " in text

    first = await run_until(broker_url, tmp_path, "first", all_received(305), *campaign)
    assert "A new demo portal key" in first
    second = await run_until(broker_url, tmp_path, "second", all_received(310), *campaign)
    assert "Resuming with the earlier run's portal key" in second
    assert "continues at 0 of 300" in second  # resent from a margin back: replays, not new
    fresh = await run_until(broker_url, tmp_path, "fresh", all_received(305), *campaign, "--fresh")
    assert "--fresh: earlier runs' databases and queued messages" in fresh
    assert "A new demo portal key" in fresh


async def test_the_run_shows_a_milestone_reaching_its_webhook_receiver(
    broker_url: str, tmp_path: Path
) -> None:
    screen = await run_until(
        broker_url,
        tmp_path,
        "milestone",
        lambda text: "Toàn quốc đạt mốc 10.000 sáng kiến" in text,
        *("--count", "10400", "--rate", "0"),  # about 98 % count: 10,000 are passed
    )
    assert "webhook receiver (examples/webhook_receiver.py) at http://127.0.0.1:" in screen
    # The receiver printed it: it verified the notice's signature first.
    log = (tmp_path / "webhook_receiver.log").read_text(encoding="utf-8")
    assert "Toàn quốc đạt mốc 10.000 sáng kiến" in log
