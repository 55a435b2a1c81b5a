"""Structured JSON logging with a correlation id on every line, and Prometheus helpers.

Logs never carry personal data: services log ids and codes only, and ``redact_contact_details``
masks anything shaped like an e-mail address or a Vietnamese phone number as a second line of
defence.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

import structlog
from prometheus_client import Counter, Gauge, Histogram

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_PHONE = re.compile(r"(?<!\d)(\+?84|0)(\s?\d){8,10}(?!\d)")


def redact_text(text: str) -> str:
    """Mask e-mail addresses and phone numbers in ``text``."""
    return _PHONE.sub("[phone]", _EMAIL.sub("[email]", text))


def redact_contact_details(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: mask contact details in every string value of a log line."""
    for key, value in event_dict.items():
        if isinstance(value, str):
            event_dict[key] = redact_text(value)
    return event_dict


# Libraries whose debug lines carry SQL parameters or message bodies, that is, personal data:
# they never log below WARNING, whatever level the service runs at.
QUIET_LIBRARIES = (
    "aiosqlite",
    "sqlalchemy",
    "asyncpg",
    "aiormq",
    "aio_pika",
    "asyncio",
    "httpx",
    "httpcore",
    "alembic",
)


def configure_logging(service: str, level: str = "INFO") -> None:
    """Route structlog and the standard library's logging to JSON lines on stdout."""
    shared_processors: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        # Tracebacks become text first, so that they are redacted like the rest.
        structlog.processors.format_exc_info,
        redact_contact_details,
    ]
    structlog.configure(
        processors=[
            *shared_processors,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(sys.stdout),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.JSONRenderer(ensure_ascii=False),
            ],
            foreign_pre_chain=shared_processors,
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for library in QUIET_LIBRARIES:
        logging.getLogger(library).setLevel(max(logging.WARNING, root.level))
    structlog.contextvars.bind_contextvars(service=service)


@contextmanager
def correlation(correlation_id: str, **fields: str) -> Iterator[None]:
    """Bind a correlation id (and other ids) to every log line written inside the block."""
    with structlog.contextvars.bound_contextvars(correlation_id=correlation_id, **fields):
        yield


MESSAGES_CONSUMED = Counter(
    "sangkien_messages_consumed_total",
    "Messages taken from a queue, by queue and outcome "
    "(processed, duplicate, rejected, dead_lettered, retried).",
    ["queue", "outcome"],
)
HANDLER_SECONDS = Histogram(
    "sangkien_handler_seconds",
    "Time to apply one batch of a queue's messages (one message in a batch of one), by queue.",
    ["queue"],
)
OUTBOX_PUBLISHED = Counter(
    "sangkien_outbox_published_total", "Events published by the outbox relay.", ["event"]
)
OUTBOX_FAILURES = Counter(
    "sangkien_outbox_publish_failures_total", "Relay rounds that failed to publish.", ["reason"]
)
OUTBOX_LAG = Gauge(
    "sangkien_outbox_lag_seconds",
    "Age of the oldest event in the relay's last round: how far publishing trails the commits.",
)
REFERENCE_VERSION = Gauge(
    "sangkien_reference_version",
    "Version of the reference data this process serves: 0 is the files, each change adds one.",
)
READINESS = Gauge(
    "sangkien_ready", "1 while the process is ready (what /ready answers 200 for), else 0."
)
READINESS_CHECKS = Gauge(
    "sangkien_ready_check",
    "Each readiness check of /ready (database, broker, lease, queue …): 1 when it passes.",
    ["check"],
)
