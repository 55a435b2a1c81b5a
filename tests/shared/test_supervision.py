"""A service whose consumer stops says so on /ready and exits for its supervisor to restart it;
a queue deleted under a running service makes it not ready (real processes, real broker)."""

from __future__ import annotations

import random
from pathlib import Path

import aio_pika
import httpx

from pipeline.processes import ServiceProcess
from pipeline.tap import Tap
from pipeline.texts import initiative
from shared.messaging.topology import DEDUP_RECEIVED, DEDUP_REVIEWED
from shared.polling import poll
from shared.supervision import EXIT_CONSUMER_STOPPED
from tests.support.events import received
from tests.support.metrics import consumed
from tests.support.publish import publish_raw, take_messages


def dedup_process(broker_url: str, tmp_path: Path) -> ServiceProcess:
    return ServiceProcess(
        "dedup",
        {
            "SANGKIEN_BROKER_URL": broker_url,
            "SANGKIEN_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'dedup.sqlite3'}",
        },
        tmp_path,
    )


async def delete_queue(broker_url: str, name: str) -> None:
    connection = await aio_pika.connect(broker_url)
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(name)


async def readiness(service: ServiceProcess) -> tuple[int, dict[str, str]]:
    async with httpx.AsyncClient(base_url=service.base_url, timeout=5) as http:
        try:
            answer = await http.get("/ready")
        except httpx.TransportError:
            return 0, {}
        return answer.status_code, answer.json()["checks"]


async def test_a_consumer_that_cannot_dead_letter_makes_the_service_exit_and_nothing_is_lost(
    broker_url: str, tmp_path: Path
) -> None:
    service = dedup_process(broker_url, tmp_path)
    event = received(initiative(random.Random(5)))
    service.start()
    try:
        await service.wait_ready()
        await delete_queue(broker_url, DEDUP_RECEIVED.dead_letter_name)
        await publish_raw(broker_url, "submission.received.v1", b"{not json", message_id="not-json")
        async with Tap(broker_url, ()) as tap:
            await tap.publish(
                event.routing_key(), event.model_dump_json().encode(), event.message_id
            )
        _, checks = await poll(
            lambda: readiness(service), lambda answer: answer[0] == 503, 30, "/ready 503"
        )
        assert checks[f"queue {DEDUP_RECEIVED.name}"].startswith("stopped:"), checks
        assert checks["database"] == checks["broker"] == "ok"
        assert service.process is not None
        assert service.process.wait(timeout=60) == EXIT_CONSUMER_STOPPED
        assert "consumer_stopped_exiting" in service.logs()
    finally:
        service.kill()

    restarted = dedup_process(broker_url, tmp_path)  # declares the dead-letter queue again
    restarted.start()
    try:
        await restarted.wait_ready()
        [letter] = await take_messages(broker_url, DEDUP_RECEIVED.dead_letter_name, 1)
        assert letter.message_id == "not-json"
        async with httpx.AsyncClient(base_url=restarted.base_url) as http:
            metrics = await poll(
                lambda: http.get("/metrics"),
                lambda r: consumed(r.text, DEDUP_RECEIVED.name, "processed") == 1,
                30,
                "the good submission screened",
            )
        assert consumed(metrics.text, DEDUP_RECEIVED.name, "duplicate") == 0
        assert consumed(metrics.text, DEDUP_RECEIVED.name, "dead_lettered") == 1
    finally:
        restarted.terminate()


async def test_a_queue_deleted_under_a_running_service_makes_it_not_ready(
    broker_url: str, tmp_path: Path
) -> None:
    service = dedup_process(broker_url, tmp_path)
    service.start()
    try:
        await service.wait_ready()
        await delete_queue(broker_url, DEDUP_REVIEWED.name)
        _, checks = await poll(
            lambda: readiness(service), lambda answer: answer[0] == 503, 30, "/ready 503"
        )
        assert checks[f"queue {DEDUP_REVIEWED.name}"] != "ok", checks
        assert checks[f"queue {DEDUP_RECEIVED.name}"] == "ok", checks
    finally:
        service.terminate()
