"""A notice's life as pure rules: delivered, failed for good, or due again after a backoff."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from services.notify.notices import NoticeState, RetryPolicy, after_attempt

POLICY = RetryPolicy(max_attempts=5, base_seconds=2.0, max_seconds=60.0)


def test_a_delivered_attempt_ends_the_notice_whatever_the_count() -> None:
    for tries in (1, 5, 9):
        assert after_attempt(True, tries, POLICY, random.Random(1)).state is NoticeState.DELIVERED


def test_the_last_failed_attempt_fails_the_notice_for_good() -> None:
    outcome = after_attempt(False, 5, POLICY, random.Random(1))
    assert outcome.state is NoticeState.FAILED and outcome.retry_in is None


@given(tries=st.integers(1, 4), seed=st.integers(0, 1000))
def test_an_earlier_failure_waits_an_exponential_capped_jittered_backoff(
    tries: int, seed: int
) -> None:
    outcome = after_attempt(False, tries, POLICY, random.Random(seed))
    ceiling = min(60.0, 2.0 * 2 ** (tries - 1))
    assert outcome.state is NoticeState.PENDING
    assert outcome.retry_in is not None and ceiling / 2 <= outcome.retry_in <= ceiling
