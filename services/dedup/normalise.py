"""Vietnamese-aware normalisation for duplicate matching (pure functions).

The same initiative reaches us typed in many ways: NFC or NFD, the old or new tone placement
("hòa"/"hoà", "thủy"/"thuỷ"), any case, spacing and punctuation, or with no accents at all.
``canonical`` folds all but the last; ``matching_key`` also drops the diacritics (đ → d) so that a
copy typed without accents matches its original.
"""

from __future__ import annotations

import re
import unicodedata

_TONES = "\u0300\u0301\u0303\u0309\u0323"  # huyền, sắc, ngã, hỏi, nặng (combining, in NFD)
# Open syllables "oa", "oe", "uy" carry the tone on the first vowel in the traditional placement
# ("hòa", "khỏe", "thủy"); the new placement puts it on the second ("hoà"). "qu" + "y" is a
# consonant and a vowel ("quý"), so it is left alone.
_NEW_TONE_PLACEMENT = re.compile(
    rf"(?<![qQ])([oO])([aAeE])([{_TONES}])(?![\w])|(?<![qQ])([uU])([yY])([{_TONES}])(?![\w])"
)
_NOT_WORD = re.compile(r"[\W_]+")


def _traditional_tone(match: re.Match[str]) -> str:
    if match.group(1):
        return match.group(1) + match.group(3) + match.group(2)
    return match.group(4) + match.group(6) + match.group(5)


def canonical(text: str) -> str:
    """NFC, traditional tone placement, case folded, punctuation and spacing folded."""
    decomposed = unicodedata.normalize("NFD", text)
    decomposed = _NEW_TONE_PLACEMENT.sub(_traditional_tone, decomposed)
    folded = unicodedata.normalize("NFC", decomposed).casefold()
    return " ".join(_NOT_WORD.sub(" ", folded).split())


def _base_letter(char: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", char) if unicodedata.category(c) != "Mn")


# Every precomposed Latin letter (Vietnamese ones live in U+00C0–U+024F and U+1E00–U+1EFF) to its
# base letter: one str.translate instead of a Python loop over characters.
_BARE = {
    code: _base_letter(chr(code))
    for code in (*range(0xC0, 0x250), *range(0x1E00, 0x1F00))
    if _base_letter(chr(code)) != chr(code)
} | {ord("đ"): "d", ord("Đ"): "D"}


def strip_diacritics(text: str) -> str:
    """The text without tone marks or vowel modifiers, đ as d."""
    composed = unicodedata.normalize("NFC", text)
    bare = composed.translate(_BARE)
    if bare.isascii():
        return bare
    return "".join(c for c in unicodedata.normalize("NFD", bare) if unicodedata.category(c) != "Mn")


# For ASCII text, what ``casefold`` and ``_NOT_WORD`` do, as one bytes.translate table: letters
# and digits kept (capitals lowered), everything else a space.
_ASCII_FOLD = (
    bytes((c if chr(c).isalnum() else 32) if c < 65 or c > 90 else c + 32 for c in range(128))
    + b" " * 128
)
# In NFD, with đ/Đ replaced, Vietnamese text is ASCII and combining marks only.
_NOT_ASCII_OR_MARK = re.compile("[^\x00-\x7f\u0300-\u036f]")


def matching_key(text: str) -> str:
    """The diacritics-insensitive canonical form that matching works on.

    For Vietnamese text, equal to ``strip_diacritics(canonical(text))``, but without the
    tone-placement pass, which dropping the tone marks makes moot, and, when the text holds
    only ASCII and Vietnamese letters (nearly always), on bytes: this runs for every document
    screened.
    """
    decomposed = unicodedata.normalize("NFD", text).replace("đ", "d").replace("Đ", "D")
    if _NOT_ASCII_OR_MARK.search(decomposed) is None:
        bare = decomposed.encode("ascii", "ignore")  # drops exactly the combining marks
        return b" ".join(bare.translate(_ASCII_FOLD).split()).decode()
    return " ".join(_NOT_WORD.sub(" ", strip_diacritics(text).casefold()).split())
