"""Signatures as the service makes them, checked by the documented receiver example."""

from __future__ import annotations

import pytest

from examples.webhook_receiver import verify
from services.notify.signing import signed_headers

BODY = b'{"notification_id": "n1", "milestones": []}'


def test_the_receiver_example_accepts_a_genuine_notice() -> None:
    headers = signed_headers("s3cret-s3cret-s3cret", 1_700_000_000, BODY, "n1")
    assert verify("s3cret-s3cret-s3cret", headers, BODY, now=1_700_000_030)


@pytest.mark.parametrize(
    ("secret", "body", "now"),
    [
        ("another-secret-entirely", BODY, 1_700_000_030),  # wrong secret
        ("s3cret-s3cret-s3cret", BODY + b" ", 1_700_000_030),  # body changed on the way
        ("s3cret-s3cret-s3cret", BODY, 1_700_000_000 + 301),  # replayed too late
    ],
)
def test_the_receiver_example_refuses_a_bad_signature(secret: str, body: bytes, now: int) -> None:
    headers = signed_headers("s3cret-s3cret-s3cret", 1_700_000_000, BODY, "n1")
    assert not verify(secret, headers, body, now=now)
