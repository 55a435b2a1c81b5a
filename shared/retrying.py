"""Waiting out a failure with backoff: the one way the project retries (tenacity underneath).

Every retry grows its wait exponentially up to a ceiling, with jitter, so that replicas that lost
the broker or the database together do not come back in step.
"""

from __future__ import annotations

from collections.abc import Callable

import structlog
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    retry_if_exception_type,
    stop_after_delay,
    stop_never,
    wait_exponential_jitter,
)

log = structlog.get_logger(__name__)

# The errors worth waiting out: exception types, or a test of the error.
Failure = type[BaseException] | tuple[type[BaseException], ...] | Callable[[BaseException], bool]


def retrying(
    event: str,
    *,
    on: Failure,
    give_up_after: float | None = None,
    escalate_after: float | None = None,
    first: float = 0.5,
    longest: float = 10.0,
    on_retry: Callable[[BaseException], None] | None = None,
    **context: object,
) -> AsyncRetrying:
    """Attempts of an operation that fails with ``on`` while something it needs is away.

    Use as ``async for attempt in retrying(...): with attempt: ...``. Waits grow from ``first``
    to ``longest`` seconds (plus up to half a second of jitter). Each failure is logged as
    ``event`` with ``context``: a warning, or an error once ``escalate_after`` seconds have
    passed. ``give_up_after`` seconds after the first attempt the last error is raised (never,
    by default). Any other error is raised at once.
    """

    def report(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        waited = state.seconds_since_start or 0.0
        late = escalate_after is not None and waited >= escalate_after
        (log.error if late else log.warning)(
            event,
            error=str(error)[:200],
            retry_in=round(state.upcoming_sleep, 2),
            waited_seconds=round(waited),
            **context,
        )
        if on_retry is not None and error is not None:
            on_retry(error)

    return AsyncRetrying(
        retry=(
            retry_if_exception_type(on) if isinstance(on, type | tuple) else retry_if_exception(on)
        ),
        wait=wait_exponential_jitter(multiplier=first, max=longest, jitter=0.5),
        stop=stop_never if give_up_after is None else stop_after_delay(give_up_after),
        before_sleep=report,
        reraise=True,
    )
