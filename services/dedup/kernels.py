"""The loops that screening runs for every document, compiled with numba.

Each walks a few hundred items: the characters of one text, the n-grams of one matching key, the
LSH candidates of one query. As numpy calls they cost more in call overhead than in work: at a
million indexed documents a screened document spent about 125 µs in them as numpy calls, and
spends about 50 compiled, most of it waiting on memory.

Compiled code is cached beside this file (``__pycache__``), or under ``NUMBA_CACHE_DIR`` where
the source is read-only (the container image sets it): a process compiles only what no earlier
one cached (a few seconds for all of them).
"""

from __future__ import annotations

import numpy as np
from numba import njit

# Names how ``ngram_hashes`` hashes: stored signatures computed another way are computed again.
NGRAM_HASH = "fnv1a-splitmix64"
_SPACE = 32
_FNV_OFFSET = np.uint64(0xCBF29CE484222325)
_FNV_PRIME = np.uint64(0x100000001B3)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)
_SHIFT_30, _SHIFT_27, _SHIFT_31 = np.uint64(30), np.uint64(27), np.uint64(31)
_HALF = np.uint64(32)
_LOW = np.uint64(0xFFFFFFFF)
_NIBBLE = np.uint64(0xF)
_NIBBLE_LOW_BITS = np.uint64(0x1111111111111111)
_BYTE_LOW_NIBBLES = np.uint64(0x0F0F0F0F0F0F0F0F)
_BYTE_LANES = np.uint64(0x0101010101010101)
_SHIFT_1, _SHIFT_2, _SHIFT_4, _SHIFT_56 = np.uint64(1), np.uint64(2), np.uint64(4), np.uint64(56)


@njit(cache=True, nogil=True)
def key_bytes(
    codes: np.ndarray, table: np.ndarray, dropped: int, unknown: int
) -> np.ndarray | None:
    """The bytes of a matching key from the code points of a text (``codes``), each becoming
    ``table[code]`` (the last entry for every later code point): ``dropped`` ones go, runs
    of spaces fold to one, leading and trailing spaces go. None when a code point is
    ``unknown``: the text needs the general path."""
    kept = np.empty(len(codes), dtype=np.uint8)
    count = 0
    for code in codes:
        byte = table[min(code, len(table) - 1)]
        if byte == unknown:
            return None
        if byte == dropped or (byte == _SPACE and (count == 0 or kept[count - 1] == _SPACE)):
            continue
        kept[count] = byte
        count += 1
    if count and kept[count - 1] == _SPACE:
        count -= 1
    return kept[:count]


@njit(cache=True, nogil=True)
def _mixed(value: np.uint64) -> np.uint64:
    """splitmix64's finaliser: every input bit moves every output bit."""
    value = (value ^ (value >> _SHIFT_30)) * _MIX_1
    value = (value ^ (value >> _SHIFT_27)) * _MIX_2
    return value ^ (value >> _SHIFT_31)


