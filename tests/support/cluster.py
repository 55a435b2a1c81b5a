"""A three-node RabbitMQ cluster on loopback, configured from ``deploy/rabbitmq`` as production is.

Each node runs Debian's ``rabbitmq-server`` with the repository's ``rabbitmq.conf`` and enabled
plugins, loads the definitions rendered with this cluster's own passwords, and keeps its own node
name, ports and data folder. All share one Erlang cookie and one epmd port, which clustering on
one machine needs (docs/operations.md). The quorum queues, declared when the first node booted
alone, are then grown onto the other two and their leaders spread, as an operator does when
adding nodes.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx

from shared.messaging.definitions import USERS, VHOST, render
from shared.settings import REPO_ROOT

BIN = Path("/usr/lib/rabbitmq/bin")
DEPLOY = REPO_ROOT / "deploy" / "rabbitmq"


@dataclass(frozen=True)
class Node:
    """One node: its AMQP port and what derives from it."""

    port: int
    folder: Path

    @property
    def name(self) -> str:
        """The Erlang node name."""
        return f"sk{self.port}@localhost"

    @property
    def prometheus_port(self) -> int:
        """Where the node's prometheus plugin listens."""
        return self.port + 2

    @property
    def management_port(self) -> int:
        """Where the node's management API listens."""
        return self.port + 1


