"""The aggregation service as a real process: SIGKILL between commit and ack never double counts."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import httpx

from pipeline.processes import ServiceProcess
from pipeline.tap import Tap
from shared.polling import poll
from tests.support.broker import PrivateRabbit
from tests.support.events import facts, screened
from tests.support.metrics import consumed

QUEUE = "aggregation.submission.screened.v1"


async def test_redelivery_after_sigkill_between_commit_and_ack_does_not_double_count(
    rabbit: PrivateRabbit, broker_url: str, database_url: str, tmp_path: Path
) -> None:
    env = {
        "SANGKIEN_BROKER_URL": broker_url,
        "SANGKIEN_DATABASE_URL": database_url,
        "SANGKIEN_AGGREGATION_LINGER_SECONDS": "1.0",
    }
    holding = ServiceProcess(
        "aggregation", {**env, "SANGKIEN_AGGREGATION_HOLD_AFTER_BATCHES": "1"}, tmp_path
    )
    restarted = ServiceProcess("aggregation", env, tmp_path)
    events = [
        screened(facts(f"s{n}", "ldld-ha-noi.h03.cs0001", date(2022, 3, 1 + n % 20)))
        for n in range(40)
    ]
    holding.start()
    try:
        await holding.wait_ready()
        async with Tap(broker_url, ()) as tap:
            for event in events:
                await tap.publish(
                    event.routing_key(), event.model_dump_json().encode(), event.message_id
                )
        await poll(holding.logs, lambda text: "holding_before_ack" in text, 30, "a held batch")
        async with httpx.AsyncClient(base_url=holding.base_url) as http:
            committed = (await http.get("/v1/unions/vn/progress")).json()["subtree"]["received"]
        assert committed > 0  # the batch is in the database…
        # …and none is acked (the broker's queue statistics lag by a few seconds: poll).
        await poll(
            lambda: rabbit.queue_depths(broker_url).get(QUEUE),
            lambda n: n == len(events),
            30,
            "every delivery still unacked",
        )
        holding.kill()

        restarted.start()
        await restarted.wait_ready()
        async with httpx.AsyncClient(base_url=restarted.base_url) as http:
            metrics = await poll(
                lambda: http.get("/metrics"),
                lambda r: consumed(r.text, QUEUE, "duplicate", "processed") == len(events),
                30,
                "every redelivery handled",
            )
            figures = (await http.get("/v1/unions/vn/progress")).json()["subtree"]
        assert figures["received"] == figures["counted"] == len(events)
        assert consumed(metrics.text, QUEUE, "duplicate") == committed  # redelivered, seen, skipped
        assert consumed(metrics.text, QUEUE, "processed") == len(events) - committed
    finally:
        holding.kill()
        restarted.terminate()
