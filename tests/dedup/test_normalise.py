"""Vietnamese normalisation: every way of typing the same text gives the same key."""

from __future__ import annotations

import random
import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.perturb import DISGUISE_CLASSES, positive_classes
from pipeline.texts import initiative
from services.dedup.normalise import canonical, lookalike, matching_key, strip_diacritics


@pytest.mark.parametrize(
    ("new", "traditional"),
    [
        ("hoà", "hòa"),
        ("thuỷ", "thủy"),
        ("khoẻ", "khỏe"),
        ("Hoá đơn", "hóa đơn"),
        ("tuỳ", "tùy"),
        ("Điều hoà", "điều hòa"),
    ],
)
def test_tone_placement_is_folded(new: str, traditional: str) -> None:
    assert canonical(new) == canonical(traditional) == traditional.casefold()


def test_closed_syllables_and_qu_keep_their_tone() -> None:
    assert canonical("hoàng khoảng quý thuận") == "hoàng khoảng quý thuận"


def test_nfd_case_spacing_and_punctuation_fold() -> None:
    nfd = unicodedata.normalize("NFD", "  TIẾT KIỆM   điện,năng-lượng!! ")
    assert canonical(nfd) == "tiết kiệm điện năng lượng"


def test_diacritics_and_d_stroke_are_stripped() -> None:
    assert strip_diacritics("Đường điện Ưu tiên") == "Duong dien Uu tien"
    assert matching_key("Đổi mới hoà mạng") == matching_key("doi moi hoa mang")


def test_fast_matching_key_equals_the_full_normalisation() -> None:
    rng = random.Random(41)
    for name, perturb in positive_classes(rng).items():
        if name in DISGUISE_CLASSES:
            continue
        for _ in range(20):
            item = perturb(initiative(rng))
            for text in (item.title, item.situation, item.effect):
                assert matching_key(text) == strip_diacritics(canonical(text)), name


def drawn(char: str) -> str:
    """One character as a key writes it: its base letter, case folded; an invisible format
    character, nothing; a character of another script drawn like an ASCII letter, that
    letter."""
    if unicodedata.category(char) == "Cf":
        return ""
    folded = re.sub(r"[\W_]+", " ", strip_diacritics(char).casefold())
    if len(folded) <= 1 and folded.isascii():
        return folded
    return lookalike(char) or (lookalike(folded) if len(folded) == 1 else None) or folded


def definition(text: str) -> str:
    """What ``matching_key`` is defined to return."""
    folded = "".join(map(drawn, text))
    return " ".join(re.sub(r"[\W_]+", " ", folded).split())


def assert_key_is_its_definition(text: str) -> None:
    for form in ("NFC", "NFD"):
        typed = unicodedata.normalize(form, text)
        assert matching_key(typed) == definition(typed)


@settings(max_examples=500, deadline=None)
@given(
    st.text(
        alphabet=st.characters(max_codepoint=0x2100)
        | st.characters(min_codepoint=0xFE00, max_codepoint=0x1FFFF)
        | st.sampled_from("ạảãàáâậầấẩẫăắđĐƯơỡ–“”…\u200b\u200d\u2060\ufeff"),
        max_size=40,
    )
)
def test_matching_key_is_its_definition_on_any_text(text: str) -> None:
    assert_key_is_its_definition(text)


# Latin letters, marks and punctuation that fold to one ASCII character or none: texts of these
# take the key's table path.
LATIN_AND_PUNCTUATION = st.sampled_from(
    [
        char
        for char in map(chr, (*range(0x370), *range(0x1E00, 0x1F00), *range(0x2000, 0x2070)))
        if len(definition(char)) <= 1 and definition(char).isascii()
    ]
)


@settings(max_examples=1000, deadline=None)
@given(st.text(alphabet=LATIN_AND_PUNCTUATION, max_size=60))
def test_matching_key_is_its_definition_on_latin_text(text: str) -> None:
    assert_key_is_its_definition(text)


@pytest.mark.parametrize(
    ("copy", "original"),
    [
        ("Ѕáng кiến сải tiến quу trình", "Sáng kiến cải tiến quy trình"),  # Cyrillic
        ("Τiết κiệm điện ΝĂΝG", "Tiết kiệm điện NĂNG"),  # Greek
        ("ｓáng 𝐤iến 𝓬ải tiến", "sáng kiến cải tiến"),  # fullwidth, mathematical
        ("Sáng\u200b ki\u200dến c\u2060ải\ufeff tiến", "Sáng kiến cải tiến"),  # invisible
    ],
)
def test_look_alike_and_invisible_characters_give_the_original_key(
    copy: str, original: str
) -> None:
    assert matching_key(copy) == matching_key(original)
    assert matching_key(unicodedata.normalize("NFD", copy)) == matching_key(original)


def test_vietnamese_letters_are_never_folded_beyond_their_base_letter() -> None:
    letters = "aăâbcdđeêghiklmnoôơpqrstuưvxy"
    keys = {letter: matching_key(letter) for letter in letters + letters.upper()}
    assert keys == {
        letter: strip_diacritics(letter).casefold() for letter in letters + letters.upper()
    }
    # The key of no letter is another's: đ is d, ơ and ô are o, and nothing else moves.
    assert len({matching_key(letter) for letter in letters}) == len(
        set(map(strip_diacritics, letters))
    )
