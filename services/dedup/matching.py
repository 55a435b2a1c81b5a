"""Near-duplicate matching: exact hash, MinHash LSH candidates, exact re-scoring (pure logic).

A document is the matching key of its title and content. Its features are syllable n-grams
(shingles) of that key. Exact duplicates share the SHA-256 of the key. Near-duplicate candidates
come from MinHash LSH bands (rensa's signatures, our ``bands.BandIndex``); the few whose
signatures agree most with the query's are re-scored exactly, because the 128-permutation
estimate errs by 0.1–0.15 on borderline pairs, while re-scoring every LSH candidate would make a
query's cost grow with the corpus. The score is the larger of Jaccard and a discounted
containment, so that a truncated or extended copy still scores high.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field

import numpy as np
import rensa

from services.dedup.bands import BandIndex
from services.dedup.normalise import KEY_VERSION, matching_key
from shared.contracts.submission import Candidate, Verdict

METHOD = "minhash-lsh-rensa"


@dataclass(frozen=True)
class MatchingParameters:
    """The method's knobs; their defaults are justified by bench/dedup_quality.py."""

    shingle_size: int = 2
    num_perm: int = 128
    num_bands: int = 32
    threshold: float = 0.5
    containment_weight: float = 0.7
    seed: int = 20210901
    top: int = 5
    rescore: int = 10
    # Candidates whose signatures agree on fewer than this share of values (estimated Jaccard)
    # cannot reach the threshold, short of a tiny text inside a much longer one.
    rescore_floor: float = 0.35
    # A pasted template (a unit's preamble before each of its filings): a run of at least
    # ``template_run`` n-grams of the query that the other document holds too (0: never), with
    # at least ``template_rest`` n-grams of each outside it, no more alike than unrelated
    # initiatives of one field are (bench.dedup_quality: their p95 is 0.18–0.24).
    template_run: int = 40
    template_rest: int = 20
    template_unrelated: float = 0.35

    @property
    def version(self) -> str:
        """Identifies the method and its parameters in every verdict."""
        return (
            f"{METHOD}-{rensa.RMinHash.ALGORITHM_VERSION}/key{KEY_VERSION}/k{self.shingle_size}"
            f"/p{self.num_perm}b{self.num_bands}/t{self.threshold}/c{self.containment_weight}"
            f"/template{self.template_run}"
        )


def document_text(title: str, *parts: str) -> str:
    """The matching key of an initiative: title and content together."""
    return matching_key(" ".join((title, *parts)))


def shingle_sequence(key: str, size: int) -> tuple[str, ...]:
    """The syllable n-grams of a matching key in text order (the whole key when it is shorter
    than n)."""
    syllables = key.split()
    if len(syllables) <= size:
        return (" ".join(syllables),) if syllables else ()
    return tuple(map(" ".join, zip(*(syllables[i:] for i in range(size)), strict=False)))


def shingles(key: str, size: int) -> frozenset[str]:
    """The syllable n-grams of a matching key (the whole key when it is shorter than n)."""
    return frozenset(shingle_sequence(key, size))


def exact_hash(key: str) -> str:
    """Hash that equal matching keys share."""
    return hashlib.sha256(key.encode()).hexdigest()


def similarity(a: AbstractSet[str], b: AbstractSet[str], containment_weight: float) -> float:
    """max(Jaccard, weight × containment) of two shingle sets."""
    if not a or not b:
        return 0.0
    common = len(a & b)
    jaccard = common / len(a | b)
    containment = common / min(len(a), len(b))
    return max(jaccard, containment_weight * containment)


def shared_run(sequence: Sequence[str], other: AbstractSet[str]) -> frozenset[str]:
    """The n-grams of the longest run of consecutive n-grams of ``sequence`` that ``other``
    holds too."""
    best_start = best_end = start = 0
    for position, gram in enumerate(sequence):
        if gram not in other:
            start = position + 1
        elif position + 1 - start > best_end - best_start:
            best_start, best_end = start, position + 1
    return frozenset(sequence[best_start:best_end])


@dataclass(frozen=True)
class Scored:
    """The score of a pair and, when they share a template, the query's n-grams outside it."""

    score: float
    outside_template: frozenset[str] | None = None


