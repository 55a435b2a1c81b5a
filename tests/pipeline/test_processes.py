"""Stopping the service processes: nothing is ever left running."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from pipeline.processes import Pipeline

STUBBORN = "import signal; signal.signal(signal.SIGTERM, signal.SIG_IGN)"
SETTLED = "; print('settled', flush=True); import time; time.sleep(120)"


def settled(code: str) -> subprocess.Popen[bytes]:
    """A child running ``code``, returned once it has run it (signals set up)."""
    child = subprocess.Popen([sys.executable, "-c", code + SETTLED], stdout=subprocess.PIPE)
    assert child.stdout is not None and child.stdout.readline() == b"settled\n"
    return child


def test_stop_kills_a_service_that_ignores_sigterm(tmp_path: Path) -> None:
    pipeline = Pipeline("amqp://unused", tmp_path)
    children = {
        "dedup": settled(STUBBORN),
        "notify": settled("pass"),
    }
    for name, child in children.items():
        pipeline[name].process = child
    try:
        assert pipeline.stop(patience=3) == ["dedup"]
        assert all(child.poll() is not None for child in children.values())
        assert children["notify"].returncode == -15
    finally:
        for child in children.values():
            if child.poll() is None:
                child.kill()
