"""LSH bands in a sorted array find exactly what per-band buckets find."""

from __future__ import annotations

import numpy as np
import pytest

from services.dedup.bands import BandIndex

PERM, BANDS = 128, 32


def shares_a_band(signatures: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Brute force: the rows that agree with ``query`` on every value of some band."""
    rows = signatures.reshape(len(signatures), BANDS, PERM // BANDS)
    same = (rows == query.reshape(BANDS, PERM // BANDS)).all(axis=2).any(axis=1)
    return np.flatnonzero(same)


def corpus(rng: np.random.Generator, count: int) -> np.ndarray:
    """Signatures of small values, so that bands agree by chance as well as by copying."""
    signatures = rng.integers(0, 3, size=(count, PERM), dtype=np.uint32)
    for row in range(1, count, 7):  # near copies: most values of an earlier one
        keep = rng.random(PERM) < 0.8
        signatures[row, keep] = signatures[row - 1, keep]
    return signatures


def test_a_query_finds_every_signature_sharing_a_band_bulk_and_one_by_one() -> None:
    rng = np.random.default_rng(7)
    signatures = corpus(rng, 6_000)
    index = BandIndex(PERM, BANDS)
    index.extend(0, signatures[:2_500])
    index.extend(2_500, signatures[2_500:4_000])
    index.settle()
    for position in range(4_000, 6_000):  # through several merges of the recent ones
        index.add(position, index.keys(signatures[position : position + 1])[0])
        if position % 250 == 0:
            query = signatures[rng.integers(0, position)]
            found = np.unique(index.query(index.keys(query[None])[0]))
            assert found.tolist() == shares_a_band(signatures[: position + 1], query).tolist()
    assert len(index) == 6_000
    unseen = rng.integers(0, 3, size=PERM, dtype=np.uint32)
    found = np.unique(index.query(index.keys(unseen[None])[0]))
    assert found.tolist() == shares_a_band(signatures, unseen).tolist()


def test_an_empty_index_finds_nothing_and_bands_must_divide_the_signature() -> None:
    empty = BandIndex(PERM, BANDS)
    assert empty.query(empty.keys(np.zeros((1, PERM), dtype=np.uint32))[0]).size == 0
    with pytest.raises(ValueError):
        BandIndex(128, 30)


def test_a_band_key_held_by_more_than_the_limit_gives_no_candidates() -> None:
    rng = np.random.default_rng(8)
    signatures = corpus(rng, 3_000)
    index = BandIndex(PERM, BANDS)
    index.extend(0, signatures)
    index.settle()
    keys = index.keys(signatures)
    for row in rng.integers(0, 3_000, 40):
        held = (keys == keys[row]).sum(axis=0)  # by how many signatures each band key is held
        most = int(np.median(held))
        common = (keys == keys[row])[:, held > most]
        rare = (keys == keys[row])[:, held <= most]
        assert common.any() and rare.any()  # some bands are common, some not
        found = np.unique(index.query(keys[row], most=most))
        assert found.tolist() == np.flatnonzero(rare.any(axis=1)).tolist()
        assert (
            np.unique(index.query(keys[row])).tolist()
            == shares_a_band(signatures, signatures[row]).tolist()
        )
