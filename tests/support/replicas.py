"""Replicas of every service, and a client that fails over between them as a load balancer does."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Mapping
from pathlib import Path

import httpx

from pipeline.processes import SERVICES, ServiceProcess


class Failover(httpx.AsyncBaseTransport):
    """Sends each request to the replicas in turn, passing over one that refuses connections
    (killed, restarting): what a load balancer in front of the replicas does."""

    def __init__(self, base_urls: list[str]) -> None:
        self._targets = [httpx.URL(url) for url in base_urls]
        self._turn = itertools.cycle(range(len(self._targets)))
        self._inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Try each replica once, starting with the next in turn."""
        first = next(self._turn)
        refused: httpx.ConnectError | None = None
        for offset in range(len(self._targets)):
            target = self._targets[(first + offset) % len(self._targets)]
            request.url = request.url.copy_with(host=target.host, port=target.port)
            try:
                return await self._inner.handle_async_request(request)
            except httpx.ConnectError as error:
                refused = error
        assert refused is not None
        raise refused

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self._inner.aclose()


def failover_client(base_urls: list[str], timeout: float = 30) -> httpx.AsyncClient:
    """An HTTP client of a service that has these replicas."""
    return httpx.AsyncClient(base_url=base_urls[0], transport=Failover(base_urls), timeout=timeout)


class ReplicatedPipeline:
    """``count`` replicas of each service as processes, each service with its own settings
    (``envs``: its database, its broker user, its secrets); ``broker_urls`` spreads the
    replicas over the broker's nodes (replica i connects to the i-th URL)."""

    def __init__(
        self,
        envs: Mapping[str, dict[str, str]],
        broker_urls: Mapping[str, list[str]],
        run_dir: Path,
        count: int = 2,
    ) -> None:
        self.run_dir = run_dir
        self.envs = envs
        self.replicas: dict[str, list[ServiceProcess]] = {
            name: [
                ServiceProcess(
                    f"{name}-{index}",
                    {**envs[name], "SANGKIEN_BROKER_URL": broker_urls[name][index]},
                    run_dir,
                    module=f"services.{name}",
                )
                for index in range(count)
            ]
            for name in SERVICES
        }

    def __getitem__(self, name: str) -> ServiceProcess:
        return self.replicas[name][0]

    def base_urls(self, name: str) -> list[str]:
        """Where each replica of service ``name`` answers."""
        return [replica.base_url for replica in self.replicas[name]]

    def database_env(self, name: str) -> dict[str, str]:
        """The settings a command of service ``name`` needs (all of the service's own)."""
        return dict(self.envs[name])

    def start(self) -> None:
        """Start every replica."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        for replica in self.all():
            replica.start()

    def all(self) -> list[ServiceProcess]:
        """Every replica of every service."""
        return [replica for replicas in self.replicas.values() for replica in replicas]

    async def wait_ready(self, timeout: float = 180.0) -> None:
        """Until every replica answers ``/ready`` with 200."""
        await asyncio.gather(*(replica.wait_ready(timeout) for replica in self.all()))

    def stop(self) -> None:
        """SIGTERM every replica."""
        for replica in self.all():
            replica.terminate()
