"""Webhook signatures: HMAC-SHA256 over ``<timestamp>.<body>`` with the subscription's secret.

Headers on every POST: ``X-Sangkien-Timestamp`` (Unix seconds), ``X-Sangkien-Signature``
(``sha256=<hex>``), ``Idempotency-Key`` (the notice's id, the same on every attempt). A receiver
recomputes the HMAC over the timestamp, a dot and the raw body, compares in constant time, and
refuses timestamps older than a few minutes (replays). See ``docs/notify.md`` and
``examples/webhook_receiver.py``.
"""

from __future__ import annotations

import hashlib
import hmac

TIMESTAMP = "X-Sangkien-Timestamp"
SIGNATURE = "X-Sangkien-Signature"
IDEMPOTENCY_KEY = "Idempotency-Key"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Sangkien-Signature`` value of ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def signed_headers(
    secret: str, timestamp: int, body: bytes, idempotency_key: str
) -> dict[str, str]:
    """Every header a webhook POST carries."""
    return {
        "Content-Type": "application/json; charset=utf-8",
        TIMESTAMP: str(timestamp),
        SIGNATURE: signature(secret, timestamp, body),
        IDEMPOTENCY_KEY: idempotency_key,
    }
