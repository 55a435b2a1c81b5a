"""Review rules without a database: every state against every decision, and each refusal."""

from __future__ import annotations

import pytest

from services.submission.reviewing import (
    PENDING,
    Decided,
    DecisionRefused,
    Refusal,
    Standing,
    decide,
)
from shared.contracts.submission import ReviewDecision as D

OK = None
STATES = [PENDING, *(d.value for d in D)]
DECISIONS = [D.VALID, D.INVALID, D.CONFIRMED_DUPLICATE, D.NOT_DUPLICATE, D.WITHDRAWN]

# A near-duplicate of "orig": each state against each decision, in DECISIONS order.
NEAR_DUPLICATE_TABLE = {
    PENDING: [OK, OK, OK, OK, OK],
    "valid": [Refusal.UNCHANGED, OK, OK, OK, OK],
    "invalid": [OK, Refusal.UNCHANGED, OK, OK, OK],
    "confirmed_duplicate": [Refusal.UNDO_WITH_NOT_DUPLICATE, OK, Refusal.UNCHANGED, OK, OK],
    "not_duplicate": [OK, OK, OK, Refusal.UNCHANGED, OK],
    "withdrawn": [Refusal.FINAL] * 5,
}


def outcome(standing: Standing, decision: D, **request: str) -> Refusal | Decided:
    try:
        return decide(
            standing,
            decision,
            reason=request.get("reason", "lý do"),
            **{k: v for k, v in request.items() if k != "reason"},
        )
    except DecisionRefused as refused:
        assert refused.message
        return refused.refusal


@pytest.mark.parametrize("state", STATES)
def test_every_state_against_every_decision_on_a_flagged_submission(state: str) -> None:
    standing = Standing("s1", state, "near_duplicate", "orig")
    got = [outcome(standing, decision) for decision in DECISIONS]
    expected = NEAR_DUPLICATE_TABLE[state]
    assert [g if isinstance(g, Refusal) else OK for g in got] == expected
    for decision, result in zip(DECISIONS, got, strict=True):
        if isinstance(result, Decided):
            assert result.decision is decision


def test_a_duplicate_confirmation_names_the_original_dedup_found_unless_told() -> None:
    standing = Standing("s1", PENDING, "near_duplicate", "orig")
    assert decide(standing, D.CONFIRMED_DUPLICATE).duplicate_of == "orig"
    assert decide(standing, D.CONFIRMED_DUPLICATE, duplicate_of="other").duplicate_of == "other"
    assert decide(standing, D.NOT_DUPLICATE).duplicate_of == "orig"
    assert decide(standing, D.VALID, duplicate_of="other").duplicate_of is None


def test_request_errors() -> None:
    unique = Standing("s1", PENDING, "unique", None)
    assert outcome(unique, D.CONFIRMED_DUPLICATE) is Refusal.ORIGINAL_MISSING
    assert outcome(unique, D.CONFIRMED_DUPLICATE, duplicate_of="s1") is Refusal.ORIGINAL_IS_SELF
    assert outcome(unique, D.INVALID, reason="  ") is Refusal.REASON_MISSING
    assert decide(unique, D.INVALID, reason=" trùng đề tài ").reason == "trùng đề tài"


def test_not_duplicate_needs_a_flag_or_a_confirmation() -> None:
    assert outcome(Standing("s1", PENDING, "unique", None), D.NOT_DUPLICATE) is Refusal.NOT_FLAGGED
    with pytest.raises(DecisionRefused, match="not screened"):
        decide(Standing("s1", PENDING, None, None), D.NOT_DUPLICATE)
    confirmed = Standing("s1", "confirmed_duplicate", "unique", None)
    assert isinstance(outcome(confirmed, D.NOT_DUPLICATE), Decided)


def test_an_exact_copy_is_not_settled_by_calling_it_valid() -> None:
    exact = Standing("s1", PENDING, "exact_duplicate", "orig")
    assert outcome(exact, D.VALID) is Refusal.EXACT_COPY
    cleared = Standing("s1", "not_duplicate", "exact_duplicate", "orig")
    assert isinstance(outcome(cleared, D.VALID), Decided)