class RabbitCluster:
    """Three nodes with AMQP ports ``first_port``, +10 and +20 (see the module docstring)."""

    def __init__(self, folder: Path, first_port: int) -> None:
        self.folder = folder
        self.epmd_port = first_port + 30_005
        self.nodes = [Node(first_port + 10 * i, folder / f"node{i}") for i in range(3)]
        self.passwords = {user: secrets.token_urlsafe(12) for user in USERS}
        self._servers: dict[str, subprocess.Popen[bytes]] = {}

    @property
    def running(self) -> list[int]:
        """The nodes started and not stopped."""
        return [i for i, node in enumerate(self.nodes) if node.name in self._servers]

    def url(self, user: str, node: int = 0) -> str:
        """The AMQP URL of ``user`` on one node, in the production virtual host."""
        port = self.nodes[node].port
        return f"amqp://{user}:{self.passwords[user]}@127.0.0.1:{port}/{VHOST}"

    def _env(self, node: Node) -> dict[str, str]:
        return {
            **os.environ,
            "HOME": str(node.folder / "home"),
            "RABBITMQ_NODENAME": node.name,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(node.port),
            "RABBITMQ_DIST_PORT": str(node.port + 20_000),
            "ERL_EPMD_PORT": str(self.epmd_port),
            "ERL_CRASH_DUMP": str(node.folder / "erl_crash.dump"),
            "RABBITMQ_MNESIA_BASE": str(node.folder / "mnesia"),
            "RABBITMQ_LOG_BASE": str(node.folder / "log"),
            "RABBITMQ_PID_FILE": str(node.folder / "rabbit.pid"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(DEPLOY / "enabled_plugins"),
            "RABBITMQ_CONFIG_FILE": str(node.folder / "rabbitmq"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(node.folder / "advanced.config"),
        }

    def _configure(self, node: Node, definitions: Path, cookie: str) -> None:
        home = node.folder / "home"
        home.mkdir(parents=True, exist_ok=True)
        cookie_file = home / ".erlang.cookie"
        cookie_file.write_text(cookie)
        cookie_file.chmod(0o400)
        conf = (
            (DEPLOY / "rabbitmq.conf")
            .read_text()
            .replace("/etc/rabbitmq/definitions.json", str(definitions))
        )
        conf += (
            f"management.tcp.ip = 127.0.0.1\nmanagement.tcp.port = {node.management_port}\n"
            f"prometheus.tcp.ip = 127.0.0.1\nprometheus.tcp.port = {node.prometheus_port}\n"
            "log.console = false\nlog.file.level = warning\n"
        )
        (node.folder / "rabbitmq.conf").write_text(conf)
        (node.folder / "advanced.config").write_text("[].\n")

    def ctl(self, node: int, *args: str, tool: str = "rabbitmqctl") -> str:
        """Run a RabbitMQ CLI tool against one node; its output."""
        target = self.nodes[node]
        done = subprocess.run(
            [str(BIN / tool), "-n", target.name, *args],
            env=self._env(target),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{tool} {' '.join(args)} on {target.name}: {done.stderr}")
        return done.stdout

    def start(self) -> None:
        """Start the three nodes, form the cluster, spread the quorum queues over it."""
        self.folder.mkdir(parents=True, exist_ok=True)
        definitions = self.folder / "definitions.json"
        definitions.write_text(render(self.passwords))
        cookie = secrets.token_hex(16)
        for node in self.nodes:
            self._configure(node, definitions, cookie)
        self.start_node(0)
        for index in (1, 2):
            self.start_node(index)
            self.ctl(index, "stop_app")
            self.ctl(index, "reset")
            self.ctl(index, "join_cluster", self.nodes[0].name)
            self.ctl(index, "start_app")
        for index in (1, 2):
            self.ctl(0, "grow", self.nodes[index].name, "all", tool="rabbitmq-queues")
        self.ctl(0, "rebalance", "quorum", tool="rabbitmq-queues")

    def start_node(self, index: int) -> None:
        """Start one node (again) and wait until it runs."""
        node = self.nodes[index]
        (node.folder / "log").mkdir(parents=True, exist_ok=True)
        log = open(node.folder / "log" / "startup.out", "ab")  # noqa: SIM115 - the child's
        self._servers[node.name] = subprocess.Popen(
            [str(BIN / "rabbitmq-server")],
            env=self._env(node),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 180
        while True:
            try:
                # Fails at once until the node has registered with epmd.
                self.ctl(index, "await_startup", "--timeout", "180")
                return
            except RuntimeError:
                if time.monotonic() > deadline or self._servers[node.name].poll() is not None:
                    raise
            time.sleep(0.5)

    def stop_node(self, index: int) -> None:
        """Stop one node cleanly (the others keep serving what has a majority)."""
        node = self.nodes[index]
        self.ctl(index, "stop", str(node.folder / "rabbit.pid"))
        server = self._servers.pop(node.name, None)
        if server is not None:
            server.wait(timeout=60)

    def stop(self) -> None:
        """Stop every node and the shared epmd; remove the data."""
        for index, node in enumerate(self.nodes):
            if node.name in self._servers:
                try:
                    self.stop_node(index)
                except (RuntimeError, subprocess.TimeoutExpired):
                    self._servers.pop(node.name).kill()
        subprocess.run(
            ["epmd", "-kill"],
            env={**os.environ, "ERL_EPMD_PORT": str(self.epmd_port)},
            capture_output=True,
            check=False,
        )
        shutil.rmtree(self.folder, ignore_errors=True)

    def _queues(self, node: int, *columns: str) -> list[dict[str, object]]:
        out = self.ctl(node, "list_queues", "-p", VHOST, "--formatter", "json", *columns)
        rows: list[dict[str, object]] = json.loads(out or "[]")
        return rows

    def leaders(self, node: int = 0) -> Counter[str]:
        """How many quorum queues each node leads."""
        return Counter(str(row["leader"]) for row in self._queues(node, "name", "leader"))

    def members(self, node: int = 0) -> dict[str, list[str]]:
        """Each queue's member nodes."""
        rows = self._queues(node, "name", "members")
        return {str(row["name"]): list(row["members"]) for row in rows}  # type: ignore[call-overload]

    def depths(self, node: int = 0) -> dict[str, int]:
        """Messages (ready and unacked) per queue."""
        rows = self._queues(node, "name", "messages")
        return {str(row["name"]): int(row["messages"]) for row in rows}  # type: ignore[call-overload]


def active_consumers(cluster: RabbitCluster, queue: str, node: int = 0) -> list[str]:
    """Client-given connection names of the consumers the broker delivers ``queue``'s messages
    to (with single active consumer, the active one), from the management API as operator."""
    api = f"http://127.0.0.1:{cluster.nodes[node].management_port}/api"
    auth = ("operator", cluster.passwords["operator"])
    found = httpx.get(f"{api}/queues/{VHOST}/{queue}", auth=auth, timeout=10)
    found.raise_for_status()
    connections = httpx.get(f"{api}/connections", auth=auth, timeout=10)
    connections.raise_for_status()
    named = {
        c["name"]: c.get("client_properties", {}).get("connection_name", "")
        for c in connections.json()
    }
    return [
        str(named.get(consumer["channel_details"]["connection_name"], ""))
        for consumer in found.json().get("consumer_details", [])
        if consumer.get("active", True)
    ]
