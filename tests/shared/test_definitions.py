"""Production broker definitions: generated from the topology, and enough to run on."""

from __future__ import annotations

import json

import httpx
import pytest

from pipeline.tap import Tap
from services.submission.app import create_app
from services.submission.auth import create_client
from services.submission.settings import SubmissionSettings
from shared.messaging.definitions import OUT, SAMPLE_PORTALS, VHOST, render
from shared.messaging.topology import ALL_QUEUES, portal_outcomes
from shared.polling import poll
from tests.support.broker import PrivateRabbit
from tests.support.drafts import draft


def test_committed_definitions_match_the_topology() -> None:
    assert OUT.read_text(encoding="utf-8") == render(), "run python -m shared.messaging.definitions"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_service_user_without_configure_permission_can_run(
    rabbit: PrivateRabbit, database_url: str
) -> None:
    rabbit.ctl("import_definitions", str(OUT))
    port = rabbit.port
    settings = SubmissionSettings(
        broker_url=f"amqp://submission:change-me-submission@127.0.0.1:{port}/{VHOST}",
        database_url=database_url,
        declare_topology=False,
        relay_idle_seconds=0.1,
    )
    operator = f"amqp://operator:change-me-operator@127.0.0.1:{port}/{VHOST}"
    app = create_app(settings)
    async with app.router.lifespan_context(app), Tap(operator, ("submission.received.v1",)) as tap:
        ctx = app.state.ctx
        async with ctx.runtime.sessions() as session, session.begin():
            key = await create_client(session, name="t", scopes=["vn"], tree=ctx.reference.tree)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://s") as http:
            await poll(lambda: http.get("/ready"), lambda r: r.status_code == 200, 60, "ready")
            created = await http.post(
                "/v1/submissions", json=draft(), headers={"X-API-Key": key, "Idempotency-Key": "k"}
            )
            assert created.status_code == 201, created.text
        await tap.wait_for(lambda d: d.body.get("submission_id") == created.json()["id"])


def test_dead_letter_queues_are_bounded_by_the_policy(rabbit: PrivateRabbit) -> None:
    rabbit.ctl("import_definitions", str(OUT))
    listed = rabbit.ctl("list_queues", "-p", VHOST, "name", "policy", "--formatter", "json")
    policies = {row["name"]: row["policy"] for row in json.loads(listed)}
    dead_letter_queues = [name for name in policies if name.endswith(".dlq")]
    # Other tests on this node may have imported definitions with portals of their own.
    specs = [*ALL_QUEUES, *(portal_outcomes(portal) for portal in SAMPLE_PORTALS)]
    assert {spec.dead_letter_name for spec in specs} <= set(dead_letter_queues)
    assert {policies[name] for name in dead_letter_queues} == {"dead-letters-bounded"}
    assert {policies[name] for name in policies if not name.endswith(".dlq")} == {""}
