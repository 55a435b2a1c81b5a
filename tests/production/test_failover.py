"""The production shape, proven under faults.

A RabbitMQ cluster of three nodes loading the production definitions, every service with its
own least-privilege broker user and no permission to declare; PostgreSQL with one role and one
database per service, created by ``deploy/postgres/init.sql``, migrated by each service's
``migrate`` command; two replicas of every service, none in development mode. During a
simulated campaign: the active replica of each service is killed with SIGKILL, the broker node
leading the most quorum queues is stopped and brought back, PostgreSQL is restarted, and a union
office renames a union. At the end every count is exact, every milestone reached the subscriber
once, nothing is dead-lettered, every consumer is back and every replica serves the renamed
union's version of the reference data. Throughout, Prometheus and Alertmanager run with the
deployment's files: every dashboard panel's query returns data, and an alert fires while a
replica is down.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from functools import partial
from pathlib import Path

import httpx
import pytest

from pipeline.processes import SERVICES, ServiceProcess, create_api_key, free_port
from pipeline.simulate import send_http
from shared.messaging.topology import ALL_QUEUES, DEDUP_RECEIVED
from shared.polling import poll
from shared.settings import REPO_ROOT
from tests.support.campaign_run import CampaignRun, campaign_run
from tests.support.cluster import RabbitCluster, active_consumers
from tests.support.monitoring import Monitoring, dashboard_queries
from tests.support.postgres import PrivatePostgres
from tests.support.replicas import ReplicatedPipeline

COUNT = 20_000
RATE = 100  # submissions a second: the campaign lasts about as long as the faults take
RENAMED = "ldld-ha-noi.h03.cs0002"  # a union renamed while the campaign runs
DATABASE_OUTAGE = 5.0  # seconds PostgreSQL stays down
REPLICAS = 2


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RabbitCluster]:
    """Three RabbitMQ nodes formed into a cluster, definitions loaded."""
    first_port = int(os.environ.get("SANGKIEN_TEST_CLUSTER_PORT", "5811"))
    nodes = RabbitCluster(tmp_path_factory.mktemp("cluster"), first_port)
    nodes.start()
    yield nodes
    nodes.stop()


@pytest.fixture(scope="module")
def postgres_roles() -> Iterator[tuple[PrivatePostgres, dict[str, str]]]:
    """PostgreSQL with password authentication and the services' roles and databases made by
    the deployment's SQL; each service's database URL."""
    server = PrivatePostgres(free_port(), password=secrets.token_urlsafe(12))
    server.start()
    passwords = {service: secrets.token_urlsafe(12) for service in SERVICES}
    server.psql(
        REPO_ROOT / "deploy" / "postgres" / "init.sql",
        **{f"{service}_password": password for service, password in passwords.items()},
    )
    urls = {
        service: f"postgresql+asyncpg://{service}:{password}@127.0.0.1:{server.port}/{service}"
        for service, password in passwords.items()
    }
    yield server, urls
    server.stop()


def service_envs(database_urls: dict[str, str]) -> dict[str, dict[str, str]]:
    """Each service's production settings: its own database role, real secrets."""
    envs = {
        service: {
            "SANGKIEN_DEVELOPMENT": "false",
            "SANGKIEN_DECLARE_TOPOLOGY": "false",
            "SANGKIEN_MIGRATE_ON_START": "false",
            "SANGKIEN_DATABASE_URL": url,
            "SANGKIEN_DATABASE_POOL_SIZE": "3",
            "SANGKIEN_DATABASE_MAX_OVERFLOW": "3",
        }
        for service, url in database_urls.items()
    }
    envs["submission"]["SANGKIEN_AUTHOR_KEY_SECRET"] = secrets.token_urlsafe(24)
    return envs


def migrate(service: str, env: dict[str, str]) -> None:
    """The one-off job an operator runs before the replicas start."""
    subprocess.run(
        [sys.executable, "-m", f"services.{service}", "migrate"],
        cwd=REPO_ROOT,
        env={**os.environ, **env},
        check=True,
        capture_output=True,
        timeout=120,
    )


async def ready_checks(replica: ServiceProcess) -> dict[str, str]:
    """The replica's readiness checks (empty while it does not answer)."""
    try:
        async with httpx.AsyncClient(base_url=replica.base_url, timeout=3) as client:
            return dict((await client.get("/ready")).json()["checks"])
    except (httpx.TransportError, ValueError, KeyError):
        return {}


