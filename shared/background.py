"""Background loops of a service process (relay, snapshots, dispatcher, lease, retention),
started and stopped the one same way."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


class Loop:
    """``run`` as a named task: ``start`` starts it, ``stop`` cancels it and waits for its end."""

    def __init__(self, name: str, run: Callable[[], Awaitable[None]]) -> None:
        self._name = name
        self._run = run
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Run in the background."""
        self._task = asyncio.ensure_future(self._run())
        self._task.set_name(self._name)

    async def stop(self) -> None:
        """Cancel the task (if it runs) and wait until it has ended."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