@njit(cache=True, nogil=True)
def ngram_hashes(text: np.ndarray, size: int) -> np.ndarray:
    """The 64-bit hashes of the ``size``-syllable n-grams of a matching key (its UTF-8 bytes,
    syllables split by single spaces), in text order; one hash of the whole key when it has
    ``size`` syllables or fewer, none when it is empty.

    A syllable hashes as FNV-1a of its bytes, mixed; an n-gram folds its syllables' hashes in
    order, so "a b" and "b a" differ.
    """
    syllables = np.empty(len(text) // 2 + 1, dtype=np.uint64)
    count = 0
    value = _FNV_OFFSET
    length = 0
    for byte in text:
        if byte == _SPACE:
            if length:
                syllables[count] = _mixed(value)
                count += 1
            value, length = _FNV_OFFSET, 0
        else:
            value = (value ^ np.uint64(byte)) * _FNV_PRIME
            length += 1
    if length:
        syllables[count] = _mixed(value)
        count += 1
    width = min(size, count)
    grams = np.empty(count - width + 1 if count else 0, dtype=np.uint64)
    for start in range(len(grams)):
        folded = np.uint64(0)
        for syllable in syllables[start : start + width]:
            folded = _mixed(folded * _GOLDEN + syllable)
        grams[start] = folded
    return grams


@njit(cache=True, nogil=True)
def band_keys(signatures: np.ndarray, multipliers: np.ndarray, salts: np.ndarray) -> np.ndarray:
    """The band keys of these signatures (rows of uint32 values), a row of ``len(salts)``
    each: a band's key is the top half of Σ value × multiplier + its salt, wrapping
    (multiply-shift hashing)."""
    bands = len(salts)
    rows = signatures.shape[1] // bands
    keys = np.empty((len(signatures), bands), dtype=np.uint64)
    for document in range(len(signatures)):
        for band in range(bands):
            mixed = salts[band]
            for row in range(rows):
                mixed += np.uint64(signatures[document, band * rows + row]) * multipliers[row]
            keys[document, band] = mixed >> _HALF
    return keys


@njit(cache=True, nogil=True)
def low_nibbles(signatures: np.ndarray) -> np.ndarray:
    """The low four bits of every value of these signatures (rows of uint32 values), sixteen
    to a 64-bit word, value i at bits 4i (mod 64): a row of ``width / 16`` words each."""
    packed = np.zeros((len(signatures), signatures.shape[1] // 16), dtype=np.uint64)
    for document in range(len(signatures)):
        for value in range(signatures.shape[1]):
            nibble = np.uint64(signatures[document, value]) & _NIBBLE
            packed[document, value // 16] |= nibble << np.uint64(4 * (value % 16))
    return packed


@njit(cache=True, nogil=True)
def band_matches(
    entries: np.ndarray, starts: np.ndarray, shift: np.uint64, keys: np.ndarray, most: int
) -> np.ndarray:
    """The positions of the ``entries`` (band key above position, sorted, in runs by their
    keys' top bits, which begin at ``starts``) whose band key is one of ``keys``, a position
    once per band it shares; a band key held by more than ``most`` entries (0: no limit)
    gives none."""
    lows = np.empty(len(keys), dtype=np.int64)
    highs = np.empty(len(keys), dtype=np.int64)
    for band in range(len(keys)):
        prefix = np.int64(keys[band] >> shift)
        lows[band], highs[band] = starts[prefix], starts[prefix + 1]
    # Every run's first entry read in a loop without branches, so that the processor waits on
    # all of them at once rather than on one after another in the search below.
    firsts = np.zeros(len(keys), dtype=np.uint64)
    final = len(entries) - 1
    for band in range(len(keys) if len(entries) else 0):
        firsts[band] = entries[min(lows[band], final)]
    found = np.empty((highs - lows).sum(), dtype=np.int64)
    count = 0
    for band in range(len(keys)):
        run = entries[lows[band] : highs[band]]  # a run holds other keys of the same top bits
        first = np.searchsorted(run, keys[band] << _HALF)
        last = np.searchsorted(run, (keys[band] << _HALF) | _LOW, side="right")
        if most and last - first > most:
            continue
        for entry in run[first:last]:
            found[count] = entry & _LOW
            count += 1
    return found[:count]


@njit(cache=True, nogil=True)
def sift(
    positions: np.ndarray, table: np.ndarray, query: np.ndarray, least_agreeing: int
) -> tuple[np.ndarray, np.ndarray]:
    """The candidates at ``positions`` (repeats allowed) whose fingerprints (rows of ``table``:
    four bits per value, packed) agree with the query's on ``least_agreeing`` values or more:
    their positions, each once and best first (then by position), and on how many values each
    agrees.

    The pass over the candidates has no branch on what it reads: a mispredicted branch would
    throw away the memory reads in flight, and waiting on memory is most of what this costs.
    """
    values = 16 * len(query)
    agreeing = np.empty(len(positions), dtype=np.int64)
    for index in range(len(positions)):
        row = positions[index]
        # Per 4-bit lane, 1 when the lane differs; lanes add up to at most 15 over 15 words.
        differing = np.uint64(0)
        for word in range(len(query)):
            apart = table[row, word] ^ query[word]
            apart |= apart >> _SHIFT_1
            apart |= apart >> _SHIFT_2
            differing += apart & _NIBBLE_LOW_BITS
        differing = (differing & _BYTE_LOW_NIBBLES) + ((differing >> _SHIFT_4) & _BYTE_LOW_NIBBLES)
        agreeing[index] = values - np.int64((differing * _BYTE_LANES) >> _SHIFT_56)
    strong = np.flatnonzero(agreeing >= least_agreeing)
    kept, agreeing = positions[strong], agreeing[strong]
    order = np.argsort(kept - agreeing * (np.int64(1) << np.int64(40)))
    kept, agreeing = kept[order], agreeing[order]
    once = np.ones(len(kept), dtype=np.bool_)
    once[1:] = kept[1:] != kept[:-1]
    return kept[once], agreeing[once]
