"""LSH band buckets as one sorted numpy array: the index's candidates in a fraction of the memory.

MinHash LSH cuts a signature of ``num_perm`` values into ``num_bands`` bands; two documents are
candidates when all the values of one band agree. A hash map per band (rensa's) costs about two
kilobytes per document at a million documents. Here each band of a document becomes one 64-bit
entry, its band key (32 bits hashed from the band's values and its number) above its position
(32 bits), and the entries of every document sit in one sorted array: 32 bands cost 256 bytes a
document. A table of where each run of keys begins (the top bits of the key, about four entries
a run) finds a query's 32 ranges in two look-ups each: a binary search over 32 million entries
would wait on memory at every step (320 µs a query at a million documents, against about 13
here, compiled in ``kernels.band_matches``: two reads from memory per band).

Documents added one by one go to a small dictionary first (queried as well), and are merged
into the sorted array when it fills: merging two sorted runs is linear (``kind="stable"`` is a
timsort, which finds the runs). A bulk load is sorted once at the end (``settle``).
"""

from __future__ import annotations

import numpy as np

from services.dedup import kernels

# Odd 64-bit multipliers: a band key is the top half of Σ value × multiplier + band × salt,
# wrapping (multiply-shift hashing). Two different bands collide once in 2^32.
_MULTIPLIERS = np.array(
    [
        0x9E3779B97F4A7C15,
        0xC2B2AE3D27D4EB4F,
        0x165667B19E3779F9,
        0xD6E8FEB86659FD93,
        0xFF51AFD7ED558CCD,
        0xC4CEB9FE1A85EC53,
        0x94D049BB133111EB,
        0xBF58476D1CE4E5B9,
    ],
    dtype=np.uint64,
)
_BAND_SALT = np.uint64(0x2545F4914F6CDD1D)
_HALF = np.uint64(32)


class BandIndex:
    """Band keys of every indexed signature (a row of ``num_perm`` uint32 values each), found by
    position (the order documents were added in)."""

    def __init__(self, num_perm: int, num_bands: int) -> None:
        rows, rest = divmod(num_perm, num_bands)
        if rest or rows > len(_MULTIPLIERS):
            raise ValueError(f"{num_perm} values in {num_bands} bands: need equal bands of ≤ 8")
        self._bands = num_bands
        self._rows = rows
        self._salts = np.arange(num_bands, dtype=np.uint64) * _BAND_SALT
        self._sorted = np.empty(0, dtype=np.uint64)
        self._prefix_bits = 0  # the top bits of a key that choose its run in ``_starts``
        self._sizes = np.zeros(1, dtype=np.int64)  # entries in each run
        self._starts = np.zeros(2, dtype=np.int64)
        self._bulk: list[np.ndarray] = []  # added in bulk, not yet sorted: not queryable
        # Band key → position (or positions) added one by one: ints and tuples of ints, which
        # the garbage collector does not keep walking, where lists would be.
        self._recent: dict[int, int | tuple[int, ...]] = {}
        self._recent_entries: list[np.ndarray] = []
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def keys(self, signatures: np.ndarray) -> np.ndarray:
        """The band keys (uint64 below 2^32) of these signatures, a row of ``num_bands`` each."""
        return kernels.band_keys(signatures, _MULTIPLIERS[: self._rows], self._salts)

    def add(self, position: int, keys: np.ndarray) -> None:
        """Index one signature, by its band keys (``keys``), at ``position``; queryable at
        once."""
        recent = self._recent
        for key in keys.tolist():
            earlier = recent.get(key)
            if earlier is None:
                recent[key] = position
            else:
                recent[key] = (
                    (*earlier, position) if isinstance(earlier, tuple) else (earlier, position)
                )
        self._recent_entries.append((keys << _HALF) | np.uint64(position))
        self._count += 1
        # Merging costs a pass over the sorted array: do it once per 1/64 of the index.
        if len(self._recent_entries) >= min(max(self._count // 64, 1024), 16_384):
            self._merge(self._recent_entries)
            self._recent.clear()
            self._recent_entries = []

    def extend(self, start: int, signatures: np.ndarray) -> None:
        """Index a batch of signatures at ``start``, ``start + 1``… (a rebuild): queryable only
        after ``settle``, which sorts every batch at once."""
        positions = np.arange(start, start + len(signatures), dtype=np.uint64)
        entries = (self.keys(signatures) << _HALF) | positions[:, None]
        self._bulk.append(entries.ravel())
        self._count += len(signatures)

    def settle(self) -> None:
        """Make what ``extend`` added queryable."""
        if self._bulk:
            self._merge(self._bulk)
            self._bulk = []

    def query(self, keys: np.ndarray, most: int = 0) -> np.ndarray:
        """The positions of every indexed signature that agrees on all the values of at least
        one band with the one whose band keys are ``keys``, once per band it agrees on; a band
        key that more than ``most`` merged signatures hold (0: no limit) gives none of them
        (those added one by one since the last merge are not counted, nor left out)."""
        self.settle()
        found = kernels.band_matches(
            self._sorted, self._starts, np.uint64(32 - self._prefix_bits), keys, most
        )
        if not self._recent:
            return found
        recent: list[int] = []
        for key in keys.tolist():
            held = self._recent.get(key)
            if isinstance(held, int):
                recent.append(held)
            elif held is not None:
                recent.extend(held)
        return np.concatenate((found, recent)) if recent else found

    def _merge(self, parts: list[np.ndarray]) -> None:
        added = np.concatenate(parts)
        added.sort()
        merged = np.concatenate((self._sorted, added))
        merged.sort(kind="stable")  # two sorted runs: a linear merge
        self._sorted = merged
        # About four entries a run: 2^23 runs (a 64 MiB table) at 32 million entries. The
        # runs' sizes grow by the added entries' alone, unless the index outgrew its table.
        bits = max(1, min(32, (len(merged) // 4).bit_length()))
        if bits != self._prefix_bits:
            self._prefix_bits = bits
            self._sizes = np.zeros(1 << bits, dtype=np.int64)
            added = merged
        for chunk in range(0, len(added), 1 << 22):  # no temporary copy of the whole array
            prefixes = added[chunk : chunk + (1 << 22)] >> np.uint64(64 - bits)
            self._sizes += np.bincount(prefixes.view(np.int64), minlength=1 << bits)
        self._starts = np.zeros(len(self._sizes) + 1, dtype=np.int64)
        np.cumsum(self._sizes, out=self._starts[1:])
