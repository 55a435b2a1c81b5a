"""The contract's length patterns say exactly what the service counts."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from shared.text import INVISIBLE, at_least_visible, visible_length

# Text from every plane, with the invisible characters drawn often.
TEXT = st.text(
    st.one_of(st.characters(), st.sampled_from(" \t\n\x00\x7f\xa0\u200b\u2060\ufeff\U000e0020")),
    max_size=20,
)


@given(TEXT, st.integers(min_value=0, max_value=12))
def test_the_pattern_holds_exactly_when_enough_characters_are_visible(
    text: str, least: int
) -> None:
    assert bool(re.search(at_least_visible(least), text)) == (visible_length(text) >= least)


def test_white_space_control_and_format_characters_are_not_counted() -> None:
    assert visible_length("  a\u200bb\x00 \u00a0c\ufeff\n") == 3
    assert visible_length("Sáng kiến") == 8


def test_the_class_is_the_same_in_python_and_in_json_schema_validators() -> None:
    # BMP characters as \uXXXX escapes (read alike by Python and ECMA-262), others as themselves.
    assert all(ord(c) < 128 or ord(c) > 0xFFFF for c in INVISIBLE)
