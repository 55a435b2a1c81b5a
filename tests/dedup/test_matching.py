"""Matching: exact and near duplicates, negatives, self and dismissed pairs excluded."""

from __future__ import annotations

import random
from dataclasses import replace

import numpy as np
import pytest

from pipeline.perturb import combine, edit_words, strip_accents, truncate, with_preamble
from pipeline.texts import Initiative, initiative, preamble
from services.dedup.matching import (
    Fingerprints,
    Index,
    MatchingParameters,
    document_text,
    most_differing_bits,
    score_pair,
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
    assert shingles("a", 2) == {"a"}
    assert shingles("", 2) == set()


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


def test_fingerprints_count_the_values_and_low_bits_a_query_shares_with_each_signature() -> None:
    rng = np.random.default_rng(5)
    digests = rng.integers(0, 2**32, size=(9000, 128), dtype=np.uint64)
    query = digests[7].copy()
    digests[:, :40] = query[:40]  # every signature shares 40 values with the query...
    digests[::3, 100:] = query[100:]  # ...and a third of them 28 more
    fingerprints = Fingerprints(128)
    fingerprints.append(*Fingerprints.of(digests[:1000].tolist()))
    fingerprints.append(*Fingerprints.of(digests[1000:].tolist()))  # past the first 1,024 rows
    positions = rng.permutation(9000)
    own, own_bits = Fingerprints.of([query.tolist()])
    low = digests.astype(np.uint8)[positions]
    agreement = fingerprints.agreement(positions, own[0])
    assert (agreement == (low == own[0]).sum(1)).all()
    assert agreement[positions == 7][0] == 128
    differing = fingerprints.differing_bits(positions, own_bits[0])
    assert (differing == ((low & 1) != (own[0] & 1)).sum(1)).all()
    assert differing[positions == 7][0] == 0


def test_few_candidates_at_the_rescore_floor_differ_in_more_low_bits_than_allowed() -> None:
    rng = np.random.default_rng(11)
    query = rng.integers(0, 2**32, size=128, dtype=np.uint64)
    digests = rng.integers(0, 2**32, size=(20_000, 128), dtype=np.uint64)
    shared = round(PARAMS.rescore_floor * 128)
    digests[:, :shared] = query[:shared]  # every one at the floor
    fingerprints = Fingerprints(128)
    fingerprints.append(*Fingerprints.of(digests.tolist()))
    differing = fingerprints.differing_bits(
        np.arange(20_000), Fingerprints.of([query.tolist()])[1][0]
    )
    limit = most_differing_bits(PARAMS.rescore_floor, 128)
    assert (differing > limit).mean() < 0.005
    assert limit < 64  # still sifts out unrelated signatures (half their bits differ)


UNIT = "Công đoàn Công ty TNHH Điện tử Hải Phòng"


def test_different_initiatives_after_one_unit_preamble_are_not_copies_of_each_other() -> None:
    rng = random.Random(31)
    pasted = combine(truncate(0.4), with_preamble(preamble(rng, UNIT)))
    filings = [pasted(initiative(rng)) for _ in range(12)]
    plain = replace(PARAMS, template_run=0)
    index, texts = indexed(*filings[:-1])
    last = index.probe(key(filings[-1]))
    assert index.screen("q", last, texts).verdict is Verdict.UNIQUE
    # Without its template handling the method flags it: the preamble is most of the text.
    scores = [
        similarity(last.shingles, shingles(text, 2), plain.containment_weight)
        for text in texts.values()
    ]
    assert max(scores) >= PARAMS.threshold


def test_a_refiling_with_the_preamble_added_finds_its_original_behind_the_preamble() -> None:
    rng = random.Random(32)
    template = preamble(rng, UNIT)
    others = [with_preamble(template)(initiative(rng)) for _ in range(30)]
    original = initiative(rng)
    index, texts = indexed(original, *others)  # the original is s0
    match = index.screen("q", index.probe(key(with_preamble(template)(original))), texts)
    assert (match.verdict, match.best_match) == (Verdict.NEAR_DUPLICATE, "s0")


def test_a_copy_sharing_a_long_run_with_its_original_scores_as_before() -> None:
    rng = random.Random(33)
    for _ in range(50):
        original = initiative(rng)
        copy = edit_words(rng, 0.05)(original)
        probe = Index(PARAMS).probe(key(copy))
        theirs = shingles(key(original), PARAMS.shingle_size)
        full = similarity(probe.shingles, theirs, PARAMS.containment_weight)
        assert score_pair(probe.sequence, probe.shingles, theirs, PARAMS).score == full
