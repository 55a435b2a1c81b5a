"""AMQP side of the submission service: intake commands, and dedup's verdicts."""

from __future__ import annotations

import re
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.submission.auth import ApiClient, portal_clients
from services.submission.context import SubmissionContext
from services.submission.intake import Attempt, Outcome, file_batch
from services.submission.metrics import SUBMISSIONS_FILED, log_filed
from services.submission.store import submissions
from shared.contracts.envelope import derived_message_id, utc_now
from shared.contracts.submission import (
    PORTAL_PATTERN,
    FieldError,
    RejectedV1,
    ScreenedV1,
    SubmitV1,
)
from shared.messaging.consumer import PoisonEvents, Refusal
from shared.messaging.outbox import add_to_outbox
from shared.messaging.topology import SUBMISSION_SCREENED, SUBMIT_COMMANDS
from shared.observability import correlation
from shared.reference.unions import UnionTree


def command_key(command: SubmitV1 | Refusal) -> str:
    """What the inbox records of a command: its portal, its id and its body. A redelivery is
    skipped; the same id from another portal, or with another body, is filed (and a reused id
    answered as a conflict)."""
    return derived_message_id(
        "command", command.publisher or "", command.message_id, command.digest
    )


def rejection(command: SubmitV1 | Refusal, reasons: Sequence[FieldError]) -> RejectedV1:
    """The ``submission.rejected.v1`` answer to a command, addressed to its portal, with an id
    derived from the command as received."""
    publisher = command.publisher
    return RejectedV1(
        message_id=derived_message_id(command_key(command), RejectedV1.routing_key()),
        correlation_id=command.correlation_id,
        occurred_at=utc_now(),
        portal=publisher if publisher and re.fullmatch(PORTAL_PATTERN, publisher) else None,
        command_id=command.message_id,
        reasons=list(reasons),
    )


def portal_problem(
    client: ApiClient | None, command: SubmitV1, tree: UnionTree
) -> FieldError | None:
    """Why a portal's command cannot be filed at all: no live API client has its broker user,
    or its union lies outside the client's subtrees (an unknown union is validation's)."""
    if client is None:
        return FieldError(
            field="",
            code="unknown_portal",
            message=f"no live API client is mapped to broker user {command.publisher!r}",
        )
    union = command.submission.union_code
    if union in tree and not client.covers(tree, union):
        return FieldError(
            field="union_code",
            code="outside_scope",
            message="your portal does not cover this union",
        )
    return None


CONFLICT = FieldError(
    field="message_id",
    code="conflict",
    message="this message id was filed before with another body; nothing was stored",
)


def register(ctx: SubmissionContext) -> None:
    """Consume this service's queues."""
    runtime = ctx.runtime

    async def on_submit(session: AsyncSession, commands: Sequence[SubmitV1]) -> None:
        portals = await portal_clients(session, {c.publisher for c in commands if c.publisher})
        rejections: list[RejectedV1] = []
        by_client: dict[str, list[SubmitV1]] = {}
        for command in commands:
            client = portals.get(command.publisher or "")
            problem = portal_problem(client, command, ctx.reference.tree)
            if problem is not None:
                rejections.append(rejection(command, [problem]))
                SUBMISSIONS_FILED.labels(channel="amqp", outcome="rejected").inc()
            else:
                by_client.setdefault(command.publisher or "", []).append(command)
        for publisher, filed in by_client.items():
            client = portals[publisher]
            attempts = [
                Attempt(c.message_id, c.submission, c.correlation_id, command_id=c.message_id)
                for c in filed
            ]
            results = await file_batch(
                session,
                attempts,
                client_id=client.key_id,
                policy=ctx.policy,
                now=utc_now(),
                portal=client.broker_user,
            )
            for command, result in zip(filed, results, strict=True):
                with correlation(command.correlation_id, message_id=command.message_id):
                    log_filed("amqp", result)
                if result.outcome is Outcome.REJECTED:
                    rejections.append(rejection(command, result.errors))
                elif result.outcome is Outcome.CONFLICT:
                    rejections.append(rejection(command, [CONFLICT]))
        await add_to_outbox(session, *rejections)

    async def on_bad_commands(session: AsyncSession, refusals: Sequence[Refusal]) -> None:
        answers = []
        for refusal in refusals:
            error = refusal.error
            reasons = error.errors or [FieldError(field="", code=error.code, message=error.detail)]
            answers.append(rejection(refusal, reasons))
            SUBMISSIONS_FILED.labels(channel="amqp", outcome="rejected").inc()
        await add_to_outbox(session, *answers)

    async def on_screened(session: AsyncSession, verdicts: Sequence[ScreenedV1]) -> None:
        known = set(
            await session.scalars(
                sa.select(submissions.c.id).where(
                    submissions.c.id.in_({v.submission_id for v in verdicts})
                )
            )
        )
        unknown = {
            v.message_id: f"unknown submission {v.submission_id}"
            for v in verdicts
            if v.submission_id not in known
        }
        if unknown:
            raise PoisonEvents(unknown)
        await session.execute(
            submissions.update()
            .where(submissions.c.id == sa.bindparam("v_submission_id"))
            .values(
                verdict=sa.bindparam("v_verdict"),
                verdict_score=sa.bindparam("v_score"),
                best_match_id=sa.bindparam("v_best_match_id"),
                screened_at=sa.bindparam("v_occurred_at"),
            ),
            [
                {
                    "v_submission_id": v.submission_id,
                    "v_verdict": v.verdict.value,
                    "v_score": v.score,
                    "v_best_match_id": v.best_match_id,
                    "v_occurred_at": v.occurred_at,
                }
                for v in verdicts
            ],
        )

    runtime.consume(
        SUBMIT_COMMANDS,
        SubmitV1,
        apply=on_submit,
        answer=on_bad_commands,
        inbox_key=command_key,
    )
    runtime.consume(
        SUBMISSION_SCREENED,
        ScreenedV1,
        apply=on_screened,
        max_batch=ctx.settings.verdict_batch,
        linger=ctx.settings.verdict_linger_seconds,
    )
