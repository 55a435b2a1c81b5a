"""AMQP side of the submission service: intake commands, and dedup's verdicts."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from services.submission.context import SubmissionContext
from services.submission.intake import Attempt, Outcome, file_batch
from services.submission.metrics import SUBMISSIONS_FILED, log_filed
from services.submission.store import submissions
from shared.contracts.envelope import derived_message_id, utc_now
from shared.contracts.submission import FieldError, RejectedV1, ScreenedV1, SubmitV1
from shared.messaging.consumer import PoisonEvents, Refusal
from shared.messaging.outbox import add_to_outbox
from shared.messaging.topology import SUBMISSION_SCREENED, SUBMIT_COMMANDS
from shared.observability import correlation

# Commands arrive over the broker, whose own user permissions admit the portals that may send them.
AMQP_CLIENT = "amqp"


def rejection(command_id: str, correlation_id: str, reasons: list[FieldError]) -> RejectedV1:
    """The ``submission.rejected.v1`` answer to a command, with a stable id."""
    return RejectedV1(
        message_id=derived_message_id(command_id, RejectedV1.routing_key()),
        correlation_id=correlation_id,
        occurred_at=utc_now(),
        command_id=command_id,
        reasons=reasons,
    )


def register(ctx: SubmissionContext) -> None:
    """Consume this service's queues."""
    runtime = ctx.runtime

    async def on_submit(session: AsyncSession, commands: Sequence[SubmitV1]) -> None:
        attempts = [
            Attempt(
                command.message_id,
                command.submission,
                correlation_id=command.correlation_id,
                command_id=command.message_id,
            )
            for command in commands
        ]
        results = await file_batch(
            session, attempts, client_id=AMQP_CLIENT, policy=ctx.policy, now=utc_now()
        )
        rejections = []
        for command, result in zip(commands, results, strict=True):
            with correlation(command.correlation_id, message_id=command.message_id):
                log_filed("amqp", result)
            if result.outcome is Outcome.REJECTED:
                errors = list(result.errors)
                rejections.append(rejection(command.message_id, command.correlation_id, errors))
        await add_to_outbox(session, *rejections)

    async def on_bad_commands(session: AsyncSession, refusals: Sequence[Refusal]) -> None:
        answers = []
        for refusal in refusals:
            error = refusal.error
            reasons = error.errors or [FieldError(field="", code=error.code, message=error.detail)]
            answers.append(rejection(refusal.message_id, refusal.correlation_id, reasons))
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

    runtime.consume(SUBMIT_COMMANDS, SubmitV1, apply=on_submit, answer=on_bad_commands)
    runtime.consume(
        SUBMISSION_SCREENED,
        ScreenedV1,
        apply=on_screened,
        max_batch=ctx.settings.verdict_batch,
        linger=ctx.settings.verdict_linger_seconds,
    )
