"""Shapes of the subscriptions API."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, EmailStr, Field, HttpUrl

from services.notify.notices import NoticeState


class Reach(StrEnum):
    """Which milestones a subscription is told about."""

    OWN = "own"  # the union's own milestones
    SUBTREE = "subtree"  # the union's and every union's below it


class Webhook(BaseModel):
    """Where to POST notices, and the secret they are signed with."""

    model_config = ConfigDict(extra="forbid")

    url: HttpUrl
    secret: str = Field(min_length=16, max_length=200)


class SubscriptionRequest(BaseModel):
    """A new subscription: a webhook and/or e-mail addresses."""

    model_config = ConfigDict(extra="forbid")

    union_code: str = Field(max_length=100)
    reach: Reach = Reach.OWN
    webhook: Webhook | None = None
    emails: list[EmailStr] = Field(default_factory=list, max_length=20)


class SubscriptionView(BaseModel):
    """A subscription as stored (the webhook secret is never shown back)."""

    subscription_id: str
    union_code: str
    reach: Reach
    webhook_url: str | None
    emails: list[str]
    created_at: datetime


class AttemptView(BaseModel):
    """One delivery attempt."""

    number: int
    at: datetime
    ok: bool
    detail: str


class DeliveryView(BaseModel):
    """A notice to the subscriber and its attempts."""

    notification_id: str
    channel: str
    milestone_ids: list[str]
    status: NoticeState
    attempts: list[AttemptView]
    next_attempt_at: datetime | None
    created_at: datetime
