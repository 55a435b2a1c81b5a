"""The run command's webhook receiver: ``examples/webhook_receiver.py`` as a process of its own,
subscribed to the national node's milestones, so that a newcomer sees a notice arrive, its
signature verified, as a union's system would receive it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from shared.settings import REPO_ROOT

LOG = "webhook_receiver.log"
ACCESS_LOG = "webhook_receiver.access.log"


def start_receiver(run_dir: Path, port: int, secret: str) -> subprocess.Popen[bytes]:
    """Start the example receiver on loopback ``port``; the notices it verifies go to its log,
    its access and error lines to a log of their own."""
    log = open(run_dir / LOG, "ab")  # noqa: SIM115 - handed to the child
    access = open(run_dir / ACCESS_LOG, "ab")  # noqa: SIM115 - handed to the child
    return subprocess.Popen(
        [sys.executable, "-u", "-m", "pipeline.receiver", secret, str(port)],
        cwd=REPO_ROOT,
        env={**os.environ, "SANGKIEN_SUPERVISOR_PID": str(os.getpid())},
        stdout=log,
        stderr=access,
    )


async def subscribe(notify_url: str, notify_key: str, receiver_url: str, secret: str) -> None:
    """Subscribe the receiver to the national node's own milestones."""
    async with httpx.AsyncClient(base_url=notify_url, timeout=10) as client:
        answer = await client.post(
            "/v1/subscriptions",
            json={
                "union_code": "vn",
                "reach": "own",
                "webhook": {"url": receiver_url, "secret": secret},
            },
            headers={"X-API-Key": notify_key},
        )
    answer.raise_for_status()


def notices_received(run_dir: Path, last: int = 5) -> list[str]:
    """The last notices the receiver verified and printed, newest last."""
    try:
        lines = (run_dir / LOG).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    return [line for line in lines if line.strip()][-last:]


if __name__ == "__main__":
    # Like the services, the receiver stops when the run command that started it dies, even by
    # SIGKILL: the example itself knows nothing of supervisors.
    from examples.webhook_receiver import main
    from shared.supervision import stop_with

    stop_with(int(os.environ["SANGKIEN_SUPERVISOR_PID"]))
    main(sys.argv[1], int(sys.argv[2]))
