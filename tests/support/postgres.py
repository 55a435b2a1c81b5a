"""A private PostgreSQL 15 cluster for the test session (Debian's binaries, run as postgres)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import asyncpg

BIN = Path("/usr/lib/postgresql/15/bin")


class PrivatePostgres:
    """initdb + pg_ctl in a temporary folder, on loopback: trust authentication, or with
    ``password`` scram-sha-256 over TCP (superuser ``test`` with that password) as production."""

    def __init__(self, port: int, password: str | None = None) -> None:
        self.port = port
        self.password = password
        self.folder = Path(tempfile.mkdtemp(prefix="sangkien-pg-"))
        self.data = self.folder / "data"

    def _run(self, *args: str | Path) -> None:
        command = [str(a) for a in args]
        if os.geteuid() == 0:  # initdb and postgres refuse to run as root
            shutil.chown(self.folder, "postgres", "postgres")
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        """Create the cluster and start it; returns once it accepts connections."""
        if self.password is None:
            self._run(BIN / "initdb", "-D", self.data, "-A", "trust", "-U", "test")
        else:
            secret = self.folder / "superuser.pw"
            secret.write_text(self.password)
            self._run(
                BIN / "initdb",
                "-D",
                self.data,
                "-U",
                "test",
                "--pwfile",
                secret,
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
            )
        self.resume()

    def psql(self, script: Path, **variables: str) -> None:
        """Run an SQL script as the superuser with psql variables (``-v name=value``)."""
        command: list[str | Path] = [BIN / "psql", "-h", "127.0.0.1", "-p", str(self.port)]
        command += ["-U", "test", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-f", script]
        for name, value in variables.items():
            command += ["-v", f"{name}={value}"]
        subprocess.run(
            [str(part) for part in command],
            check=True,
            capture_output=True,
            timeout=60,
            env={**os.environ, "PGPASSWORD": self.password or ""},
        )

    def pause(self) -> None:
        """Stop the server, keeping its data (an outage)."""
        self._run(BIN / "pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop")

    def resume(self) -> None:
        """Start the server on its data; returns once it accepts connections."""
        options = f"-p {self.port} -k {self.folder} -h 127.0.0.1 -c fsync=off"
        log = self.folder / "log"
        self._run(BIN / "pg_ctl", "-D", self.data, "-o", options, "-l", log, "-w", "start")

    def stop(self) -> None:
        """Stop the cluster and remove its folder."""
        self.pause()
        shutil.rmtree(self.folder, ignore_errors=True)

    async def new_database(self) -> str:
        """A fresh, empty database; returns its SQLAlchemy async URL."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        connection = await asyncpg.connect(
            host="127.0.0.1", port=self.port, user="test", database="postgres"
        )
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()
        return f"postgresql+asyncpg://test@127.0.0.1:{self.port}/{name}"
