"""The aggregation service as a real process: SIGKILL between commit and ack never double counts,
and its ledger process comes and goes with it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from datetime import date
from pathlib import Path

import httpx

from pipeline.processes import ServiceProcess, running
from pipeline.tap import Tap
from shared.contracts.submission import ScreenedV1
from shared.polling import poll
from tests.support.broker import PrivateRabbit
from tests.support.events import facts, screened
from tests.support.metrics import consumed

QUEUE = "aggregation.submission.screened.v1"


def screened_in_one_union(prefix: str, count: int) -> list[ScreenedV1]:
    """``count`` unique submissions of one grassroots union over 20 days of March 2022."""
    return [
        screened(facts(f"{prefix}{n}", "ldld-ha-noi.h03.cs0001", date(2022, 3, 1 + n % 20)))
        for n in range(count)
    ]


async def publish(broker_url: str, events: list[ScreenedV1]) -> None:
    """Publish ``events`` to the events exchange, each with its message id."""
    async with Tap(broker_url, ()) as tap:
        for event in events:
            body = event.model_dump_json().encode()
            await tap.publish(event.routing_key(), body, event.message_id)


def ledger_pids(service: ServiceProcess) -> list[int]:
    """The ledger processes the service started, oldest first (from its JSON logs)."""
    return [
        json.loads(line)["pid"]
        for line in service.logs().splitlines()
        if '"ledger_process_started"' in line
    ]


async def test_redelivery_after_sigkill_between_commit_and_ack_does_not_double_count(
    rabbit: PrivateRabbit, broker_url: str, database_url: str, tmp_path: Path
) -> None:
    env = {
        "SANGKIEN_BROKER_URL": broker_url,
        "SANGKIEN_DATABASE_URL": database_url,
        "SANGKIEN_AGGREGATION_LINGER_SECONDS": "1.0",
    }
    holding = ServiceProcess("aggregation", env, tmp_path, module="tests.support.hold_before_ack")
    restarted = ServiceProcess("aggregation", env, tmp_path)
    events = screened_in_one_union("s", 40)
    holding.start()
    try:
        await holding.wait_ready()
        await publish(broker_url, events)
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
        held_ledger = ledger_pids(holding)[-1]
        holding.kill()
        # The ledger process sees its pipe close and exits: nothing is left behind.
        await poll(lambda: running(held_ledger), lambda alive: not alive, 30, "ledger gone")

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


async def test_a_killed_ledger_process_is_replaced_and_nothing_is_lost_or_counted_twice(
    broker_url: str, database_url: str, tmp_path: Path
) -> None:
    service = ServiceProcess(
        "aggregation",
        {
            "SANGKIEN_BROKER_URL": broker_url,
            "SANGKIEN_DATABASE_URL": database_url,
            # Small batches: the kill lands while later batches are still to come.
            "SANGKIEN_AGGREGATION_BATCH": "20",
        },
        tmp_path,
    )
    events = screened_in_one_union("k", 2000)
    service.start()
    try:
        await service.wait_ready()
        first = ledger_pids(service)[0]
        async with httpx.AsyncClient(base_url=service.base_url) as http:

            async def received() -> int:
                answer = await http.get("/v1/unions/vn/progress")
                return int(answer.json()["subtree"]["received"])

            await publish(broker_url, events[:1000])
            await poll(received, lambda n: n > 0, 30, "counting under way")
            os.kill(first, signal.SIGKILL)  # maybe mid-batch, at the latest before the next
            await publish(broker_url, events[1000:])
            await poll(received, lambda n: n >= len(events), 90, "every event counted")
            figures = (await http.get("/v1/unions/vn/progress")).json()["subtree"]
        assert figures["received"] == figures["counted"] == len(events)
        replacement = ledger_pids(service)[-1]
        assert replacement != first and running(replacement)
        assert "ledger_process_lost_restarting" in service.logs()
    finally:
        service.terminate()


async def test_sigterm_ends_open_board_streams_and_the_process(
    broker_url: str, database_url: str, tmp_path: Path
) -> None:
    service = ServiceProcess(
        "aggregation",
        {"SANGKIEN_BROKER_URL": broker_url, "SANGKIEN_DATABASE_URL": database_url},
        tmp_path,
    )
    service.start()
    try:
        await service.wait_ready()
        async with (
            httpx.AsyncClient(base_url=service.base_url, timeout=30) as http,
            http.stream("GET", "/v1/unions/vn/stream") as stream,
        ):
            assert stream.headers["content-type"].startswith("text/event-stream")
            lines = stream.aiter_lines()
            assert await anext(lines) == "event: progress"
            assert service.process is not None
            service.process.send_signal(signal.SIGTERM)
            # uvicorn waits for every open response before it stops: the stream must end.
            rest = [line async for line in lines]
            assert all(not line.startswith("event:") or line == "event: progress" for line in rest)
        # uvicorn shuts down, then lets the captured SIGTERM end the process.
        exit_code = await asyncio.to_thread(service.process.wait, 20)
        assert exit_code == -signal.SIGTERM, service.logs()
        assert "Application shutdown complete" in service.logs()
    finally:
        service.kill()
