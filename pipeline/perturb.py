"""How a copied initiative changes between filings: the perturbation classes of
``docs/design.md`` ("Semantics")."""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Callable
from dataclasses import replace

import icu

from pipeline.texts import Initiative, initiative, preamble

_TONES = "\u0300\u0301\u0303\u0309\u0323"
_TRADITIONAL = re.compile(rf"(?<![qQ])([oOuU])([{_TONES}])([aAeEyY])(?![\w])")
FILLER = ("thêm", "các", "những", "rất", "đã", "được", "việc", "nhằm", "cũng", "tại", "này")


def _map_text(item: Initiative, change: Callable[[str], str], title: bool = True) -> Initiative:
    return replace(
        item,
        title=change(item.title) if title else item.title,
        situation=change(item.situation),
        solution=change(item.solution),
        effect=change(item.effect),
    )


def edit_words(rng: random.Random, share: float) -> Callable[[Initiative], Initiative]:
    """Replace, drop or insert ``share`` of the words."""

    def change(text: str) -> str:
        words = text.split()
        for _ in range(max(1, round(len(words) * share))):
            position = rng.randrange(len(words))
            action = rng.random()
            if action < 0.4:
                words[position] = rng.choice(FILLER)
            elif action < 0.7 and len(words) > 3:
                del words[position]
            else:
                words.insert(position, rng.choice(FILLER))
        return " ".join(words)

    return lambda item: _map_text(item, change)


def reorder_sentences(rng: random.Random) -> Callable[[Initiative], Initiative]:
    """Shuffle the sentences of each part."""

    def change(text: str) -> str:
        sentences = [s for s in text.split(". ") if s]
        rng.shuffle(sentences)
        return ". ".join(sentences)

    return lambda item: _map_text(item, change, title=False)


def change_title(rng: random.Random) -> Callable[[Initiative], Initiative]:
    """A new title over the same content."""
    return lambda item: replace(item, title=initiative(rng, item.field).title)


def without_accents(text: str) -> str:
    """``text`` as typed on a keyboard without Vietnamese input."""
    bare = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
    return bare.replace("đ", "d").replace("Đ", "D")


def strip_accents(item: Initiative) -> Initiative:
    """Typed without diacritics."""
    return _map_text(item, without_accents)


def to_nfd(item: Initiative) -> Initiative:
    """Sent decomposed (NFD), as some keyboards and browsers do."""
    return _map_text(item, lambda text: unicodedata.normalize("NFD", text))


def new_tone_placement(item: Initiative) -> Initiative:
    """ "hòa" written "hoà", "thủy" written "thuỷ"."""

    def change(text: str) -> str:
        moved = _TRADITIONAL.sub(r"\1\3\2", unicodedata.normalize("NFD", text))
        return unicodedata.normalize("NFC", moved)

    return _map_text(item, change)


SENTENCE_PUNCTUATION = re.compile(r"[.,;](\s|$)")


def spacing_and_punctuation(rng: random.Random) -> Callable[[Initiative], Initiative]:
    """Doubled spaces, dropped or changed sentence punctuation, other case. Punctuation inside
    numbers ("1.200", "2,5") is left alone: dropping it would join two numbers into another."""

    def change(text: str) -> str:
        text = text.replace(", ", " ,  ").replace(". ", " ; ") if rng.random() < 0.5 else text
        return text.upper() if rng.random() < 0.3 else SENTENCE_PUNCTUATION.sub(r"\1", text)

    return lambda item: _map_text(item, change)


def truncate(share: float) -> Callable[[Initiative], Initiative]:
    """Only the first ``share`` of each part."""

    def change(text: str) -> str:
        words = text.split()
        return " ".join(words[: max(3, round(len(words) * share))])

    return lambda item: _map_text(item, change, title=False)


def extend(rng: random.Random) -> Callable[[Initiative], Initiative]:
    """A paragraph added to the solution and the effect."""

    def apply(item: Initiative) -> Initiative:
        extra = initiative(rng, item.field)
        return replace(
            item,
            solution=f"{item.solution} {extra.solution}",
            effect=f"{item.effect} Ngoài ra, {extra.effect}",
        )

    return apply