def score_pair(
    sequence: Sequence[str],
    grams: AbstractSet[str],
    other: AbstractSet[str],
    params: MatchingParameters,
) -> Scored:
    """How much a query (its n-grams in order, and as a set) and another document are the same
    initiative: ``similarity``, unless they share a pasted template and what each has besides
    is as unlike as two unrelated initiatives; then the similarity of what lies outside it.

    A copy that shares one long run with its original is still alike outside the run (its
    edits are spread over the whole text); two initiatives pasted after the same preamble share
    nothing else.
    """
    weight = params.containment_weight
    template = shared_run(sequence, other) if params.template_run else frozenset()
    if template and len(template) >= params.template_run:
        mine, theirs = frozenset(grams) - template, frozenset(other) - template
        if len(mine) >= params.template_rest and len(theirs) >= params.template_rest:
            outside = similarity(mine, theirs, weight)
            if outside < params.template_unrelated:
                return Scored(outside, mine)
    return Scored(similarity(grams, other, weight))


def stored(signature: rensa.RMinHash) -> bytes:
    """A signature as stored with its document (rensa's own versioned format).

    Read back with ``Index.restore``, never with ``pickle.loads``, which would run whatever the
    database holds.
    """
    return bytes(signature.__getstate__())


@dataclass(frozen=True)
class Probe:
    """A document's features, computed once: its key, shingles (in order and as a set),
    signature, its LSH band keys, the signature's fingerprints (low bytes and packed low bits)
    and the exact hash."""

    key: str
    sequence: tuple[str, ...] = field(compare=False)
    shingles: frozenset[str]
    signature: rensa.RMinHash
    bands: np.ndarray = field(compare=False)
    fingerprint: np.ndarray = field(compare=False)
    bits: np.ndarray = field(compare=False)
    digest: str

    def stored_signature(self) -> bytes:
        """The signature as stored with the document (``stored``)."""
        return stored(self.signature)


@dataclass(frozen=True)
class Match:
    """The verdict on one document."""

    verdict: Verdict
    score: float
    best_match: str | None
    candidates: tuple[Candidate, ...]
    # The query's n-grams outside a template it shares with a candidate: the documents that
    # are like the query there were maybe not shortlisted, behind those that share the template.
    outside_template: frozenset[str] | None = None


def _exact_key(digest: str) -> bytes:
    """128 bits of an exact hash: as safe against collisions among millions of documents, in
    less than half the memory of the hexadecimal text."""
    return bytes.fromhex(digest[:32])


_LANES = np.uint64(0x0101010101010101)
_TOP_BYTE = np.uint64(56)


