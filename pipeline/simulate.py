"""Sending a simulated campaign to any deployment: over HTTP batches or AMQP commands.

Deterministic by seed (the same submissions, the same idempotency keys: re-running a simulation
replays instead of duplicating), at a given rate or as fast as the system takes them.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from itertools import islice

import aio_pika
import httpx

from pipeline.campaign import Filed
from shared.contracts.envelope import utc_now
from shared.messaging.publishers import broker_user
from shared.retrying import retrying

Progress = Callable[[int], None]


def batched(items: Iterable[Filed], size: int) -> Iterator[tuple[Filed, ...]]:
    """``items`` in tuples of ``size`` (the last one shorter)."""
    iterator = iter(items)
    while chunk := tuple(islice(iterator, size)):
        yield chunk


class Pace:
    """Holds a sender to ``rate`` submissions per second (0: no limit)."""

    def __init__(self, rate: float) -> None:
        self._rate = rate
        self._started = time.monotonic()
        self._sent = 0

    async def wait(self, sending: int) -> None:
        """Sleep until ``sending`` more may go."""
        self._sent += sending
        if self._rate > 0:
            ahead = self._sent / self._rate - (time.monotonic() - self._started)
            if ahead > 0:
                await asyncio.sleep(ahead)


async def send_http(
    client: httpx.AsyncClient,
    api_key: str,
    filed: Iterable[Filed],
    *,
    batch: int = 100,
    rate: float = 0,
    concurrency: int = 4,
    retry_for: float = 0,
    progress: Progress = lambda _n: None,
) -> Counter[str]:
    """POST the campaign in batches; returns the count of each item outcome.

    With ``retry_for`` a batch that fails (no answer, a 429 or a 5xx) is sent again for up to that
    many seconds, as a portal would: its keys make a re-sent item a replay, never a second one.
    """
    outcomes: Counter[str] = Counter()
    pace = Pace(rate)
    slots = asyncio.Semaphore(concurrency)

    async def post(items: tuple[Filed, ...]) -> None:
        body = {"items": [{"client_key": f.client_key, "submission": f.draft} for f in items]}
        async with slots:
            async for attempt in retrying(
                "batch_post_failed_retrying",
                on=(httpx.TransportError, httpx.HTTPStatusError),
                give_up_after=retry_for,
                first=0.2,
                longest=2.0,
            ):
                with attempt:
                    answer = await client.post(
                        "/v1/submissions/batch",
                        json=body,
                        headers={"X-API-Key": api_key},
                        timeout=120,
                    )
                    # Over the key's write limit (429) or a server away (5xx): later, same keys.
                    if answer.status_code == 429 or answer.status_code >= 500:
                        answer.raise_for_status()
        answer.raise_for_status()
        outcomes.update(answer.json()["summary"])
        progress(len(items))

    tasks: set[asyncio.Task[None]] = set()
    for items in batched(filed, batch):
        await pace.wait(len(items))
        while len(tasks) >= concurrency * 2:
            done, tasks = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()
        tasks.add(asyncio.create_task(post(items)))
    await asyncio.gather(*tasks)
    return outcomes


async def send_amqp(
    url: str,
    filed: Iterable[Filed],
    *,
    rate: float = 0,
    window: int = 500,
    progress: Progress = lambda _n: None,
) -> Counter[str]:
    """Publish ``submission.submit.v1`` commands (message id = idempotency key), confirmed in
    windows; the outcomes arrive later as received/rejected events."""
    pace = Pace(rate)
    sent: Counter[str] = Counter()
    connection = await aio_pika.connect_robust(url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange("sangkien.events")
        for items in batched(filed, window):
            await pace.wait(len(items))
            await asyncio.gather(
                *(
                    exchange.publish(
                        aio_pika.Message(
                            json.dumps(
                                {
                                    "message_id": f.client_key,
                                    "correlation_id": f.client_key,
                                    "occurred_at": utc_now().isoformat(),
                                    "submission": f.draft,
                                },
                                ensure_ascii=False,
                            ).encode(),
                            user_id=broker_user(url),
                            message_id=f.client_key,
                            correlation_id=f.client_key,
                            content_type="application/json",
                            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                            headers={"x-schema": "submission.submit", "x-schema-version": "1.0"},
                        ),
                        "submission.submit.v1",
                        mandatory=True,
                    )
                    for f in items
                )
            )
            sent["published"] += len(items)
            progress(len(items))
    return sent
