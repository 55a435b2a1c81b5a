"""Service processes started the way production starts them, for kill -9 and restart tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx

from shared.polling import poll
from shared.settings import REPO_ROOT


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ServiceProcess:
    """``python -m services.<name> serve`` with its own environment and log file."""

    def __init__(
        self, name: str, env: dict[str, str], log_dir: Path, port: int | None = None
    ) -> None:
        self.name = name
        self.port = port or free_port()
        self.env = {**os.environ, **env, "SANGKIEN_HTTP_PORT": str(self.port)}
        self.log_path = log_dir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The process id, once started."""
        return self.process.pid if self.process is not None else None

    @property
    def base_url(self) -> str:
        """Where its HTTP API answers."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start the process (appending to its log)."""
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child
        self.process = subprocess.Popen(
            [sys.executable, "-m", f"services.{self.name}", "serve"],
            cwd=REPO_ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    async def wait_ready(self, timeout: float = 60.0) -> None:
        """Poll ``/ready`` until it answers 200."""
        async with httpx.AsyncClient(base_url=self.base_url, timeout=2.0) as client:

            async def ready() -> int:
                assert self.process is not None and self.process.poll() is None, self.logs()
                try:
                    return (await client.get("/ready")).status_code
                except httpx.TransportError:
                    return 0

            await poll(ready, lambda status: status == 200, timeout, f"{self.name} ready")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs."""
        self._signal(signal.SIGKILL)

    def terminate(self) -> None:
        """SIGTERM: graceful shutdown."""
        self._signal(signal.SIGTERM)

    def _signal(self, number: int) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(number)
            self.process.wait(timeout=30)

    def logs(self) -> str:
        """Everything the process wrote."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def create_api_key(env: dict[str, str], *, name: str, scope: str, review: bool = False) -> str:
    """A portal key made with the submission service's own command, as an operator would;
    ``review`` makes it a reviewer's key."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "services.submission",
            "keys",
            "create",
            "--name",
            name,
            "--scope",
            scope,
            *(["--review"] if review else []),
        ],
        cwd=REPO_ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return done.stdout.strip().splitlines()[-1]
