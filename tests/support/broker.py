"""The private RabbitMQ node of the test session, isolated per test by virtual host."""

from __future__ import annotations

import json
import os
import subprocess
import uuid

from shared.settings import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "rabbitmq.sh"


class PrivateRabbit:
    """A node started by ``scripts/rabbitmq.sh`` (or an existing broker, if a URL is given)."""

    def __init__(self, port: int) -> None:
        self.port = port

    def _script(self, *args: str, check: bool = True) -> str:
        done = subprocess.run(
            [str(SCRIPT), *args], capture_output=True, text=True, timeout=180, check=False
        )
        if check and done.returncode != 0:
            raise RuntimeError(f"rabbitmq.sh {' '.join(args)} failed: {done.stderr}{done.stdout}")
        return done.stdout

    def start(self, *, fresh: bool = False) -> None:
        """Start the node (``fresh``: without the vhosts of earlier sessions); wait until ready."""
        self._script("start", str(self.port), *(["--fresh"] if fresh else []))

    def stop(self) -> None:
        """Stop the node cleanly."""
        self._script("stop", str(self.port), check=False)

    def ctl(self, *args: str) -> str:
        """Run rabbitmqctl against the node."""
        return self._script("ctl", str(self.port), *args)

    def new_vhost(self) -> str:
        """A fresh virtual host with full permissions for guest; returns its AMQP URL."""
        vhost = f"t-{uuid.uuid4().hex[:10]}"
        self.ctl("add_vhost", vhost)
        self.ctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        return f"amqp://guest:guest@127.0.0.1:{self.port}/{vhost}"

    def queue_depths(self, url: str) -> dict[str, int]:
        """Ready + unacknowledged messages per queue of the URL's virtual host."""
        vhost = url.rsplit("/", 1)[1]
        out = self.ctl("list_queues", "-p", vhost, "--formatter", "json", "name", "messages")
        return {row["name"]: int(row["messages"]) for row in json.loads(out or "[]")}


def broker_port() -> int:
    """Port of the tests' node (not the demo's), overridable."""
    return int(os.environ.get("SANGKIEN_TEST_RABBIT_PORT", "5698"))
