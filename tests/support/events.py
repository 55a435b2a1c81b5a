"""Events as upstream services publish them, for testing downstream services."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from functools import cache
from typing import Any

from pipeline.texts import Initiative
from shared.contracts.envelope import derived_message_id, utc_now
from shared.contracts.reference import Change, ReferenceChangedV1
from shared.contracts.submission import (
    ReceivedV1,
    RecognitionKind,
    ReviewDecision,
    ReviewedV1,
    ScreenedV1,
    Verdict,
)
from shared.reference.calendar import LOCAL_ZONE
from shared.reference.catalog import ReferenceData, load_reference
from shared.settings import REPO_ROOT

PATHS = {
    "ldld-ha-noi.h03.cs0002": ["vn", "ldld-ha-noi", "ldld-ha-noi.h03", "ldld-ha-noi.h03.cs0002"],
    "ldld-lai-chau.h01.cs0001": [
        "vn",
        "ldld-lai-chau",
        "ldld-lai-chau.h01",
        "ldld-lai-chau.h01.cs0001",
    ],
}


def received(
    item: Initiative,
    union_code: str = "ldld-ha-noi.h03.cs0002",
    author_key: str = "author-1",
    submission_id: str | None = None,
) -> ReceivedV1:
    """``submission.received.v1`` for a generated initiative."""
    submission_id = submission_id or str(uuid.uuid4())
    return ReceivedV1(
        message_id=derived_message_id(submission_id, ReceivedV1.routing_key()),
        correlation_id=submission_id,
        occurred_at=utc_now(),
        submission_id=submission_id,
        union_code=union_code,
        union_path=PATHS[union_code],
        program="mot-trieu-sang-kien",
        phase="phase-1",
        submitted_at="2022-03-15T09:30:00+07:00",  # type: ignore[arg-type]
        local_date="2022-03-15",  # type: ignore[arg-type]
        benefit_vnd=item.benefit_vnd,
        author_key=author_key,
        title=item.title,
        field=item.field,  # type: ignore[arg-type]
        situation=item.situation,
        solution=item.solution,
        effect=item.effect,
        recognition_kind=RecognitionKind.NONE,
    )


@cache
def reference() -> ReferenceData:
    """The repository's reference data, loaded once per test session."""
    return load_reference(REPO_ROOT / "reference")


def facts(
    submission_id: str,
    union_code: str,
    local_date: date,
    *,
    author_key: str = "author-1",
    benefit_vnd: int = 1_000_000,
) -> dict[str, Any]:
    """The counting facts of a submission filed with ``union_code`` at noon on ``local_date``."""
    data = reference()
    phase = data.program.phase_on(local_date)
    assert phase is not None, f"{local_date} is outside the program"
    return {
        "submission_id": submission_id,
        "union_code": union_code,
        "union_path": list(data.tree.path(union_code)),
        "program": data.program.code,
        "phase": phase.code,
        "submitted_at": datetime.combine(local_date, time(12), LOCAL_ZONE),
        "local_date": local_date,
        "benefit_vnd": benefit_vnd,
        "author_key": author_key,
    }


def screened(fact: dict[str, Any], verdict: Verdict = Verdict.UNIQUE) -> ScreenedV1:
    """Dedup's ``submission.screened.v1`` about a submission."""
    return ScreenedV1(
        message_id=derived_message_id(fact["submission_id"], ScreenedV1.routing_key()),
        correlation_id=fact["submission_id"],
        occurred_at=utc_now(),
        verdict=verdict,
        score=1.0 if verdict is not Verdict.UNIQUE else 0.1,
        method_version="test",
        **fact,
    )


def reviewed(fact: dict[str, Any], decision: ReviewDecision, sequence: int) -> ReviewedV1:
    """The submission service's ``submission.reviewed.v1``: decision number ``sequence``."""
    review_id = f"{fact['submission_id']}:{sequence}"
    return ReviewedV1(
        message_id=derived_message_id(review_id, ReviewedV1.routing_key()),
        correlation_id=fact["submission_id"],
        occurred_at=utc_now(),
        review_id=review_id,
        sequence=sequence,
        decision=decision,
        reviewer_union=fact["union_code"],
        decided_at=utc_now(),
        **fact,
    )


def reference_changed(version: int, change: Change) -> ReferenceChangedV1:
    """The submission service's ``reference.changed.v1`` of ``change`` at ``version``."""
    message_id = derived_message_id(ReferenceChangedV1.NAME, str(version))
    return ReferenceChangedV1(
        message_id=message_id,
        correlation_id=message_id,
        occurred_at=utc_now(),
        version=version,
        changed_by="test office",
        reason="test",
        change=change,
    )
