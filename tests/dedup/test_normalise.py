"""Vietnamese normalisation: every way of typing the same text gives the same key."""

from __future__ import annotations

import random
import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.perturb import positive_classes
from pipeline.texts import initiative
from services.dedup.normalise import canonical, matching_key, strip_diacritics


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
        for _ in range(20):
            item = perturb(initiative(rng))
            for text in (item.title, item.situation, item.effect):
                assert matching_key(text) == strip_diacritics(canonical(text)), name


@settings(max_examples=500, deadline=None)
@given(
    st.text(
        alphabet=st.characters(max_codepoint=0x2100) | st.sampled_from("ạảãàáâậầấẩẫăắđĐƯơỡ–“”…"),
        max_size=40,
    )
)
def test_matching_keys_bytes_path_equals_its_general_path_on_any_text(text: str) -> None:
    for form in ("NFC", "NFD"):
        typed = unicodedata.normalize(form, text)
        folded = strip_diacritics(typed).casefold()
        assert matching_key(typed) == " ".join(re.sub(r"[\W_]+", " ", folded).split())


LATIN_AND_PUNCTUATION = st.one_of(
    st.characters(max_codepoint=0x36F),
    st.characters(min_codepoint=0x1E00, max_codepoint=0x1EFF),
    st.characters(min_codepoint=0x2000, max_codepoint=0x206F),
)


@settings(max_examples=1000, deadline=None)
@given(st.text(alphabet=LATIN_AND_PUNCTUATION, max_size=60))
def test_matching_keys_table_path_equals_its_general_path_on_latin_text(text: str) -> None:
    for form in ("NFC", "NFD"):
        typed = unicodedata.normalize(form, text)
        folded = strip_diacritics(typed).casefold()
        assert matching_key(typed) == " ".join(re.sub(r"[\W_]+", " ", folded).split())