class Faults:
    """The faults of the run, one after another, each timed."""

    def __init__(self, run: CampaignRun, cluster: RabbitCluster, postgres: PrivatePostgres) -> None:
        self.run = run
        self.pipeline: ReplicatedPipeline = run.pipeline
        self.cluster = cluster
        self.postgres = postgres
        self.seconds: dict[str, float] = {}

    async def leaseholder(self, service: str) -> ServiceProcess | None:
        """The replica that holds the service's lease, if one does."""
        for replica in self.pipeline.replicas[service]:
            if (await ready_checks(replica)).get("lease") == "active":
                return replica
        return None

    def consuming(self, queue: str) -> list[ServiceProcess]:
        """The replicas the broker delivers ``queue`` to (by their connection names)."""
        names = active_consumers(self.cluster, queue, node=self.live_node())
        return [r for r in self.pipeline.all() if any(n.endswith(f":{r.pid}") for n in names)]

    def live_node(self) -> int:
        """A node that runs, to ask."""
        return self.cluster.running[0]

    async def kill_and_replace(
        self,
        service: str,
        victim: ServiceProcess,
        took_over: Callable[[], Awaitable[ServiceProcess | None]],
    ) -> None:
        """SIGKILL ``victim``; time until ``took_over()`` names another replica; restart it."""
        started = time.monotonic()
        victim.kill()
        await poll(
            took_over, lambda r: r is not None and r is not victim, 120, f"{service} takeover"
        )
        self.seconds[f"{service}: standby took over"] = time.monotonic() - started
        victim.start()
        await victim.wait_ready(timeout=180)

    async def aggregation_and_notify(self) -> None:
        for service in ("aggregation", "notify"):
            holder = partial(self.leaseholder, service)
            victim = await poll(holder, lambda found: found is not None, 60, f"{service} holder")
            await self.kill_and_replace(service, victim, holder)

    async def dedup(self) -> None:
        active = await poll(
            lambda: asyncio.to_thread(self.consuming, DEDUP_RECEIVED.name),
            lambda found: len(found) == 1,
            60,
            "the active screener",
        )

        async def screener() -> ServiceProcess | None:
            found = await asyncio.to_thread(self.consuming, DEDUP_RECEIVED.name)
            return found[0] if len(found) == 1 else None

        await self.kill_and_replace("dedup", active[0], screener)

    async def submission(self) -> None:
        """Both replicas take HTTP and consume; the portal's client passes over a dead one."""
        victim = self.pipeline.replicas["submission"][0]
        started = time.monotonic()
        victim.kill()
        async with self.run.client("submission") as client:
            await poll(
                lambda: client.get("/ready"), lambda r: r.status_code == 200, 60, "submission"
            )
        self.seconds["submission: other replica answering"] = time.monotonic() - started
        victim.start()
        await victim.wait_ready(timeout=180)

    async def broker_node(self) -> None:
        """Stop the node leading the most quorum queues; time until every queue has a leader
        again; bring it back."""
        leaders = await asyncio.to_thread(self.cluster.leaders)
        busiest = max(leaders, key=lambda name: leaders[name])
        index = next(i for i, n in enumerate(self.cluster.nodes) if n.name == busiest)
        started = time.monotonic()
        await asyncio.to_thread(self.cluster.stop_node, index)
        queues = leaders.total()  # every queue the definitions declare, with its dead letters

        def elsewhere() -> Counter[str]:
            return self.cluster.leaders(self.live_node())

        await poll(
            lambda: asyncio.to_thread(elsewhere),
            lambda got: busiest not in got and got.total() == queues,
            120,
            "new leaders",
        )
        # An upper bound: each look costs a CLI call of a second or two.
        self.seconds[f"broker: every queue led again without {busiest} within"] = (
            time.monotonic() - started
        )
        self.seconds[f"broker: queues {busiest} was leading"] = leaders[busiest]
        await asyncio.to_thread(self.cluster.start_node, index)
        back = time.monotonic()
        self.seconds["broker: node down for"] = back - started
        await self.pipeline.wait_ready(timeout=180)
        self.seconds["broker: every replica ready after the node came back"] = (
            time.monotonic() - back
        )

    async def database(self) -> None:
        """Stop PostgreSQL for a few seconds; time until every replica is ready again."""
        started = time.monotonic()
        await asyncio.to_thread(self.postgres.pause)
        await asyncio.sleep(DATABASE_OUTAGE)  # the outage itself, not a wait for something
        await asyncio.to_thread(self.postgres.resume)
        back = time.monotonic()
        self.seconds["postgres: down for"] = back - started
        await self.pipeline.wait_ready(timeout=180)
        self.seconds["postgres: every replica ready after it came back"] = time.monotonic() - back

    async def all(self) -> None:
        """Each fault once, after the campaign has begun."""
        await poll(self.run.national, lambda got: got.get("received", 0) >= 1000, 300, "start")
        await self.aggregation_and_notify()
        await self.dedup()
        await self.submission()
        await self.broker_node()
        await self.database()


