"""Prometheus metrics and log lines of filing (no per-union labels: cardinality)."""

from __future__ import annotations

import structlog
from prometheus_client import Counter

from services.submission.intake import Result

log = structlog.get_logger("services.submission")

SUBMISSIONS_FILED = Counter(
    "sangkien_submissions_filed_total",
    "Submission attempts by channel (http, amqp) and outcome (created, replayed, conflict, "
    "rejected).",
    ["channel", "outcome"],
)


def log_filed(channel: str, result: Result) -> None:
    """Count one filing and log it by ids and reason codes only (never the draft's content)."""
    SUBMISSIONS_FILED.labels(channel=channel, outcome=result.outcome.value).inc()
    log.info(
        "submission_filed",
        channel=channel,
        outcome=result.outcome.value,
        submission_id=result.submission_id,
        reasons=[f"{e.field}:{e.code}" for e in result.errors],
    )


REVIEWS_DECIDED = Counter(
    "sangkien_reviews_decided_total",
    "Review decisions by decision and outcome (recorded, or the refusal's code).",
    ["decision", "outcome"],
)
EXPORTS_SERVED = Counter(
    "sangkien_exports_rows_total", "Rows served in exports, by format.", ["format"]
)
