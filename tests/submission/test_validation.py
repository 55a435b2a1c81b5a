"""Validation of drafts: every rule gives a field-level reason; text is normalised."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.submission.validation import AcceptedDraft, Limits, normalise_text, validate_draft
from shared.contracts.submission import SubmissionDraft
from shared.reference.catalog import ReferenceData, load_reference
from shared.settings import REPO_ROOT
from tests.support.drafts import draft

NOW = datetime(2024, 1, 1, tzinfo=UTC)
LIMITS = Limits(max_benefit_vnd=10**13, future_tolerance=timedelta(minutes=10))


@cache
def reference() -> ReferenceData:
    return load_reference(REPO_ROOT / "reference")


def check(**overrides: Any) -> AcceptedDraft | list[tuple[str, str]]:
    result = validate_draft(
        SubmissionDraft.model_validate(draft(**overrides)), reference(), LIMITS, NOW
    )
    if isinstance(result, list):
        return [(e.field, e.code) for e in result]
    return result


def line_by_line(text: str) -> str:
    """The definition ``normalise_text`` implements without splitting the text into lines."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", " ", text)
    lines = [re.sub(r"[^\S\n]+", " ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


@given(st.text(alphabet=st.sampled_from(" \t\n\r\x0b\x0c\x1f\xa0\u2028\u3000ab\u0301ê")))
def test_normalised_text_is_the_line_by_line_definition(text: str) -> None:
    assert normalise_text(text) == line_by_line(text)


def test_valid_draft_is_accepted_with_its_place() -> None:
    accepted = check()
    assert isinstance(accepted, AcceptedDraft)
    assert accepted.phase.code == "phase-1"
    assert accepted.union_path[-1] == "ldld-ha-noi.h03.cs0002"


def test_text_is_normalised_to_nfc_with_folded_spacing() -> None:
    decomposed = unicodedata.normalize("NFD", "Tiết  kiệm\t điện\r\n\r\n\r\n  năng lượng ")
    assert normalise_text(decomposed) == "Tiết kiệm điện\n\nnăng lượng"
    accepted = check(title=unicodedata.normalize("NFD", "Sáng kiến   hòa mạng"))
    assert isinstance(accepted, AcceptedDraft)
    assert accepted.draft.title == unicodedata.normalize("NFC", "Sáng kiến hòa mạng")


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"union_code": "nowhere"}, ("union_code", "unknown_union")),
        ({"union_code": "ldld-ha-noi"}, ("union_code", "union_not_accepting")),
        ({"union_code": "vn"}, ("union_code", "union_not_accepting")),
        ({"submitted_at": "2021-08-31T23:59:00+07:00"}, ("submitted_at", "outside_phase")),
        ({"submitted_at": "2023-09-01T17:30:00Z"}, ("submitted_at", "outside_phase")),
        ({"submitted_at": "2024-01-01T00:11:00Z"}, ("submitted_at", "in_future")),
        ({"benefit_vnd": -1}, ("benefit_vnd", "negative")),
        ({"benefit_vnd": 10**14}, ("benefit_vnd", "too_large")),
        ({"title": "  Ab  "}, ("title", "too_short")),
        ({"effect": "x" * 10_001}, ("effect", "too_long")),
        (
            {"recognition": {"kind": "commendation_decision"}},
            ("recognition.decision_number", "missing"),
        ),
        (
            {
                "recognition": {
                    "kind": "recognition_decision",
                    "decision_number": "1/QĐ",
                    "decision_date": "2022-04-01",
                }
            },
            ("recognition.decision_date", "after_submission"),
        ),
        ({"author": {"name": "A", "email": "not-an-email"}}, ("author.email", "invalid_email")),
        ({"author": {"name": "A", "phone": "call me"}}, ("author.phone", "invalid_phone")),
        ({"author": {"name": "   "}}, ("author.name", "missing")),
        ({"author": {"name": "A", "email": "  "}}, ("author.email", "invalid_email")),
        ({"author": {"name": "A", "email": " a@b.vn"}}, ("author.email", "invalid_email")),
        ({"title": "a \u200bb c\u00a0d"}, ("title", "too_short")),  # four visible
        ({"title": "x" * 301}, ("title", "too_long")),
        (
            {"recognition": {"kind": "recognition_decision", "decision_number": "\u200b"}},
            ("recognition.decision_number", "missing"),
        ),
    ],
)
def test_each_rule_names_its_field(overrides: dict[str, Any], reason: tuple[str, str]) -> None:
    result = check(**overrides)
    assert isinstance(result, list)
    assert reason in result


def test_phase_two_starts_at_local_midnight() -> None:
    accepted = check(submitted_at="2022-05-31T17:00:00Z")
    assert isinstance(accepted, AcceptedDraft) and accepted.phase.code == "phase-2"


def test_an_empty_contact_is_none_and_a_whole_number_as_float_is_whole() -> None:
    accepted = check(author={"name": "A", "email": "", "phone": ""}, benefit_vnd=292.0)
    assert isinstance(accepted, AcceptedDraft)
    assert accepted.draft.author.email is None and accepted.draft.benefit_vnd == 292


def test_other_direct_recognition_needs_no_decision() -> None:
    assert isinstance(check(recognition={"kind": "other_direct"}), AcceptedDraft)


def test_every_failing_rule_is_reported_at_once() -> None:
    result = check(union_code="nowhere", benefit_vnd=-5, title="")
    assert isinstance(result, list)
    assert {f for f, _ in result} == {"union_code", "benefit_vnd", "title"}


@pytest.mark.parametrize("benefit", [1.5, "100", True])  # 292.0 is whole: see above
def test_benefit_must_be_a_whole_json_number(benefit: object) -> None:
    with pytest.raises(ValueError, match="benefit_vnd"):
        SubmissionDraft.model_validate(draft(benefit_vnd=benefit))


INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u202e\u00ad"


def sprinkled(text: str) -> str:
    """The text with an invisible character after every third one, as a quota gamer types it."""
    return "".join(
        c + INVISIBLE[i % len(INVISIBLE)] if i % 3 == 0 else c for i, c in enumerate(text)
    )


def test_invisible_characters_are_dropped_from_every_text() -> None:
    base = draft()
    accepted = check(
        title=sprinkled(base["title"]),
        situation=sprinkled(base["situation"]),
        author={
            **base["author"],
            "name": sprinkled("Nguyễn Văn A"),
            "member_id": "HN-\u200b000123",
        },
        recognition={**base["recognition"], "decision_number": "15/QĐ\u2060-CĐCS"},
    )
    clean = check()
    assert isinstance(accepted, AcceptedDraft) and isinstance(clean, AcceptedDraft)
    assert accepted.draft == clean.draft


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"author": {**draft()["author"], "member_id": "HN\x00123"}}, "author.member_id"),
        ({"author": {**draft()["author"], "email": "a\x00@example.vn"}}, "author.email"),
        ({"author": {**draft()["author"], "phone": "0912\x00345678"}}, "author.phone"),
        (
            {"recognition": {**draft()["recognition"], "decision_number": "15/QĐ\x00"}},
            "recognition.decision_number",
        ),
    ],
)
def test_a_control_character_in_a_one_line_field_is_refused_by_name(
    overrides: dict[str, Any], field: str
) -> None:
    assert (field, "control_characters") in check(**overrides)  # type: ignore[operator]


def test_a_nul_in_free_text_becomes_a_space() -> None:
    accepted = check(title="Cải tiến\x00quy trình kiểm tra")
    assert isinstance(accepted, AcceptedDraft)
    assert accepted.draft.title == "Cải tiến quy trình kiểm tra"
