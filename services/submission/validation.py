"""Validation and normalisation of a submission draft: pure functions, field-level reasons."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from shared.contracts.submission import (
    DECISION_KINDS,
    EMAIL_PATTERN,
    PHONE_PATTERN,
    TEXT_LIMITS,
    FieldError,
    SubmissionDraft,
)
from shared.reference.calendar import Phase, local_date
from shared.reference.catalog import ReferenceData
from shared.text import CONTROL, visible_length, without_format

# Runs of spaces other than newlines; a lone space (most of them) is left alone: replacing it by
# itself would cost one substitution per word.
_SPACES = re.compile(r"[^\S\n]{2,}|[^\S\n ]")
_BLANK_LINES = re.compile(r"\n{3,}")
_LINE_EDGES = re.compile(r" ?\n ?")  # spaces folded first: a line's ends hold one at most
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # newlines are text's own
# The contract's patterns, read on the value as sent (both take '' for none).
_EMAIL = re.compile(EMAIL_PATTERN)
_PHONE = re.compile(PHONE_PATTERN)


def normalise_text(text: str) -> str:
    """NFC, no control or format characters (``shared.text``), runs of spaces folded, at most
    one blank line, trimmed."""
    text = without_format(unicodedata.normalize("NFC", text))
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _SPACES.sub(" ", _CONTROL.sub(" ", text))
    return _BLANK_LINES.sub("\n\n", _LINE_EDGES.sub("\n", text)).strip()


@dataclass(frozen=True)
class Limits:
    """Bounds that come from settings."""

    max_benefit_vnd: int
    future_tolerance: timedelta


@dataclass(frozen=True)
class AcceptedDraft:
    """A draft that passed validation, normalised, with its place in the tree and calendar."""

    draft: SubmissionDraft
    union_path: tuple[str, ...]  # as filed on ``local_date`` (what its events carry)
    phase: Phase
    local_date: date
    current_path: tuple[str, ...]  # where the union sits now (what key scopes are checked on)


def _check_text(draft: SubmissionDraft, errors: list[FieldError]) -> dict[str, str]:
    """The contract's limits, on the text as sent: visible characters at least, characters at
    most; the text stored is normalised."""
    cleaned = {}
    for name, (shortest, longest) in TEXT_LIMITS.items():
        value = getattr(draft, name)
        cleaned[name] = normalise_text(value)
        if visible_length(value) < shortest:
            errors.append(
                FieldError(
                    field=name,
                    code="too_short",
                    message=f"needs at least {shortest} visible characters",
                )
            )
        elif len(value) > longest:
            errors.append(
                FieldError(
                    field=name, code="too_long", message=f"allows at most {longest} characters"
                )
            )
    return cleaned


def clean_field(value: str | None, field: str, errors: list[FieldError]) -> str | None:
    """A one-line field (an id, a number, an address): a control character in it (a NUL byte,
    say) is refused; stored in NFC, format characters dropped, trimmed."""
    if value is None:
        return None
    if CONTROL.search(value):
        errors.append(
            FieldError(field=field, code="control_characters", message="holds control characters")
        )
    return without_format(unicodedata.normalize("NFC", value)).strip() or None


def _check_author(draft: SubmissionDraft, errors: list[FieldError]) -> dict[str, str | None]:
    author = draft.author
    name = normalise_text(author.name)
    if visible_length(author.name) == 0:
        errors.append(FieldError(field="author.name", code="missing", message="is required"))
    email = clean_field(author.email, "author.email", errors)
    phone = clean_field(author.phone, "author.phone", errors)
    if author.email is not None and not _EMAIL.match(author.email):
        errors.append(
            FieldError(
                field="author.email", code="invalid_email", message="is not an e-mail address"
            )
        )
    if author.phone is not None and not _PHONE.match(author.phone):
        errors.append(
            FieldError(field="author.phone", code="invalid_phone", message="is not a phone number")
        )
    return {
        "name": name,
        "email": email,
        "phone": phone,
        "member_id": clean_field(author.member_id, "author.member_id", errors),
    }


def validate_draft(
    draft: SubmissionDraft, reference: ReferenceData, limits: Limits, now: datetime
) -> AcceptedDraft | list[FieldError]:
    """The accepted, normalised draft, or every reason it is refused."""
    errors: list[FieldError] = []
    union = reference.tree.get(draft.union_code)
    if union is None:
        errors.append(
            FieldError(
                field="union_code",
                code="unknown_union",
                message=f"no union has code {draft.union_code!r}",
            )
        )
    elif union.closed:
        successor = (
            f"union {union.merged_into!r}, which it merged into"
            if union.merged_into
            else "the union its members moved to"
        )
        errors.append(
            FieldError(
                field="union_code",
                code="union_closed",
                message=f"union {union.code!r} ({union.name}) is closed: file with {successor}",
            )
        )
    elif not union.accepts_submissions:
        errors.append(
            FieldError(
                field="union_code",
                code="union_not_accepting",
                message=f"a {union.level} union does not take submissions",
            )
        )
    day = local_date(draft.submitted_at)
    phase = reference.program.phase_on(day)
    if draft.submitted_at > now + limits.future_tolerance:
        errors.append(
            FieldError(field="submitted_at", code="in_future", message="lies in the future")
        )
    elif phase is None:
        errors.append(
            FieldError(
                field="submitted_at",
                code="outside_phase",
                message=f"local date {day} is in no phase of the program",
            )
        )
    if draft.benefit_vnd < 0:
        errors.append(
            FieldError(field="benefit_vnd", code="negative", message="must be zero or more")
        )
    elif draft.benefit_vnd > limits.max_benefit_vnd:
        errors.append(
            FieldError(
                field="benefit_vnd",
                code="too_large",
                message=f"exceeds {limits.max_benefit_vnd} VND",
            )
        )
    recognition = draft.recognition
    decision_number = clean_field(
        recognition.decision_number, "recognition.decision_number", errors
    )
    if recognition.kind in DECISION_KINDS:
        if not visible_length(recognition.decision_number or ""):
            errors.append(
                FieldError(
                    field="recognition.decision_number",
                    code="missing",
                    message="is required when a decision is claimed",
                )
            )
        if recognition.decision_date is None:
            errors.append(
                FieldError(
                    field="recognition.decision_date",
                    code="missing",
                    message="is required when a decision is claimed",
                )
            )
        elif recognition.decision_date > day:
            errors.append(
                FieldError(
                    field="recognition.decision_date",
                    code="after_submission",
                    message="is after the submission date",
                )
            )
    texts = _check_text(draft, errors)
    author = _check_author(draft, errors)
    if errors or union is None or phase is None:
        return errors
    cleaned = draft.model_copy(
        update={
            **texts,
            "author": draft.author.model_copy(update=author),
            "recognition": recognition.model_copy(update={"decision_number": decision_number}),
        }
    )
    placing = reference.placing
    return AcceptedDraft(
        cleaned, placing.filed(union.code, day), phase, day, placing.now(union.code)
    )