@pytest.mark.timeout(2400)
async def test_the_production_shape_loses_nothing_when_replicas_nodes_and_the_database_fail(
    cluster: RabbitCluster,
    postgres_roles: tuple[PrivatePostgres, dict[str, str]],
    tmp_path: Path,
) -> None:
    postgres, database_urls = postgres_roles
    envs = service_envs(database_urls)
    for service, env in envs.items():
        await asyncio.to_thread(migrate, service, env)
    broker_urls = {s: [cluster.url(s, node=i) for i in range(REPLICAS)] for s in SERVICES}

    def replicated(run_dir: Path, extra: dict[str, str]) -> ReplicatedPipeline:
        merged = {service: {**extra, **env} for service, env in envs.items()}
        return ReplicatedPipeline(merged, broker_urls, run_dir, REPLICAS)

    started = time.monotonic()
    async with campaign_run(
        cluster.url("operator"), tmp_path, COUNT, seed=17, services=replicated
    ) as run:
        monitoring = Monitoring(tmp_path / "monitoring", scrape_targets(cluster, run.pipeline))
        await monitoring.start()
        try:
            faults = Faults(run, cluster, postgres)
            await campaign_under_faults(run, faults)
            await dashboards_and_alerts(run.pipeline, monitoring, faults)
        finally:
            monitoring.stop()
    faults.seconds["whole run"] = time.monotonic() - started
    report = "\n".join(f"  {name}: {value:.1f}" for name, value in faults.seconds.items())
    print(f"\nproduction shape, {COUNT} submissions:\n{report}\n{run.checked}")


def scrape_targets(cluster: RabbitCluster, pipeline: ReplicatedPipeline) -> dict[str, list[str]]:
    """What each scrape job of deploy/prometheus/prometheus.yml finds here."""
    nodes = [f"127.0.0.1:{node.prometheus_port}" for node in cluster.nodes]
    return {
        "rabbitmq": nodes,
        "rabbitmq-queues": nodes,
        **{s: [f"127.0.0.1:{r.port}" for r in pipeline.replicas[s]] for s in SERVICES},
    }


async def campaign_under_faults(run: CampaignRun, faults: Faults) -> None:
    """Send the campaign while the faults happen, with a reference change among the first
    filings; check everything came out right."""
    office = create_api_key(
        run.pipeline.database_env("submission"), name="office", scope="vn", manage_reference=True
    )
    async with run.client("submission") as client:
        renamed = await client.post(
            "/v1/reference/changes",
            json={
                "reason": "tên mới",
                "change": {"kind": "union_renamed", "code": RENAMED, "name": "Tên mới"},
            },
            headers={"X-API-Key": office},
        )
        assert renamed.status_code == 201, renamed.text
        sending = asyncio.create_task(
            send_http(client, run.portal_key, run.filed, rate=RATE, concurrency=2, retry_for=300)
        )
        await asyncio.wait_for(faults.all(), timeout=1200)
        faults.seconds["campaign still being sent when the faults ended"] = float(
            not sending.done()
        )
        outcomes = await sending
    assert outcomes["created"] + outcomes["replayed"] == COUNT
    assert set(outcomes) <= {"created", "replayed"}
    await run.pipeline.wait_ready(timeout=180)
    await run.wait_counted(timeout=600)
    # Two intake replicas publish from their own outboxes: screening order is not filing order.
    await run.adopt_verdicts(timeout=300, in_filing_order=False)
    await run.check_figures()
    await run.check_milestones(timeout=300)
    await run.check_dead_letters_empty()
    # A webhook is at least once on the wire: only an attempt cut short by the SIGKILL of
    # notify's active replica may be sent again (same Idempotency-Key).
    sent = Counter(r.idempotency_key for r in run.receiver.accepted)
    assert sum(n - 1 for n in sent.values()) <= 1, sent.most_common(3)
    for spec in ALL_QUEUES:
        if spec.name.split(".")[0] in SERVICES:
            consumers = await asyncio.to_thread(active_consumers, faults.cluster, spec.name)
            assert consumers, f"nobody consumes {spec.name}"
    # The change reached every replica of the services that follow reference data, published
    # and consumed by their least-privilege broker users.
    for service in ("submission", "aggregation", "notify"):
        for replica in run.pipeline.replicas[service]:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{replica.port}") as http:
                ready = (await http.get("/ready")).json()
            assert ready["reference_version"] == 1, (service, replica.port, ready)


async def dashboards_and_alerts(
    pipeline: ReplicatedPipeline, monitoring: Monitoring, faults: Faults
) -> None:
    """Every dashboard panel shows data; a replica killed raises ReplicaDown at Alertmanager."""
    empty = [
        title for title, expr in dashboard_queries().items() if not await monitoring.query(expr)
    ]
    assert not empty, f"panels without data: {empty}"
    victim = pipeline.replicas["submission"][1]
    address = f"127.0.0.1:{victim.port}"
    started = time.monotonic()
    victim.kill()
    try:
        alerts = await poll(
            lambda: monitoring.firing("ReplicaDown"),
            lambda found: any(a["instance"] == address for a in found),
            300,
            "ReplicaDown at Alertmanager",
        )
    finally:
        victim.start()
    alert = next(a for a in alerts if a["instance"] == address)
    assert (alert["service"], alert["severity"]) == ("submission", "warning")
    faults.seconds["monitoring: ReplicaDown at Alertmanager after the kill"] = (
        time.monotonic() - started
    )
    await victim.wait_ready(timeout=180)