class Fingerprints:
    """Two small copies of every indexed signature, to rank LSH candidates in numpy.

    - The low byte of every value: two signatures agree on it when they agree on the value, and
      otherwise once in 256 times, too rarely to change a ranking.
    - The low bit of every value, packed (16 bytes for 128 values, a table that stays in the
      processor's cache where the bytes do not): two signatures differ on a value's low bit
      half the time they differ on the value, so counting the differing bits estimates the
      Jaccard similarity, more roughly, for every candidate in one pass. Only the candidates
      that pass are then compared byte by byte.
    """

    def __init__(self, width: int) -> None:
        if width % 64 or not 64 <= width <= 192:
            raise ValueError(f"signatures of {width} values: need 64, 128 or 192")
        self._count = 0
        self._bytes = np.empty((1024, width), dtype=np.uint8)
        self._bits = np.empty((1024, width // 64), dtype=np.uint64)

    @staticmethod
    def of(digests: list[list[int]] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The low bytes and the packed low bits of these signatures, a row each."""
        rows = np.asarray(digests, dtype=np.uint32).astype(np.uint8)
        return rows, np.packbits(rows & 1, axis=1).view(np.uint64)

    def append(self, rows: np.ndarray, bits: np.ndarray) -> None:
        """Keep these fingerprints (``Fingerprints.of``), in index order."""
        start, end = self._count, self._count + len(rows)
        if end > len(self._bytes):
            size = max(end, 2 * len(self._bytes))
            self._bytes = _grown(self._bytes, size, start)
            self._bits = _grown(self._bits, size, start)
        self._bytes[start:end] = rows
        self._bits[start:end] = bits
        self._count = end

    def differing_bits(self, positions: np.ndarray, query_bits: np.ndarray) -> np.ndarray:
        """In how many values' low bits each indexed signature at ``positions`` differs from
        the query's."""
        counts = np.bitwise_count(self._bits.take(positions, axis=0) ^ query_bits)
        # Adding columns one by one beats numpy's sum along a short axis by half.
        differing = counts[:, 0].astype(np.int64)
        for column in range(1, counts.shape[1]):
            differing += counts[:, column]
        return differing

    def agreement(self, positions: np.ndarray, query: np.ndarray) -> np.ndarray:
        """How many values each indexed signature at ``positions`` shares with ``query`` (a
        row of low bytes)."""
        return _count_equal(self._bytes.take(positions, axis=0), query)


def most_differing_bits(floor: float, width: int) -> int:
    """The most low bits a candidate with an estimated Jaccard of ``floor`` can differ in from
    the query, three standard deviations up: fewer than 0.2% of such candidates differ in more.

    Each bit differs with probability (1 − J) / 2.
    """
    differ = (1 - floor) / 2
    return int(width * differ + 3 * math.sqrt(width * differ * (1 - differ)))


def _grown(table: np.ndarray, rows: int, kept: int) -> np.ndarray:
    grown = np.empty((rows, table.shape[1]), dtype=table.dtype)
    grown[:kept] = table[:kept]
    return grown


def _count_equal(rows: np.ndarray, query: np.ndarray) -> np.ndarray:
    """How many bytes of each row equal the query's (rows of a multiple of 8 bytes, < 256)."""
    words = (rows == query).view(np.uint64)
    # Eight 0/1 bytes per 64-bit word: adding the words adds them lane by lane (no lane
    # exceeds 31), and multiplying by 0x0101... gathers the lanes into the top byte. Adding
    # columns one by one beats numpy's sum along a short axis by half.
    lanes = words[:, 0].copy()
    for column in range(1, words.shape[1]):
        lanes += words[:, column]
    counted: np.ndarray = ((lanes * _LANES) >> _TOP_BYTE).astype(np.int64)
    return counted


@dataclass
class Index:
    """Every earlier document of a program: exact hashes and LSH bands, in memory.

    Texts are not kept here: ``screen`` re-scores candidates with texts the caller looks up
    (the service from its database and a cache, tests from a dict).
    """

    params: MatchingParameters
    _bands: BandIndex = field(init=False)
    _ids: list[str] = field(default_factory=list)
    _exact: dict[bytes, str] = field(default_factory=dict)
    _fingerprints: Fingerprints = field(init=False)
    _most_differing_bits: int = field(init=False)

    def __post_init__(self) -> None:
        self._bands = BandIndex(self.params.num_perm, self.params.num_bands)
        self._fingerprints = Fingerprints(self.params.num_perm)
        self._most_differing_bits = most_differing_bits(
            self.params.rescore_floor, self.params.num_perm
        )

    def __len__(self) -> int:
        return len(self._ids)

    def probe(self, key: str) -> Probe:
        """The features of a matching key."""
        sequence = shingle_sequence(key, self.params.shingle_size)
        return self._probe(key, sequence, frozenset(sequence), exact_hash(key))

    def probe_outside(self, grams: frozenset[str]) -> Probe:
        """The features of a query's n-grams outside a template, for a second shortlist (it
        has no key of its own, so no exact duplicate)."""
        return self._probe("", (), grams, "")

    def _probe(
        self, key: str, sequence: tuple[str, ...], grams: frozenset[str], digest: str
    ) -> Probe:
        signature = rensa.RMinHash(num_perm=self.params.num_perm, seed=self.params.seed)
        signature.update(grams)
        values = np.asarray(signature.digest(), dtype=np.uint32)[None]
        fingerprint, bits = Fingerprints.of(values)
        bands = self._bands.keys(values)[0]
        return Probe(key, sequence, grams, signature, bands, fingerprint, bits, digest)

    def add(self, document_id: str, probe: Probe) -> None:
        """Index one document."""
        self._bands.add(len(self._ids), probe.bands)
        self._fingerprints.append(probe.fingerprint, probe.bits)
        self._ids.append(document_id)
        self._exact.setdefault(_exact_key(probe.digest), document_id)

    def add_many(self, documents: Iterable[tuple[str, str, bytes | None]]) -> None:
        """Index (id, key, stored signature or None) in bulk, as at start-up.

        A stored signature is restored as is; a missing one, or one rensa no longer reads, is
        recomputed from the key (in Rust, a batch at a time).
        """
        batch: list[tuple[str, str, bytes | None]] = []
        for document in documents:
            batch.append(document)
            if len(batch) == 20_000:
                self._add_batch(batch)
                batch = []
        self._add_batch(batch)
        self._bands.settle()

    def restore(self, state: bytes | None) -> rensa.RMinHash | None:
        """A signature from its stored state, or None when there is none or it is unreadable."""
        if state is None:
            return None
        signature = rensa.RMinHash(num_perm=self.params.num_perm, seed=self.params.seed)
        try:
            signature.__setstate__(state)
        except ValueError:
            return None
        return signature

    def sign(self, keys: list[str]) -> list[rensa.RMinHash]:
        """The signatures of these matching keys, computed in Rust a batch at a time."""
        if not keys:
            return []
        size = self.params.shingle_size
        signed: list[rensa.RMinHash] = rensa.RMinHash.from_token_sets(
            [shingles(key, size) for key in keys], self.params.num_perm, self.params.seed
        )
        return signed

    def _add_batch(self, batch: list[tuple[str, str, bytes | None]]) -> None:
        if not batch:
            return
        signatures = [self.restore(state) for _, _, state in batch]
        missing = [i for i, signature in enumerate(signatures) if signature is None]
        for i, signature in zip(missing, self.sign([batch[i][1] for i in missing]), strict=True):
            signatures[i] = signature
        values = np.asarray([s.digest() for s in signatures if s is not None], dtype=np.uint32)
        self._bands.extend(len(self._ids), values)
        self._fingerprints.append(*Fingerprints.of(values))
        for document_id, key, _ in batch:
            self._ids.append(document_id)
            self._exact.setdefault(_exact_key(exact_hash(key)), document_id)

    def exact(self, probe: Probe, excluded: frozenset[str]) -> str | None:
        """An earlier document with the same matching key."""
        same = self._exact.get(_exact_key(probe.digest))
        return same if same is not None and same not in excluded else None

    def shortlist(self, probe: Probe, excluded: frozenset[str]) -> list[str]:
        """The LSH candidates worth re-scoring exactly: those whose signatures agree most with
        the probe's, at most ``rescore`` of them and none below ``rescore_floor`` (sorted).

        A large corpus returns hundreds or thousands of LSH candidates per query, nearly all of
        them far below the floor, so they are sifted in numpy on fingerprints: every candidate
        on its low bits, then the few that may reach the floor (at most the best hundred or so)
        on their low bytes. The exclusions are applied only to the best.
        """
        positions = self._bands.query(probe.bands)
        if not positions.size:
            return []
        differing = self._fingerprints.differing_bits(positions, probe.bits[0])
        near = np.flatnonzero(differing <= self._most_differing_bits)
        keep = 10 * (self.params.rescore + len(excluded))
        if near.size > keep:
            near = near[np.argpartition(differing[near], keep)[:keep]]
        positions = positions[near]
        agreement = self._fingerprints.agreement(positions, probe.fingerprint[0])
        strong = np.flatnonzero(agreement >= self.params.rescore_floor * self.params.num_perm)
        chosen: set[str] = set()
        for i in strong[np.argsort(-agreement[strong], kind="stable")]:
            if len(chosen) == self.params.rescore:
                break
            document_id = self._ids[positions[i]]
            if document_id not in excluded:
                chosen.add(document_id)
        return sorted(chosen)

    def screen(
        self,
        document_id: str,
        probe: Probe,
        texts: Mapping[str, str],
        dismissed: frozenset[str] = frozenset(),
    ) -> Match:
        """Verdict of ``probe`` against every indexed document but itself and ``dismissed``.

        ``texts`` must hold the matching keys of ``shortlist(probe, ...)``; a candidate missing
        from it (indexed but never committed) is skipped.
        """
        excluded = dismissed | {document_id}
        shortlisted = {c: texts[c] for c in self.shortlist(probe, excluded) if c in texts}
        match = self.judge(probe, excluded, shortlisted)
        if match.outside_template is None:
            return match
        more = self.shortlist(self.probe_outside(match.outside_template), excluded)
        return self.judge(probe, excluded, shortlisted | {c: texts[c] for c in more if c in texts})

    def judge(
        self, probe: Probe, excluded: frozenset[str], shortlisted: Mapping[str, str]
    ) -> Match:
        """Verdict of ``probe``: an exact duplicate of an indexed document not ``excluded``, else
        the best of ``shortlisted`` (the matching keys of ``shortlist(probe, excluded)``, as far
        as they are committed) re-scored exactly."""
        same = self.exact(probe, excluded)
        if same is not None:
            only = (Candidate(submission_id=same, score=1.0),)
            return Match(Verdict.EXACT_DUPLICATE, 1.0, same, only)
        size = self.params.shingle_size
        outside: frozenset[str] | None = None
        every = []
        for candidate, text in shortlisted.items():
            scored = score_pair(probe.sequence, probe.shingles, shingles(text, size), self.params)
            every.append((round(scored.score, 4), candidate))
            outside = outside or scored.outside_template
        best = sorted(every, key=lambda pair: (-pair[0], pair[1]))[: self.params.top]
        found = tuple(Candidate(submission_id=c, score=s) for s, c in best)
        if not best or best[0][0] < self.params.threshold:
            return Match(Verdict.UNIQUE, best[0][0] if best else 0.0, None, found, outside)
        return Match(Verdict.NEAR_DUPLICATE, best[0][0], best[0][1], found, outside)