def _look_alikes() -> dict[str, list[str]]:
    """Each ASCII lowercase letter and the Cyrillic and Greek lowercase letters drawn like it
    (those whose UTS #39 skeleton is that letter, from ICU's confusables data)."""
    spoof = icu.SpoofChecker()
    found: dict[str, list[str]] = {}
    for code in range(0x370, 0x500):
        char = chr(code)
        skeleton = spoof.getSkeleton(0, char)
        if char.islower() and len(skeleton) == 1 and "a" <= skeleton <= "z":
            found.setdefault(skeleton, []).append(char)
    return found


LOOK_ALIKES = _look_alikes()
INVISIBLE = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff")


def look_alike_letters(rng: random.Random, share: float) -> Callable[[Initiative], Initiative]:
    """``share`` of the letters that have one replaced by a Cyrillic or Greek look-alike
    ("а", "е", "о", "р", "с", "х", "у", "і"…): the copy reads the same on screen."""

    def change(text: str) -> str:
        return "".join(
            rng.choice(LOOK_ALIKES[c]) if c in LOOK_ALIKES and rng.random() < share else c
            for c in text
        )

    return lambda item: _map_text(item, change)


def invisible_characters(rng: random.Random, share: float) -> Callable[[Initiative], Initiative]:
    """Zero-width spaces and joiners, word joiners and byte-order marks inside ``share`` of
    the words: the copy reads the same on screen."""

    def change(text: str) -> str:
        words = text.split(" ")
        for position, word in enumerate(words):
            if len(word) > 1 and rng.random() < share:
                cut = rng.randrange(1, len(word))
                words[position] = word[:cut] + rng.choice(INVISIBLE) + word[cut:]
        return " ".join(words)

    return lambda item: _map_text(item, change)


def with_preamble(template: str) -> Callable[[Initiative], Initiative]:
    """A unit's paragraph about the campaign pasted before the situation."""
    return lambda item: replace(item, situation=f"{template} {item.situation}")


# The unit whose preamble the generated filings paste (one unit: the same paragraph each time).
PREAMBLE_UNIT = "Công đoàn Công ty Cổ phần May Sông Hồng"


def combine(*steps: Callable[[Initiative], Initiative]) -> Callable[[Initiative], Initiative]:
    """Several perturbations one after the other."""

    def apply(item: Initiative) -> Initiative:
        for step in steps:
            item = step(item)
        return item

    return apply


# Classes that change only what matching folds away: their copies are exact duplicates.
FORM_ONLY_CLASSES = frozenset(
    {
        "diacritics stripped",
        "NFD",
        "new tone placement",
        "spacing and punctuation",
        "look-alike letters",
        "invisible characters",
    }
)
# Classes whose tricks the key undoes beyond Vietnamese normalisation (``canonical``).
DISGUISE_CLASSES = frozenset(
    {
        "look-alike letters",
        "invisible characters",
        "combined: 10% edits, look-alikes, invisible",
    }
)


def positive_classes(
    rng: random.Random, template: str | None = None
) -> dict[str, Callable[[Initiative], Initiative]]:
    """Every near-duplicate class, by name; ``template``: the preamble that one class's copies
    add (by default one of ``PREAMBLE_UNIT``, about 200 words)."""
    template = template or preamble(rng, PREAMBLE_UNIT)
    return {
        "edit 5% of words": edit_words(rng, 0.05),
        "edit 10% of words": edit_words(rng, 0.10),
        "edit 20% of words": edit_words(rng, 0.20),
        "reordered sentences": reorder_sentences(rng),
        "changed title": change_title(rng),
        "diacritics stripped": strip_accents,
        "NFD": to_nfd,
        "new tone placement": new_tone_placement,
        "spacing and punctuation": spacing_and_punctuation(rng),
        "look-alike letters": look_alike_letters(rng, 0.3),
        "invisible characters": invisible_characters(rng, 0.3),
        "truncated to 60%": truncate(0.6),
        "extended": extend(rng),
        "preamble added": with_preamble(template),
        "combined: 10% edits, no accents, reordered": combine(
            edit_words(rng, 0.10), strip_accents, reorder_sentences(rng)
        ),
        "combined: new title, NFD, truncated": combine(change_title(rng), to_nfd, truncate(0.7)),
        "combined: 10% edits, look-alikes, invisible": combine(
            edit_words(rng, 0.10), look_alike_letters(rng, 0.5), invisible_characters(rng, 0.5)
        ),
    }
