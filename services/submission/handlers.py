"""AMQP subscribers of the submission service: intake commands, and dedup verdicts in
micro-batches."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import sqlalchemy as sa
from faststream.rabbit.message import RabbitMessage
from sqlalchemy.ext.asyncio import AsyncSession

from services.submission.context import SubmissionContext
from services.submission.intake import Attempt, Outcome, file_batch
from services.submission.metrics import SUBMISSIONS_FILED, log_filed
from services.submission.store import submissions
from shared.contracts.envelope import derived_message_id, utc_now
from shared.contracts.registry import ContractError
from shared.contracts.submission import FieldError, RejectedV1, ScreenedV1, SubmitV1
from shared.messaging.batches import PoisonEvents
from shared.messaging.consumer import AfterCommit
from shared.messaging.outbox import add_to_outbox
from shared.messaging.topology import SUBMISSION_SCREENED, SUBMIT_COMMANDS

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
    """Subscribe this service's handlers to its queues."""
    runtime = ctx.runtime

    async def on_submit(session: AsyncSession, command: SubmitV1) -> AfterCommit | None:
        attempt = Attempt(
            command.message_id,
            command.submission,
            correlation_id=command.correlation_id,
            command_id=command.message_id,
        )
        [result] = await file_batch(
            session, [attempt], client_id=AMQP_CLIENT, policy=ctx.policy, now=utc_now()
        )
        log_filed("amqp", result)
        if result.outcome is Outcome.REJECTED:
            await add_to_outbox(
                session, rejection(command.message_id, command.correlation_id, list(result.errors))
            )
        return None

    async def on_bad_command(
        session: AsyncSession, message: RabbitMessage, error: ContractError
    ) -> bool:
        # A body that is not even JSON is a broken publisher: operators see it in the DLQ.
        if error.code == "malformed_json" or not message.message_id:
            return False
        reasons = error.errors or [FieldError(field="", code=error.code, message=error.detail)]
        command_id = message.message_id
        await add_to_outbox(
            session, rejection(command_id, message.correlation_id or command_id, reasons)
        )
        SUBMISSIONS_FILED.labels(channel="amqp", outcome="rejected").inc()
        return True

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

    runtime.subscribe(SUBMIT_COMMANDS, SubmitV1, on_submit, on_contract_error=on_bad_command)
    runtime.consume_in_batches(
        SUBMISSION_SCREENED,
        ScreenedV1,
        on_screened,
        max_batch=ctx.settings.verdict_batch,
        linger=ctx.settings.verdict_linger_seconds,
        lock=asyncio.Lock(),
    )
