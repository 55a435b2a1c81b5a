"""A notice's life, as pure rules: its states, what an attempt leads to, the events it causes.

A notice is ``pending`` until an attempt delivers it (``delivered``), the last allowed attempt
fails (``failed``, kept for replay, which makes it ``pending`` again), or its subscription is
deleted first (``cancelled``). A failed attempt short of the last leaves it pending, due again
after an exponential backoff with jitter.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from shared.contracts.envelope import derived_message_id
from shared.contracts.notification import Channel, NotificationDeliveredV1, NotificationFailedV1


class NoticeState(StrEnum):
    """Where a notice stands (the ``status`` column of ``notifications``)."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts a notice gets and how long it waits between them."""

    max_attempts: int
    base_seconds: float
    max_seconds: float

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds before attempt ``attempt + 1``: exponential, capped, with jitter (50–100%)."""
        return min(self.max_seconds, self.base_seconds * 2 ** (attempt - 1)) * rng.uniform(0.5, 1)


@dataclass(frozen=True)
class AfterAttempt:
    """What an attempt leads to: the notice's new state, and when it is due again if pending."""

    state: NoticeState
    retry_in: float | None = None


def after_attempt(ok: bool, tries: int, policy: RetryPolicy, rng: random.Random) -> AfterAttempt:
    """The outcome of the ``tries``-th attempt of a pending notice."""
    if ok:
        return AfterAttempt(NoticeState.DELIVERED)
    if tries >= policy.max_attempts:
        return AfterAttempt(NoticeState.FAILED)
    return AfterAttempt(NoticeState.PENDING, policy.delay(tries, rng))


@dataclass(frozen=True)
class Attempted:
    """A notice after one more attempt, as its events tell it."""

    notification_id: str
    subscription_id: str
    channel: Channel
    milestone_ids: list[str]
    tries: int
    number: int  # in the attempt log, across replays
    at: datetime


def delivered_event(notice: Attempted) -> NotificationDeliveredV1:
    """``notification.delivered.v1`` of a notice (one per notice)."""
    return NotificationDeliveredV1.model_validate(
        {**_facts(notice), "message_id": derived_message_id(notice.notification_id, "delivered")}
    )


def failed_event(notice: Attempted, last_error: str) -> NotificationFailedV1:
    """``notification.failed.v1`` of a notice's last attempt (one per failure, replays too)."""
    return NotificationFailedV1.model_validate(
        {
            **_facts(notice),
            "message_id": derived_message_id(notice.notification_id, "failed", str(notice.number)),
            "last_error": last_error[:1000],
        }
    )


def _facts(notice: Attempted) -> dict[str, object]:
    return {
        "correlation_id": notice.notification_id,
        "occurred_at": notice.at,
        "notification_id": notice.notification_id,
        "subscription_id": notice.subscription_id,
        "channel": notice.channel,
        "milestone_ids": notice.milestone_ids,
        "attempts": notice.tries,
    }
