"""Events as upstream services publish them, for testing downstream services."""

from __future__ import annotations

import uuid

from pipeline.texts import Initiative
from shared.contracts.envelope import derived_message_id, utc_now
from shared.contracts.submission import ReceivedV1, RecognitionKind

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
