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
    least_agreeing,
    score_pair,
    shingle_sequence,
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


def test_shingles_are_hashed_syllable_ngrams() -> None:
    grams = shingle_sequence("a b c a b", 2).tolist()
    assert len(grams) == 4 and len(set(grams)) == 3 and grams[0] == grams[3]  # "a b" twice
    assert shingle_sequence("c a b", 2).tolist()[1] == grams[0]
    assert shingles("a b", 2) == {grams[0]} != shingles("b a", 2)  # in order
    assert len(shingles("a", 2)) == 1 and shingles("a", 2) != shingles("b", 2)
    assert shingles("", 2) == set()
    # Stored signatures are computed from these hashes: a change must rename kernels.NGRAM_HASH
    # and bump KEY_VERSION, so that they are computed again.
    assert grams[0] == 9506028779194449130


def test_similarity_takes_containment_for_truncated_copies() -> None:
    full, half = {1, 2, 3, 4}, {1, 2}
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
    states = {i: one_by_one.stored(one_by_one.probe(k).signature) for i, k in texts.items()}
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


def test_a_signature_stored_by_another_method_is_not_restored() -> None:
    index, other = Index(PARAMS), Index(replace(PARAMS, seed=PARAMS.seed + 1))
    probe = index.probe(key(initiative(random.Random(6))))
    restored = index.restore(index.stored(probe.signature))
    assert restored is not None and np.array_equal(restored, probe.signature)
    assert index.restore(other.stored(other.probe(probe.key).signature)) is None
    assert index.restore(index.stored(probe.signature)[:-4]) is None


def test_an_unreadable_stored_signature_is_recomputed() -> None:
    index = Index(PARAMS)
    original = key(initiative(random.Random(5)))
    index.add_many([("s0", original, b"not a stored signature")])
    texts = {"s0": original}
    match = index.screen("new", index.probe(original + " them"), texts)
    assert match.best_match == "s0"


def test_the_sift_keeps_the_signatures_agreeing_on_enough_low_bits_best_first() -> None:
    rng = np.random.default_rng(5)
    digests = rng.integers(0, 2**32, size=(9000, 128), dtype=np.uint64)
    query = digests[7].copy()
    digests[:, :40] = query[:40]  # every signature shares 40 values with the query...
    digests[::3, 100:] = query[100:]  # ...and a third of them 28 more
    fingerprints = Fingerprints(128)
    fingerprints.append(Fingerprints.of(digests[:1000].tolist()))
    fingerprints.append(Fingerprints.of(digests[1000:].tolist()))  # past the first 1,024 rows
    positions = np.concatenate((rng.permutation(9000), rng.integers(0, 9000, 500)))  # repeats
    agreement = ((digests & 0xF) == (query & 0xF)).sum(1)
    kept, agreeing = fingerprints.sift(positions, Fingerprints.of([query.tolist()])[0], 70)
    wanted = np.flatnonzero(agreement >= 70)
    assert 2500 < len(wanted) < 3100  # the third that shares 68 values, by and large
    assert sorted(kept.tolist()) == wanted.tolist()
    assert (agreeing == agreement[kept]).all()
    assert kept[0] == 7 and agreeing[0] == 128
    assert list(zip(-agreeing, kept, strict=True)) == sorted(zip(-agreeing, kept, strict=True))


def test_signatures_at_the_rescore_floor_pass_the_sift_half_the_time_and_unrelated_ones_never() -> (
    None
):
    rng = np.random.default_rng(11)
    query = rng.integers(0, 2**32, size=128, dtype=np.uint64)
    digests = rng.integers(0, 2**32, size=(40_000, 128), dtype=np.uint64)
    shared = round(PARAMS.rescore_floor * 128)
    digests[:20_000, :shared] = query[:shared]  # at the floor
    digests[20_000:, :32] = query[:32]  # as alike as two initiatives of one field (J = 0.25)
    fingerprints = Fingerprints(128)
    fingerprints.append(Fingerprints.of(digests))
    floor = least_agreeing(PARAMS.rescore_floor, 128)
    kept, _ = fingerprints.sift(np.arange(40_000), Fingerprints.of(query[None])[0], floor)
    assert 0.45 < (kept < 20_000).sum() / 20_000 < 0.7
    assert (kept >= 20_000).sum() < 20


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
