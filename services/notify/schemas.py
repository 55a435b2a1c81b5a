"""Shapes of the subscriptions API."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import email_validator
from pydantic import BaseModel, ConfigDict, EmailStr, Field, HttpUrl, JsonValue

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


def _any_case(word: str) -> str:
    return "".join(f"[{c}{c.upper()}]" for c in word)


# E-mail addresses whose domain is a special-use name (RFC 6761: ``.test``, ``.local``…) can
# never be delivered: refused, as the schema states.
SPECIAL_USE = "|".join(_any_case(name) for name in email_validator.SPECIAL_USE_DOMAIN_NAMES)
DELIVERABLE_EMAIL: dict[str, JsonValue] = {
    "type": "string",
    "format": "email",
    "pattern": f"^(?!.*[@.](?:{SPECIAL_USE})$)",
    "description": "An address whose domain is not a special-use name (.test, .local…).",
}


class SubscriptionRequest(BaseModel):
    """A new subscription: a webhook and/or e-mail addresses (at least one of them)."""

    model_config = ConfigDict(
        extra="forbid",
        # The route answers ``no_channel`` (422) without either; the schema says so too.
        json_schema_extra={
            "anyOf": [
                {"required": ["webhook"], "properties": {"webhook": {"type": "object"}}},
                {"required": ["emails"], "properties": {"emails": {"minItems": 1}}},
            ]
        },
    )

    union_code: str = Field(max_length=100)
    reach: Reach = Reach.OWN
    webhook: Webhook | None = None
    emails: list[EmailStr] = Field(
        default_factory=list, max_length=20, json_schema_extra={"items": DELIVERABLE_EMAIL}
    )


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
