"""Service processes started the way production starts them, for kill -9 and restart tests."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from shared.polling import poll
from shared.settings import REPO_ROOT


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def free_ports(count: int) -> int:
    """The first of ``count`` consecutive loopback ports nobody listens on right now, below the
    kernel's ephemeral range (its neighbours may be some connection's own port there)."""
    rng = random.Random()
    for _ in range(200):
        first = rng.randrange(20_000, 32_000 - count)
        try:
            with contextlib.ExitStack() as held:
                for port in range(first, first + count):
                    probe = held.enter_context(socket.socket())
                    probe.bind(("127.0.0.1", port))
        except OSError:
            continue
        return first
    raise RuntimeError(f"no {count} consecutive free ports found")


# What the processes started here run in unless told otherwise: on one machine, with the
# embedded defaults, whose placeholder secrets only development mode accepts.
DEVELOPMENT = {"SANGKIEN_DEVELOPMENT": "true"}


def running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie waiting to be reaped is not)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "State:\tZ" not in status


class ServiceProcess:
    """``python -m services.<name> serve`` (or ``module``: a test's wrapper of it) with its own
    environment and log file."""

    def __init__(
        self,
        name: str,
        env: dict[str, str],
        log_dir: Path,
        port: int | None = None,
        module: str | None = None,
    ) -> None:
        self.name = name
        self.module = module or f"services.{name}"
        self.port = port or free_port()
        self.env = {
            **os.environ,
            "SANGKIEN_SUPERVISOR_PID": str(os.getpid()),
            **DEVELOPMENT,
            **env,
            "SANGKIEN_HTTP_PORT": str(self.port),
        }
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
            [sys.executable, "-m", self.module, "serve"],
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


def create_api_key(
    env: dict[str, str],
    *,
    name: str,
    scope: str,
    review: bool = False,
    service: str = "submission",
    broker_user: str | None = None,
    manage_reference: bool = False,
) -> str:
    """A key made with a service's own command, as an operator would: a portal key of the
    submission service (``review``: a reviewer's; ``broker_user``: the portal's AMQP commands
    come from that user; ``manage_reference``: a union office's), or a subscriptions key of
    notify."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            f"services.{service}",
            "keys",
            "create",
            "--name",
            name,
            "--scope",
            scope,
            *(["--review"] if review else []),
            *(["--broker-user", broker_user] if broker_user else []),
            *(["--manage-reference"] if manage_reference else []),
        ],
        cwd=REPO_ROOT,
        env={**os.environ, **DEVELOPMENT, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return done.stdout.strip().splitlines()[-1]


SERVICES = ("submission", "dedup", "aggregation", "notify")


class Pipeline:
    """The four services as processes on one broker, each on its own SQLite database in
    ``run_dir``; ``env`` adds settings every service gets."""

    def __init__(
        self,
        broker_url: str,
        run_dir: Path,
        env: dict[str, str] | None = None,
        first_port: int | None = None,
    ) -> None:
        self.run_dir = run_dir
        self.broker_url = broker_url
        self.processes: dict[str, ServiceProcess] = {}
        for offset, name in enumerate(SERVICES):
            database = f"sqlite+aiosqlite:///{run_dir / f'{name}.sqlite3'}"
            self.processes[name] = ServiceProcess(
                name,
                {
                    **(env or {}),
                    "SANGKIEN_BROKER_URL": broker_url,
                    "SANGKIEN_DATABASE_URL": database,
                },
                run_dir,
                port=first_port + offset if first_port is not None else None,
            )

    def __getitem__(self, name: str) -> ServiceProcess:
        return self.processes[name]

    def base_urls(self, name: str) -> list[str]:
        """Where service ``name`` answers (one process each here)."""
        return [self.processes[name].base_url]

    def start(self) -> None:
        """Start every service."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        for process in self.processes.values():
            process.start()

    async def wait_ready(self, timeout: float = 120.0) -> None:
        """Wait until every service is ready."""
        for process in self.processes.values():
            await process.wait_ready(timeout=timeout)

    def stop(self, patience: float = 30.0) -> list[str]:
        """SIGTERM every running service at once; any still running ``patience`` seconds later
        is killed. Returns the names of those it had to kill."""
        stopping = [
            (process.name, process.process)
            for process in self.processes.values()
            if process.process is not None and process.process.poll() is None
        ]
        for _name, child in stopping:
            child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + patience
        killed = []
        for name, child in stopping:
            try:
                child.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
                killed.append(name)
        return killed

    def database_env(self, name: str) -> dict[str, str]:
        """The settings a command of service ``name`` needs to reach its database."""
        process = self.processes[name]
        return {
            key: process.env[key]
            for key in ("SANGKIEN_DATABASE_URL", "SANGKIEN_REFERENCE_DIR")
            if key in process.env
        }
