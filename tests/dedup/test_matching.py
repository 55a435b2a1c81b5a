"""Matching: exact and near duplicates, negatives, self and dismissed pairs excluded."""

from __future__ import annotations

import random

import numpy as np
import pytest

from pipeline.perturb import edit_words, strip_accents, truncate
from pipeline.texts import Initiative, initiative
from services.dedup.matching import (
    Fingerprints,
    Index,
    MatchingParameters,
    document_text,
    shingles,
    similarity,
)
from shared.contracts.submission import Verdict

PARAMS = MatchingParameters()


def key(item: Initiative) -> str:
    return document_text(item.title, *item.content())


def indexed(*items: Initiative) -> tuple[Index, dict[str, str]]:
    index, texts = Index(PARAMS), {}
    for number, item in enumerate(items):
        texts[f"s{number}"] = key(item)
        index.add(f"s{number}", index.probe(texts[f"s{number}"]))
    return index, texts


def test_shingles_are_syllable_ngrams() -> None:
    assert sorted(shingles("a b c a b", 2)) == ["a b", "b c", "c a"]
    assert shingles("a", 2) == ["a"]
    assert shingles("", 2) == []


def test_similarity_takes_containment_for_truncated_copies() -> None:
    full, half = {"a", "b", "c", "d"}, {"a", "b"}
    assert similarity(full, half, 0.7) == 0.7
    assert similarity(full, half, 0.0) == 0.5
    assert similarity(set(), half, 0.7) == 0.0


def test_exact_copy_without_accents_is_an_exact_duplicate() -> None:
    rng = random.Random(1)
    original = initiative(rng)
    index, texts = indexed(original, initiative(rng))
    match = index.screen("new", index.probe(key(strip_accents(original))), texts)
    assert (match.verdict, match.best_match, match.score) == (Verdict.EXACT_DUPLICATE, "s0", 1.0)


def test_edited_copy_is_a_near_duplicate_of_its_original() -> None:
    rng = random.Random(2)
    original = initiative(rng)
    others = [initiative(rng, original.field) for _ in range(30)]
    index, texts = indexed(*others, original)
    copy = truncate(0.7)(edit_words(rng, 0.1)(original))
    match = index.screen("new", index.probe(key(copy)), texts)
    assert match.verdict is Verdict.NEAR_DUPLICATE
    assert match.best_match == f"s{len(others)}"
    assert match.candidates[0].submission_id == match.best_match


def test_a_document_never_matches_itself_and_dismissed_pairs_are_skipped() -> None:
    rng = random.Random(3)
    original = initiative(rng)
    index, texts = indexed(original)
    assert index.screen("s0", index.probe(key(original)), texts).verdict is Verdict.UNIQUE
    dismissed = index.screen("new", index.probe(key(original)), texts, dismissed=frozenset({"s0"}))
    assert dismissed.verdict is Verdict.UNIQUE


def test_bulk_rebuild_finds_what_single_inserts_find() -> None:
    rng = random.Random(4)
    items = [initiative(rng) for _ in range(50)]
    one_by_one, texts = indexed(*items)
    bulk = Index(PARAMS)
    states = {i: one_by_one.probe(k).stored_signature() for i, k in texts.items()}
    # Half restored from stored signatures, half recomputed (stored before signatures were kept).
    bulk.add_many((i, k, states[i] if n % 2 else None) for n, (i, k) in enumerate(texts.items()))
    probe = bulk.probe(key(edit_words(rng, 0.05)(items[17])))
    assert bulk.screen("q", probe, texts) == one_by_one.screen("q", probe, texts)


@pytest.mark.parametrize("seed", range(30))
def test_different_initiatives_of_one_field_are_unique(seed: int) -> None:
    rng = random.Random(seed)
    first = initiative(rng)
    second = initiative(rng, first.field)
    index, texts = indexed(first)
    assert index.screen("new", index.probe(key(second)), texts).verdict is Verdict.UNIQUE


def test_an_unreadable_stored_signature_is_recomputed() -> None:
    index = Index(PARAMS)
    original = key(initiative(random.Random(5)))
    index.add_many([("s0", original, b"not a rensa state")])
    texts = {"s0": original}
    match = index.screen("new", index.probe(original + " them"), texts)
    assert match.best_match == "s0"


def test_fingerprints_count_the_values_a_query_shares_with_each_signature() -> None:
    rng = np.random.default_rng(5)
    digests = rng.integers(0, 2**32, size=(9000, 128), dtype=np.uint64)
    query = digests[7].copy()
    digests[:, :40] = query[:40]  # every signature shares 40 head values with the query...
    digests[::3, 100:] = query[100:]  # ...and a third of them 28 tail values too
    fingerprints = Fingerprints(128)
    fingerprints.append(Fingerprints.of(digests[:1000].tolist()))
    fingerprints.append(Fingerprints.of(digests[1000:].tolist()))  # past the first 1,024 rows
    positions = rng.permutation(9000)  # more than one chunk of 4,096
    own = Fingerprints.of([query.tolist()])[0]
    low = digests.astype(np.uint8)[positions]
    head = fingerprints.head_agreement(positions, own)
    assert (head == (low[:, :64] == own[:64]).sum(1)).all()
    assert (fingerprints.tail_agreement(positions, own) == (low[:, 64:] == own[64:]).sum(1)).all()
    seventh = np.array([7])
    whole = fingerprints.head_agreement(seventh, own) + fingerprints.tail_agreement(seventh, own)
    assert whole[0] == 128
