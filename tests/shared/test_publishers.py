"""Forged events: each broker user publishes only what it owns, and consumers check who did.

On the real broker with the production definitions (topic permissions, one user per service):
the broker itself refuses a user publishing another's routing key or claiming another's
``user_id``; a consumer dead-letters, with the reason, an event published by anyone but its
owner (here the operator, whom the broker lets publish anything).
"""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path

import aio_pika
import aiormq
import httpx
import pytest

from services.aggregation.app import create_app
from services.aggregation.settings import AggregationSettings
from shared.contracts.registry import CATALOG
from shared.messaging.definitions import OUT, VHOST
from shared.messaging.publishers import broker_user, publisher_problem
from shared.messaging.topology import AGGREGATION_SCREENED, OWNERS
from shared.polling import poll
from tests.support.broker import PrivateRabbit
from tests.support.events import facts, screened
from tests.support.publish import take_messages

SCREENED = "submission.screened.v1"


def test_every_event_of_the_catalog_has_an_owner() -> None:
    assert {model.routing_key() for model in CATALOG.models} == set(OWNERS)


@pytest.mark.parametrize(
    ("publisher", "own_user", "problem"),
    [
        ("dedup", "aggregation", None),  # the owner
        ("guest", "guest", None),  # one shared user: cannot tell, the broker decides
        ("portal", "aggregation", "published by user 'portal', not by 'dedup'"),
        (None, "aggregation", "a publisher that did not set user_id, not by 'dedup'"),
        ("operator", "aggregation", "published by user 'operator'"),
    ],
)
def test_who_may_publish_a_verdict(
    publisher: str | None, own_user: str, problem: str | None
) -> None:
    found = publisher_problem(SCREENED, publisher, own_user)
    assert found == problem or (problem is not None and found is not None and problem in found)


def test_the_user_of_a_url() -> None:
    assert broker_user("amqp://dedup:pw@host:5672/sangkien") == "dedup"
    assert broker_user("amqp://host/") == "guest"


@pytest.fixture
def production(rabbit: PrivateRabbit) -> str:
    """The production definitions loaded on the session's node; the operator's URL."""
    rabbit.ctl("import_definitions", str(OUT))
    for queue in (AGGREGATION_SCREENED.name, AGGREGATION_SCREENED.dead_letter_name):
        rabbit.ctl("purge_queue", "-p", VHOST, queue)
    return url(rabbit, "operator")


def url(rabbit: PrivateRabbit, user: str) -> str:
    return f"amqp://{user}:change-me-{user}@127.0.0.1:{rabbit.port}/{VHOST}"


async def publish(broker_url: str, routing_key: str, user_id: str | None) -> None:
    connection = await aio_pika.connect(broker_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange("sangkien.events", ensure=False)
        event = screened(facts(str(uuid.uuid4()), "ldld-ha-noi.h03.cs0002", date(2022, 3, 15)))
        await exchange.publish(
            aio_pika.Message(
                event.model_dump_json().encode(),
                message_id=event.message_id,
                content_type="application/json",
                headers=dict(event.schema_header()),
                user_id=user_id,
            ),
            routing_key=routing_key,
            mandatory=True,
        )


async def test_the_broker_refuses_a_user_publishing_what_it_does_not_own(
    rabbit: PrivateRabbit, production: str
) -> None:
    with pytest.raises(aiormq.exceptions.ChannelAccessRefused):
        await publish(url(rabbit, "portal"), SCREENED, user_id="portal")
    with pytest.raises(aiormq.exceptions.ChannelAccessRefused):
        await publish(url(rabbit, "aggregation"), SCREENED, user_id="aggregation")


async def test_the_broker_refuses_a_user_id_that_is_not_the_connections(
    rabbit: PrivateRabbit, production: str
) -> None:
    with pytest.raises(aiormq.exceptions.ChannelPreconditionFailed):
        await publish(url(rabbit, "portal"), "submission.submit.v1", user_id="submission")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_consumer_dead_letters_an_event_its_owner_did_not_publish(
    rabbit: PrivateRabbit, production: str, database_url: str, tmp_path: Path
) -> None:
    settings = AggregationSettings(
        broker_url=url(rabbit, "aggregation"),
        database_url=database_url,
        declare_topology=False,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://a") as http:
            await poll(lambda: http.get("/ready"), lambda r: r.status_code == 200, 60, "ready")
            await publish(production, SCREENED, user_id="operator")
            await publish(production, SCREENED, user_id=None)
            letters = await take_messages(production, AGGREGATION_SCREENED.dead_letter_name, 2)
            counted = (await http.get("/v1/unions/vn/progress")).json()["subtree"]["received"]
    reasons = sorted(str(m.headers["x-dead-letter-reason"]) for m in letters)
    assert "published by a publisher that did not set user_id" in reasons[0]
    assert "published by user 'operator', not by 'dedup'" in reasons[1]
    assert {m.headers["x-original-user-id"] for m in letters} == {"operator", ""}
    assert counted == 0
