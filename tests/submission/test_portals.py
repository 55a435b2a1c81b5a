"""Portals over AMQP, on the real broker with production definitions rendered for three portals.

Each portal's broker user is mapped to an API client: its commands are filed in that client's
unions, idempotent per portal, and answered on its own outcomes only; a reused message id with
another body is answered ``conflict``; a portal cannot read, bind to or forge another's
outcomes. A client in another language (Node.js, ``examples/portal-node``) files end to end.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aio_pika
import aiormq
import httpx
import pytest
import sqlalchemy as sa

from services.submission.app import create_app
from services.submission.auth import create_client
from services.submission.context import SubmissionContext
from services.submission.settings import SubmissionSettings
from services.submission.store import submissions
from shared.messaging.definitions import OPERATOR, SERVICES, VHOST, render
from shared.messaging.tables import OUTBOX
from shared.messaging.topology import EVENTS_EXCHANGE, portal_outcomes
from shared.polling import poll
from shared.settings import REPO_ROOT
from tests.support.broker import PrivateRabbit
from tests.support.drafts import HANOI_GRASSROOTS, draft
from tests.support.publish import publish_raw, submit_command

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

HANOI, DANANG = "ldld-ha-noi", "ldld-da-nang"
DANANG_GRASSROOTS = "ldld-da-nang.kcn.cs0001"
# portal-c is a broker user no API client is mapped to.
PORTALS = ("portal-a", "portal-b", "portal-c")
SCHEMA = {"x-schema": "submission.submit", "x-schema-version": "1.0"}
EXAMPLE = REPO_ROOT / "examples" / "portal-node"


def url(rabbit: PrivateRabbit, user: str) -> str:
    # The placeholder convention of the repository's definitions, so that other tests importing
    # those on the same node keep their passwords.
    return f"amqp://{user}:change-me-{user}@127.0.0.1:{rabbit.port}/{VHOST}"


@dataclass
class Portals:
    """The submission service on the production definitions, and the three portals' URLs."""

    rabbit: PrivateRabbit
    ctx: SubmissionContext

    def url(self, user: str) -> str:
        return url(self.rabbit, user)

    async def outbox_empty(self) -> None:
        async def left() -> int:
            async with self.ctx.runtime.sessions() as session:
                return int(
                    await session.scalar(sa.select(sa.func.count()).select_from(OUTBOX)) or 0
                )

        await poll(left, lambda n: n == 0, 30, "the outbox published")

    async def outcomes(self, portal: str) -> list[dict[str, Any]]:
        """Everything in the portal's outcomes queue now, read with the portal's own user,
        once every outcome is published (the outbox empty, confirms received)."""
        await self.outbox_empty()
        taken = []
        connection = await aio_pika.connect(self.url(portal))
        async with connection:
            channel = await connection.channel()
            queue = await channel.get_queue(portal_outcomes(portal).name, ensure=False)
            while (message := await queue.get(no_ack=True, fail=False)) is not None:
                taken.append({"address": message.routing_key, **json.loads(message.body)})
        return taken


