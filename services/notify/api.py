"""HTTP routes of the notify service: subscriptions, their delivery log, replays.

Every route needs an ``X-API-Key`` (``python -m services.notify keys create``) that covers the
subscription's union: a federation manages the subscriptions of its own subtree.
"""

from __future__ import annotations

import uuid
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request, Response, Security
from fastapi.security import APIKeyHeader

from services.notify import notice_store
from services.notify.addresses import RefusedUrl, vet_webhook_url
from services.notify.auth import Client
from services.notify.context import NotifyContext
from services.notify.notices import NoticeState
from services.notify.schemas import (
    AttemptView,
    DeliveryView,
    Reach,
    SubscriptionRequest,
    SubscriptionView,
)
from services.notify.store import attempts, notifications, subscriptions
from shared.contracts.envelope import utc_now
from shared.http import ApiError, require_key

router = APIRouter(prefix="/v1", tags=["subscriptions"])
api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="skn_<id>_<secret>")


def context(request: Request) -> NotifyContext:
    """The service's composition root, set on the app at start-up."""
    ctx: NotifyContext = request.app.state.ctx
    return ctx


Ctx = Annotated[NotifyContext, Depends(context)]


async def client(ctx: Ctx, key: Annotated[str | None, Security(api_key_header)]) -> Client:
    """The authenticated client; 401 for a missing, wrong, expired or revoked key."""
    return await require_key(ctx.keys, ctx.runtime.sessions, key)


Caller = Annotated[Client, Depends(client)]


def _view(row: sa.Row) -> SubscriptionView:
    return SubscriptionView(
        subscription_id=row.subscription_id,
        union_code=row.union_code,
        reach=Reach(row.reach),
        webhook_url=row.webhook_url,
        emails=list(row.emails),
        created_at=row.created_at,
    )


async def _owned(ctx: NotifyContext, caller: Client, subscription_id: str) -> sa.Row:
    async with ctx.runtime.sessions() as session:
        row = (
            await session.execute(
                sa.select(subscriptions).where(
                    subscriptions.c.subscription_id == subscription_id,
                    subscriptions.c.deleted_at.is_(None),
                )
            )
        ).first()
    if row is None or not caller.covers(ctx.reference.tree, row.union_code):
        raise ApiError(404, "subscription_id", "not_found", "no such subscription for this key")
    return row


@router.post("/subscriptions", status_code=201, response_model=SubscriptionView)
async def create_subscription(
    ctx: Ctx, caller: Caller, request: SubscriptionRequest
) -> SubscriptionView:
    """Subscribe a union (own milestones, or its whole subtree's) by webhook and/or e-mail."""
    tree = ctx.reference.tree
    if request.union_code not in tree:
        raise ApiError(422, "union_code", "unknown_union", f"no union {request.union_code!r}")
    if not caller.covers(tree, request.union_code):
        raise ApiError(403, "union_code", "forbidden", "the key does not cover this union")
    if request.webhook is None and not request.emails:
        raise ApiError(422, "webhook", "no_channel", "give a webhook, e-mail addresses, or both")
    url = str(request.webhook.url) if request.webhook else None
    if url is not None:
        try:
            await vet_webhook_url(url, ctx.settings.notify_allowed_hosts)
        except RefusedUrl as refused:
            raise ApiError(422, "webhook.url", "refused_address", str(refused)) from refused
    row = {
        "subscription_id": str(uuid.uuid4()),
        "union_code": request.union_code,
        "reach": request.reach.value,
        "webhook_url": url,
        "webhook_secret": request.webhook.secret if request.webhook else None,
        "emails": [str(e) for e in request.emails],
        "created_by": caller.key_id,
        "created_at": utc_now(),
    }
    async with ctx.runtime.sessions() as session, session.begin():
        await session.execute(subscriptions.insert().values(**row))
    return SubscriptionView.model_validate(row)


@router.get("/subscriptions", response_model=list[SubscriptionView])
async def list_subscriptions(ctx: Ctx, caller: Caller) -> list[SubscriptionView]:
    """The live subscriptions of the unions this key covers."""
    async with ctx.runtime.sessions() as session:
        rows = await session.execute(
            sa.select(subscriptions)
            .where(subscriptions.c.deleted_at.is_(None))
            .order_by(subscriptions.c.created_at)
        )
        tree = ctx.reference.tree
        return [_view(r) for r in rows if caller.covers(tree, r.union_code)]


@router.delete("/subscriptions/{subscription_id}", status_code=204)
async def delete_subscription(ctx: Ctx, caller: Caller, subscription_id: str) -> Response:
    """Stop a subscription (its delivery log stays readable to operators)."""
    await _owned(ctx, caller, subscription_id)
    async with ctx.runtime.sessions() as session, session.begin():
        await session.execute(
            subscriptions.update()
            .where(subscriptions.c.subscription_id == subscription_id)
            .values(deleted_at=utc_now())
        )
    return Response(status_code=204)


@router.get("/subscriptions/{subscription_id}/deliveries", response_model=list[DeliveryView])
async def deliveries(ctx: Ctx, caller: Caller, subscription_id: str) -> list[DeliveryView]:
    """Every notice sent to the subscription, newest first, with each attempt."""
    await _owned(ctx, caller, subscription_id)
    async with ctx.runtime.sessions() as session:
        notices = (
            await session.execute(
                sa.select(notifications)
                .where(notifications.c.subscription_id == subscription_id)
                .order_by(notifications.c.created_at.desc())
                .limit(500)
            )
        ).all()
        tried = await session.execute(
            sa.select(attempts)
            .where(attempts.c.notification_id.in_([n.notification_id for n in notices]))
            .order_by(attempts.c.number)
        )
        by_notice: dict[str, list[AttemptView]] = {}
        for a in tried:
            by_notice.setdefault(a.notification_id, []).append(
                AttemptView(number=a.number, at=a.at, ok=a.ok, detail=a.detail)
            )
    return [
        DeliveryView(
            notification_id=n.notification_id,
            channel=n.channel,
            milestone_ids=list(n.milestone_ids),
            status=n.status,
            attempts=by_notice.get(n.notification_id, []),
            next_attempt_at=n.next_attempt_at if n.status == NoticeState.PENDING else None,
            created_at=n.created_at,
        )
        for n in notices
    ]


@router.post(
    "/subscriptions/{subscription_id}/deliveries/{notification_id}/replay",
    status_code=202,
    responses={409: {"description": "The notice has not failed: nothing to replay"}},
)
async def replay(ctx: Ctx, caller: Caller, subscription_id: str, notification_id: str) -> Response:
    """Send a failed notice again (same id, fresh attempts); 409 unless it failed."""
    await _owned(ctx, caller, subscription_id)
    async with ctx.runtime.sessions() as session, session.begin():
        replayed = await notice_store.replay(session, subscription_id, notification_id)
    if not replayed:
        raise ApiError(409, "notification_id", "not_failed", "only a failed notice is replayed")
    return Response(status_code=202)
