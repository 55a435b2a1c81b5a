"""Waiting for a condition with a deadline (never a bare sleep)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any


async def poll(
    probe: Callable[[], Any],
    done: Callable[[Any], bool],
    timeout: float,
    what: str,
    interval: float = 0.05,
) -> Any:
    """Call ``probe`` (sync or async) until ``done(result)``; TimeoutError at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if asyncio.iscoroutine(result):
            result = await result
        if done(result):
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up after {timeout}s waiting for {what}; last: {result!r}")
        await asyncio.sleep(interval)
