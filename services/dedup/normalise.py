"""Vietnamese-aware normalisation for duplicate matching (pure functions).

The same initiative reaches us typed in many ways: NFC or NFD, the old or new tone placement
("hòa"/"hoà", "thủy"/"thuỷ"), any case, spacing and punctuation, or with no accents at all.
``canonical`` folds all but the last; ``matching_key`` also drops the diacritics (đ → d) so that a
copy typed without accents matches its original.
"""

from __future__ import annotations

import re
import unicodedata

import icu
import numpy as np

from services.dedup import kernels

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


_DROPPED, _UNKNOWN, _SPACE = 0, 255, 32
# Bumped whenever a matching key, or the signature computed from it, changes for some text:
# stored keys (and signatures) of another version are derived again when the index is rebuilt.
# 3: the same keys as 2, signed from hashed n-grams.
KEY_VERSION = 3
# Every code point below this has its entry in the key table; later ones (rare scripts) are
# looked at one by one.
_TABLE_END = 0x20000
_SPOOF = icu.SpoofChecker()


def _fold(text: str) -> str:
    return _NOT_WORD.sub(" ", strip_diacritics(text).casefold())


def lookalike(char: str) -> str | None:
    """The ASCII letter or digit (folded) that the character ``char`` is drawn like, if any.

    From Unicode's confusables (UTS #39 skeleton, ICU's data): Cyrillic "а", "р", "с", Greek
    "ο", fullwidth and mathematical letters… A lowercase letter whose skeleton is no ASCII
    letter is taken as its capital ("к" is drawn as a small "К", whose skeleton is "K").
    """
    for form in (char, char.upper()):
        skeleton = _fold(_SPOOF.getSkeleton(0, form)).strip()
        if len(skeleton) == 1 and skeleton.isascii() and skeleton.isalnum():
            return skeleton
    return None


def _key_byte(code: int) -> int:
    """What one character becomes in a matching key: an ASCII byte, ``_DROPPED`` (a combining
    mark, an invisible format character) or ``_UNKNOWN`` (anything else: ß → ss, ideographs…).

    Latin letters keep their own base letter (Vietnamese letters fold only as the key always
    folded them); other characters become the ASCII letter they are drawn like, if any.
    """
    if 0xD800 <= code < 0xE000:
        return _UNKNOWN
    char = chr(code)
    if unicodedata.category(char) == "Cf":  # zero-width space and joiner, word joiner, BOM…
        return _DROPPED
    folded = _fold(char)
    if not folded:
        return _DROPPED
    if len(folded) == 1 and folded.isascii():
        return ord(folded)
    # A capital first as it is drawn (Greek "Η" is an H; folded, "η" would be an n).
    drawn_like = lookalike(char) or (lookalike(folded) if len(folded) == 1 else None)
    return ord(drawn_like) if drawn_like is not None else _UNKNOWN


# Every code point of the table's range to what it becomes in a matching key, and one more
# entry, unknown, for every later one. Dropping the marks makes every step of the key local to
# one character (NFD decomposes character by character, case folding too), so one table lookup
# per character does it all.
_KEY_BYTES = np.array([*map(_key_byte, range(_TABLE_END)), _UNKNOWN], dtype=np.uint8)
# The same for the general path, as a str.translate table: look-alikes to their ASCII letter,
# format characters dropped.
_LOOKALIKES: dict[int, str | None] = {
    code: None if byte == _DROPPED else chr(byte)
    for code, byte in enumerate(_KEY_BYTES[:_TABLE_END].tolist())
    if code >= 0x80
    and byte != _UNKNOWN
    and (byte != _DROPPED or unicodedata.category(chr(code)) == "Cf")
}


def _general_key(text: str) -> str:
    return " ".join(_fold(text.translate(_LOOKALIKES)).split())


def matching_key(text: str) -> str:
    """The diacritics-insensitive canonical form that matching works on.

    For Vietnamese text, equal to ``strip_diacritics(canonical(text))``, but without the
    tone-placement pass, which dropping the tone marks makes moot, and, when the text holds
    only Latin letters and punctuation (nearly always), one table lookup per character,
    compiled: this runs for every document screened.
    """
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    key = kernels.key_bytes(codes, _KEY_BYTES, _DROPPED, _UNKNOWN)
    return _general_key(text) if key is None else key.tobytes().decode("ascii")
