"""What a write must pass before its body is read: a valid key, then the key's write limit."""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from typing import Any

from shared.http import BodyGuard
from shared.ratelimit import TokenBuckets


def test_a_key_writes_its_burst_at_once_then_at_its_rate() -> None:
    buckets = TokenBuckets(rate=0.5, burst=3)
    assert [buckets.take("k", now=100.0) for _ in range(4)] == [0, 0, 0, 2]
    assert buckets.take("other", now=100.0) == 0  # each key has its own bucket
    assert buckets.take("k", now=101.0) == 1  # half a token back: one second to go
    assert buckets.take("k", now=102.0) == 0


class Downstream:
    """The app behind the guard: records whether it was reached."""

    def __init__(self) -> None:
        self.reached = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.reached += 1
        await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})


def write(key: str | None) -> dict[str, Any]:
    headers = [(b"content-type", b"application/json"), (b"content-length", b"1000000000")]
    if key is not None:
        headers.append((b"x-api-key", key.encode()))
    return {"type": "http", "method": "POST", "path": "/v1/submissions", "headers": headers}


async def answer(guard: BodyGuard, scope: dict[str, Any], body_arrives: bool) -> dict[str, Any]:
    """The guard's answer; when the body never arrives, reading it would hang the request."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if not body_arrives:
            await asyncio.Event().wait()
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))

    await asyncio.wait_for(guard(scope, receive, send), 10)
    start = sent[0]
    return {"status": start["status"], "headers": dict(start["headers"]), "body": sent[1]["body"]}


async def test_a_write_without_a_valid_key_is_refused_before_its_body_is_read() -> None:
    async def admit(presented: str | None) -> str | None:
        return "key-1" if presented == "good" else None

    downstream = Downstream()
    guard = BodyGuard(downstream, max_bytes=2**40, admit=admit)
    for key in (None, "wrong"):
        refused = await answer(guard, write(key), body_arrives=False)
        assert refused["status"] == 401 and b"X-API-Key" in refused["body"]
    assert downstream.reached == 0


async def test_a_key_over_its_write_limit_is_told_when_to_come_back() -> None:
    async def admit(presented: str | None) -> str | None:
        return presented

    downstream = Downstream()
    guard = BodyGuard(downstream, 2**40, admit=admit, limits=TokenBuckets(rate=0.1, burst=2))
    statuses = [(await answer(guard, write("a"), body_arrives=True))["status"] for _ in range(2)]
    limited = await answer(guard, write("a"), body_arrives=False)
    other = await answer(guard, write("b"), body_arrives=True)
    assert statuses == [201, 201] and other["status"] == 201
    assert limited["status"] == 429 and limited["headers"][b"retry-after"] == b"10"
    assert downstream.reached == 3
