"""The aggregation ledger in a process of its own, beside the process that receives the events.

Taking a delivery off the broker through aio-pika costs about as much CPU as counting it, and
both used to share the service's one event-loop thread: profiled at 300,000 events, that thread
was busy 80 % of the time, a third of it receiving. Now the service process receives, parses,
vets and acks the deliveries, and a child process applies each batch to the database (with its
own engine on the same database) and answers how many events changed anything. The two halves
run on different cores.

The child is spawned (never forked: the parent runs threads) and talks over a pipe. The parent
sends one batch at a time, its events as plain tuples (``counting.SubmissionEvent``); an empty
batch only brings the counters to the newest reference data (``ledger.follow_reference``). The child
answers ``("ready", None)`` once, then per batch ``("applied", n)``, ``("unreachable", reason)``
while the database cannot be reached or the parent replica has lost its lease (each transaction
is fenced: ``shared.lease``), or ``("failed", reason)``.
The child exits when the pipe closes, so a parent killed with SIGKILL leaves nothing behind.
A child that dies is started again; the batch it held is retried like any unreachable database
(the deliveries stay unacked), and since applying an event twice changes nothing, a batch the
child had committed before dying is harmless to apply again.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import signal
import traceback
from collections.abc import Sequence
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

import structlog

from services.aggregation.counting import SubmissionEvent
from services.aggregation.ledger import Tracked, apply_batch, follow_reference
from services.aggregation.settings import AggregationSettings
from services.aggregation.snapshots import tracking
from shared.contracts.submission import ReviewedV1, ScreenedV1
from shared.db import make_engine, make_sessionmaker
from shared.lease import fence
from shared.messaging.consumer import wait_and_retry
from shared.observability import configure_logging
from shared.reference.catalog import ReferenceData, load_reference
from shared.runtime import tune_garbage_collection

log = structlog.get_logger(__name__)
READY_SECONDS = 120.0


class LedgerUnavailable(OSError):
    """The ledger process cannot apply now (database unreachable, or the process died): the
    batch consumer waits and retries as for any unreachable database."""


class LedgerFailed(RuntimeError):
    """The ledger process could not apply a batch for another reason (its traceback inside)."""


class LedgerWorker:
    """The parent's handle on the ledger process: ``apply`` is a batch consumer's commit."""

    def __init__(self, settings: AggregationSettings, service: str, holder: str) -> None:
        self._settings = settings
        self._service = service
        self._holder = holder
        self._process: BaseProcess | None = None
        self._pipe: Connection | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        """Spawn the ledger process and wait until it has loaded its reference data."""
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        process = context.Process(
            target=serve,
            args=(child, self._settings, self._service, self._holder),
            name=f"{self._service}-ledger",
            daemon=True,
        )
        process.start()
        child.close()
        self._process, self._pipe = process, parent
        answer = await asyncio.wait_for(self._answer(), READY_SECONDS)
        if answer != ("ready", None):
            raise LedgerFailed(f"the ledger process did not start: {answer!r}")
        log.info("ledger_process_started", pid=process.pid)

    async def stop(self) -> None:
        """Close the pipe (the process then exits) and wait for the process."""
        if self._pipe is not None:
            self._pipe.close()
            self._pipe = None
        if self._process is not None:
            process, self._process = self._process, None
            await asyncio.to_thread(process.join, 10)
            if process.is_alive():
                process.kill()

    async def apply(self, events: Sequence[ScreenedV1 | ReviewedV1]) -> int:
        """Have the ledger process apply ``events``; how many changed anything."""
        if not events:
            return 0
        # Plain tuples: a named tuple would be rebuilt field by field in Python on the other side.
        return await self._request([tuple(SubmissionEvent.of(message)) for message in events])

    async def follow_reference(self) -> None:
        """Have the ledger process place the counted submissions by the newest reference data
        (a union moved or merged) without waiting for the next batch."""
        await self._request([])

    async def _request(self, request: list[tuple[Any, ...]]) -> int:
        async with self._lock:
            try:
                if self._pipe is None:
                    raise EOFError
                self._pipe.send(request)
                outcome, detail = await self._answer()
            except (EOFError, OSError) as lost:
                await self._restart()
                raise LedgerUnavailable(f"the ledger process was lost ({lost!r})") from lost
        if outcome == "applied":
            return int(detail)
        if outcome == "unreachable":
            raise LedgerUnavailable(detail)
        raise LedgerFailed(detail)

    async def _answer(self) -> tuple[str, Any]:
        """The next message from the child, read when the pipe is readable (never blocking the
        event loop); EOFError when the child is gone."""
        pipe = self._pipe
        assert pipe is not None
        loop = asyncio.get_running_loop()
        readable: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            if not readable.done():
                readable.set_result(None)

        loop.add_reader(pipe.fileno(), wake)
        try:
            await readable
        finally:
            loop.remove_reader(pipe.fileno())
        answer: tuple[str, Any] = pipe.recv()
        return answer

    async def _restart(self) -> None:
        code = self._process.exitcode if self._process is not None else None
        log.error("ledger_process_lost_restarting", exit_code=code)
        await self.stop()
        await self.start()


def serve(pipe: Connection, settings: AggregationSettings, service: str, holder: str) -> None:
    """The ledger process: apply each batch the pipe brings until the pipe closes, in
    transactions fenced by the lease of ``holder`` (the parent replica)."""
    # Ctrl-C reaches the whole process group: the parent shuts down and then closes the pipe.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    configure_logging(f"{service}-ledger", settings.log_level)
    asyncio.run(_serve(pipe, settings, service, holder))


async def _serve(
    pipe: Connection, settings: AggregationSettings, service: str, holder: str
) -> None:
    base = reference = load_reference(settings.reference_dir)
    engine = make_engine(
        settings.database_url_for(service),
        pool_size=1,
        max_overflow=0,
    )
    sessions = make_sessionmaker(engine)

    def tracked_of(reference: ReferenceData) -> Tracked:
        return tracking(reference, settings.aggregation_snapshot_all_unions)

    tracked = tracked_of(reference)
    tune_garbage_collection()
    pipe.send(("ready", None))
    try:
        while True:
            try:
                batch = pipe.recv()
            except EOFError:
                return
            try:
                events = [SubmissionEvent._make(fields) for fields in batch]
                async with sessions() as session, session.begin():
                    await fence(session, service, holder, settings.lease_seconds)
                    # A union added, moved or given a target since the last batch: one look a
                    # batch (an empty batch only looks).
                    latest = await follow_reference(session, base, reference, tracked_of)
                    if latest.version != reference.version:
                        reference, tracked = latest, tracked_of(latest)
                    fresh = await apply_batch(session, events, reference=reference, tracked=tracked)
            except Exception as error:
                if wait_and_retry(error):
                    pipe.send(("unreachable", str(error)[:500]))
                else:
                    pipe.send(("failed", traceback.format_exc()[-4000:]))
            else:
                pipe.send(("applied", fresh))
    finally:
        await engine.dispose()
