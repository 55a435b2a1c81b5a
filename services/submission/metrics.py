"""Prometheus metrics of the submission service (no per-union labels: cardinality)."""

from prometheus_client import Counter

SUBMISSIONS_FILED = Counter(
    "sangkien_submissions_filed_total",
    "Submission attempts by channel (http, amqp) and outcome (created, replayed, conflict, "
    "rejected).",
    ["channel", "outcome"],
)
