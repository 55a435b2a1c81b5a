"""Review rules: which decision makes sense in which state, and the state it leaves behind.

A submission's review state is its latest decision (``pending`` before any), which is also how
aggregation reads the decisions it receives: the latest by sequence wins. The rules here only
refuse what cannot be meant:

- a withdrawn submission is final: the author took it back;
- repeating the current state decides nothing;
- ``not_duplicate`` answers a duplicate flag or confirmation, so there must be one;
- a duplicate confirmation is undone with ``not_duplicate``, not by calling the copy valid;
- ``valid`` does not settle an exact copy: only a duplicate decision speaks to that;
- ``invalid`` needs a reason and ``confirmed_duplicate`` the original (dedup's best match by
  default), which cannot be the submission itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from shared.contracts.submission import ReviewDecision, Verdict

PENDING = "pending"
FLAGGING_VERDICTS = frozenset({Verdict.NEAR_DUPLICATE.value, Verdict.EXACT_DUPLICATE.value})


class Refusal(StrEnum):
    """Why a decision was refused; the value is the error code the API answers with."""

    FINAL = "withdrawn_is_final"
    UNCHANGED = "already_decided"
    NOT_FLAGGED = "not_flagged"
    UNDO_WITH_NOT_DUPLICATE = "undo_with_not_duplicate"
    EXACT_COPY = "exact_copy_needs_duplicate_decision"
    REASON_MISSING = "reason_required"
    ORIGINAL_MISSING = "duplicate_of_required"
    ORIGINAL_IS_SELF = "duplicate_of_self"
    ORIGINAL_UNKNOWN = "duplicate_of_unknown"
    CONCURRENT = "concurrent_decision"


# Refusals that are about the request itself (422) rather than the submission's state (409).
REQUEST_ERRORS = frozenset(
    {
        Refusal.REASON_MISSING,
        Refusal.ORIGINAL_MISSING,
        Refusal.ORIGINAL_IS_SELF,
        Refusal.ORIGINAL_UNKNOWN,
    }
)


@dataclass(frozen=True)
class Standing:
    """What the rules look at: the review state, dedup's verdict and best match, if screened."""

    submission_id: str
    review_state: str
    verdict: str | None
    best_match_id: str | None


@dataclass(frozen=True)
class Decided:
    """A decision the rules accept, with the original of a duplicate filled in."""

    decision: ReviewDecision
    reason: str | None
    duplicate_of: str | None


class DecisionRefused(Exception):
    """A decision the rules refuse, with a message a reviewer can act on."""

    def __init__(self, refusal: Refusal, message: str) -> None:
        super().__init__(message)
        self.refusal = refusal
        self.message = message


def decide(
    standing: Standing,
    decision: ReviewDecision,
    *,
    reason: str | None = None,
    duplicate_of: str | None = None,
) -> Decided:
    """Accept ``decision`` on a submission standing so, or raise ``DecisionRefused``."""
    state = standing.review_state
    if state == ReviewDecision.WITHDRAWN:
        raise DecisionRefused(Refusal.FINAL, "the author withdrew this submission; that is final")
    if state == decision:
        raise DecisionRefused(Refusal.UNCHANGED, f"the submission is already {state}")
    if decision is ReviewDecision.INVALID and not (reason and reason.strip()):
        raise DecisionRefused(Refusal.REASON_MISSING, "an invalid decision needs a reason")
    if decision is ReviewDecision.NOT_DUPLICATE:
        flagged = standing.verdict in FLAGGING_VERDICTS
        if not flagged and state != ReviewDecision.CONFIRMED_DUPLICATE:
            raise DecisionRefused(
                Refusal.NOT_FLAGGED,
                "nothing flags or confirms this submission as a duplicate"
                if standing.verdict
                else "dedup has not screened this submission yet",
            )
        duplicate_of = duplicate_of or standing.best_match_id
    if state == ReviewDecision.CONFIRMED_DUPLICATE and decision is ReviewDecision.VALID:
        raise DecisionRefused(
            Refusal.UNDO_WITH_NOT_DUPLICATE,
            "the submission is a confirmed duplicate: decide not_duplicate to undo that",
        )
    if (
        decision is ReviewDecision.VALID
        and standing.verdict == Verdict.EXACT_DUPLICATE
        and state == PENDING
    ):
        raise DecisionRefused(
            Refusal.EXACT_COPY,
            "dedup found an exact copy: decide confirmed_duplicate or not_duplicate first",
        )
    if decision is ReviewDecision.CONFIRMED_DUPLICATE:
        duplicate_of = duplicate_of or standing.best_match_id
        if duplicate_of is None:
            raise DecisionRefused(
                Refusal.ORIGINAL_MISSING, "name the original in duplicate_of (dedup found none)"
            )
        if duplicate_of == standing.submission_id:
            raise DecisionRefused(Refusal.ORIGINAL_IS_SELF, "a submission is no copy of itself")
    elif decision is not ReviewDecision.NOT_DUPLICATE:
        duplicate_of = None
    return Decided(decision, reason.strip() if reason else None, duplicate_of)