@pytest.fixture
async def portals(
    rabbit: PrivateRabbit, database_url: str, tmp_path: Path
) -> AsyncIterator[Portals]:
    users = (*SERVICES, OPERATOR, *PORTALS)
    rendered = tmp_path / "definitions.json"
    rendered.write_text(render({user: f"change-me-{user}" for user in users}), encoding="utf-8")
    rabbit.ctl("import_definitions", str(rendered))
    for portal in PORTALS:
        rabbit.ctl("purge_queue", "-p", VHOST, portal_outcomes(portal).name)
    settings = SubmissionSettings(
        broker_url=url(rabbit, "submission"),
        database_url=database_url,
        declare_topology=False,
        relay_idle_seconds=0.1,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        ctx: SubmissionContext = app.state.ctx
        async with ctx.runtime.sessions() as session, session.begin():
            for portal, scope in (("portal-a", HANOI), ("portal-b", DANANG)):
                await create_client(
                    session,
                    name=portal,
                    scopes=[scope],
                    tree=ctx.reference.tree,
                    broker_user=portal,
                )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://s") as http:
            await poll(lambda: http.get("/ready"), lambda r: r.status_code == 200, 60, "ready")
        yield Portals(rabbit, ctx)


async def command(portals: Portals, portal: str, message_id: str, body: dict[str, Any]) -> None:
    await publish_raw(
        portals.url(portal),
        "submission.submit.v1",
        submit_command(message_id, body),
        message_id=message_id,
        headers=SCHEMA,
    )


def answers(outcomes: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Command id → what each answer said: the submission id, or the reasons' codes."""
    said: dict[str, list[str]] = {}
    for outcome in outcomes:
        what = outcome.get("submission_id") or ",".join(r["code"] for r in outcome["reasons"])
        said.setdefault(outcome["command_id"], []).append(what)
    return said


async def filed(portals: Portals) -> list[tuple[str, str]]:
    async with portals.ctx.runtime.sessions() as session:
        rows = await session.execute(
            sa.select(submissions.c.client_key, submissions.c.union_code).order_by(
                submissions.c.client_key, submissions.c.union_code
            )
        )
        return [tuple(row) for row in rows]


async def test_each_portal_files_in_its_scope_and_reads_only_its_own_outcomes(
    portals: Portals,
) -> None:
    await command(portals, "portal-a", "same-id", draft())
    await command(portals, "portal-b", "same-id", draft(union_code=DANANG_GRASSROOTS))
    await command(portals, "portal-a", "outside", draft(union_code=DANANG_GRASSROOTS))
    await command(portals, "portal-a", "same-id", draft(title="Một sáng kiến khác hẳn"))
    await command(portals, "portal-a", "same-id", draft())  # a re-send: nothing new
    await command(portals, "portal-c", "stray", draft())
    await command(portals, "portal-a", "last", draft(title="Sáng kiến cuối cùng của đợt"))
    await poll(lambda: filed(portals), lambda rows: len(rows) == 3, 30, "three filed")

    a, b, c = [await portals.outcomes(p) for p in PORTALS]
    said_to_a = answers(a)
    assert set(said_to_a) == {"same-id", "outside", "last"}
    same = said_to_a["same-id"]  # filed, then the other body answered as a conflict
    assert len(same) == 2 and "conflict" in same
    first = next(answer for answer in same if answer != "conflict")
    assert len(first) == 36  # the submission id
    assert said_to_a["outside"] == ["outside_scope"]
    assert {o["address"] for o in a} == {
        "submission.received.v1.portal-a",
        "submission.rejected.v1.portal-a",
    }
    assert {o["portal"] for o in a} == {"portal-a"}
    # The same message id from another portal is another submission, answered to that portal.
    assert [o["command_id"] for o in b] == ["same-id"] and b[0]["submission_id"] != first
    assert answers(c) == {"stray": ["unknown_portal"]}
    assert await filed(portals) == [
        ("last", HANOI_GRASSROOTS),
        ("same-id", DANANG_GRASSROOTS),
        ("same-id", HANOI_GRASSROOTS),
    ]


async def test_a_portal_cannot_declare_bind_read_or_forge_what_is_anothers(
    portals: Portals,
) -> None:
    async def attempt(action: Any) -> None:
        connection = await aio_pika.connect(portals.url("portal-b"))
        async with connection:
            channel = await connection.channel(publisher_confirms=True)
            await action(channel)

    async def declare_under_anothers_name(channel: aio_pika.abc.AbstractChannel) -> None:
        await channel.declare_queue("portal-a.spy", exclusive=True)

    def bind_own_queue_to(key: str) -> Any:
        async def bind(channel: aio_pika.abc.AbstractChannel) -> None:
            queue = await channel.declare_queue("portal-b.spy", exclusive=True)
            await queue.bind(EVENTS_EXCHANGE.name, key)

        return bind

    async def read_anothers_queue(channel: aio_pika.abc.AbstractChannel) -> None:
        queue = await channel.get_queue(portal_outcomes("portal-a").name, ensure=False)
        await queue.get(fail=False)

    async def forge_an_outcome(channel: aio_pika.abc.AbstractChannel) -> None:
        exchange = await channel.get_exchange(EVENTS_EXCHANGE.name, ensure=False)
        await exchange.publish(
            aio_pika.Message(b"{}", user_id="portal-b"), "submission.received.v1.portal-b"
        )

    refused = (
        declare_under_anothers_name,
        bind_own_queue_to("submission.received.v1.portal-a"),
        bind_own_queue_to("submission.received.v1.#"),
        bind_own_queue_to("#"),
        read_anothers_queue,
        forge_an_outcome,
    )
    for action in refused:
        with pytest.raises(aiormq.exceptions.ChannelAccessRefused):
            await attempt(action)
    await attempt(bind_own_queue_to("submission.rejected.v1.portal-b"))  # its own: allowed


async def test_a_node_portal_written_from_the_schemas_files_end_to_end(
    portals: Portals, tmp_path: Path
) -> None:
    node = shutil.which("node")
    assert node is not None, "node is installed by scripts/test"
    assert (EXAMPLE / "node_modules").is_dir(), "scripts/test runs npm ci in examples/portal-node"
    commands = tmp_path / "commands.json"
    commands.write_text(
        json.dumps(
            [
                {"message_id": "node-1", "submission": draft()},
                {"message_id": "node-2", "submission": draft(title="Sáng kiến thứ hai từ Node")},
                {"message_id": "node-3", "submission": draft(union_code=DANANG_GRASSROOTS)},
                {"message_id": "node-4", "submission": draft(benefit_vnd="nhiều")},
            ]
        ),
        encoding="utf-8",
    )
    done = await asyncio.to_thread(
        subprocess.run,
        [node, str(EXAMPLE / "portal.mjs"), str(commands)],
        env={**os.environ, "SANGKIEN_AMQP_URL": portals.url("portal-a")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    said = {line["command_id"]: line for line in map(json.loads, done.stdout.splitlines())}
    assert said["node-1"]["outcome"] == said["node-2"]["outcome"] == "received"
    assert [r["code"] for r in said["node-3"]["reasons"]] == ["outside_scope"]
    assert said["node-4"]["outcome"] == "invalid"  # the schema caught it before sending
    stored = dict(await filed(portals))
    assert set(stored) == {"node-1", "node-2"}
