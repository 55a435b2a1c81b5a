"""Near-duplicate matching: exact hash, MinHash LSH candidates, exact re-scoring (pure logic).

A document is the matching key of its title and content. Its features are syllable n-grams
(shingles) of that key, as 64-bit hashes (``kernels.ngram_hashes``). Exact duplicates share the
SHA-256 of the key. Near-duplicate candidates come from MinHash LSH bands (rensa's signatures of
the hashes, our ``bands.BandIndex``); the few whose signatures agree most with the query's are
re-scored exactly, because the 128-permutation estimate errs by 0.1–0.15 on borderline pairs,
while re-scoring every LSH candidate would make a query's cost grow with the corpus. The score
is the larger of Jaccard and a discounted containment, so that a truncated or extended copy
still scores high.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import rensa

from services.dedup import kernels
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
    # A band key that more than this many documents hold (0: no limit) stands for phrases
    # they share, not for an initiative: it gives no candidates (bench.dedup_speed: half the
    # candidates at 1,000,000 documents; the copies found are the same).
    common_band: int = 1000
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
            f"/common{self.common_band}/template{self.template_run}"
        )


def document_text(title: str, *parts: str) -> str:
    """The matching key of an initiative: title and content together."""
    return matching_key(" ".join((title, *parts)))


def shingle_sequence(key: str, size: int) -> np.ndarray:
    """The hashes of a matching key's syllable n-grams in text order (of the whole key when it
    is shorter than n)."""
    return kernels.ngram_hashes(np.frombuffer(key.encode(), dtype=np.uint8), size)


def shingles(key: str, size: int) -> frozenset[int]:
    """The hashes of a matching key's syllable n-grams (of the whole key when it is shorter
    than n)."""
    return frozenset(shingle_sequence(key, size).tolist())


def exact_hash(key: str) -> str:
    """Hash that equal matching keys share."""
    return hashlib.sha256(key.encode()).hexdigest()


def similarity(a: AbstractSet[int], b: AbstractSet[int], containment_weight: float) -> float:
    """max(Jaccard, weight × containment) of two shingle sets."""
    if not a or not b:
        return 0.0
    common = len(a & b)
    jaccard = common / len(a | b)
    containment = common / min(len(a), len(b))
    return max(jaccard, containment_weight * containment)


def shared_run(sequence: Sequence[int], other: AbstractSet[int]) -> frozenset[int]:
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
    outside_template: frozenset[int] | None = None


def score_pair(
    sequence: Sequence[int],
    grams: AbstractSet[int],
    other: AbstractSet[int],
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


@dataclass(frozen=True, eq=False)
class Probe:
    """A document's features, computed once: its key, its n-gram hashes in text order, its
    signature (``num_perm`` uint32 values), its LSH band keys, the signature's fingerprint
    (``Fingerprints``) and the exact hash."""

    key: str
    hashes: np.ndarray
    signature: np.ndarray
    bands: np.ndarray
    fingerprint: np.ndarray
    digest: str

    @cached_property
    def sequence(self) -> tuple[int, ...]:
        """The n-gram hashes in text order, as Python ints (only candidates are scored)."""
        return tuple(self.hashes.tolist())

    @cached_property
    def shingles(self) -> frozenset[int]:
        """The n-gram hashes as a set."""
        return frozenset(self.sequence)


@dataclass(frozen=True)
class Match:
    """The verdict on one document."""

    verdict: Verdict
    score: float
    best_match: str | None
    candidates: tuple[Candidate, ...]
    # The query's n-grams outside a template it shares with a candidate: the documents that
    # are like the query there were maybe not shortlisted, behind those that share the template.
    outside_template: frozenset[int] | None = None


def _exact_key(digest: str) -> bytes:
    """128 bits of an exact hash: as safe against collisions among millions of documents, in
    less than half the memory of the hexadecimal text."""
    return bytes.fromhex(digest[:32])


class Fingerprints:
    """The low four bits of every value of every indexed signature, packed (64 bytes for 128
    values: one cache line), to rank LSH candidates without their signatures.

    Two signatures agree on a value's low four bits when they agree on the value, and
    otherwise once in 16 times: counting the values whose four bits agree estimates the Jaccard
    similarity, from the one memory access per candidate that the time goes in.
    """

    def __init__(self, width: int) -> None:
        if width % 16 or not 16 <= width <= 240:  # a kernels.sift count fits in a byte
            raise ValueError(f"signatures of {width} values: need a multiple of 16, up to 240")
        self._count = 0
        self._table = np.empty((1024, width // 16), dtype=np.uint64)

    @staticmethod
    def of(digests: list[list[int]] | np.ndarray) -> np.ndarray:
        """The fingerprints of these signatures, a row each."""
        return kernels.low_nibbles(np.asarray(digests, dtype=np.uint32))

    def append(self, rows: np.ndarray) -> None:
        """Keep these fingerprints (``Fingerprints.of``), in index order."""
        start, end = self._count, self._count + len(rows)
        if end > len(self._table):
            grown = np.empty((max(end, 2 * len(self._table)), self._table.shape[1]), np.uint64)
            grown[:start] = self._table[:start]
            self._table = grown
        self._table[start:end] = rows
        self._count = end

    def sift(
        self, positions: np.ndarray, query: np.ndarray, least_agreeing: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Of the indexed signatures at ``positions`` (repeats allowed), those that agree with
        the query's fingerprint (``query``) on at least ``least_agreeing`` values: their
        positions, each once and best first, and on how many values each agrees."""
        return kernels.sift(positions, self._table, query, least_agreeing)


def least_agreeing(floor: float, width: int) -> int:
    """On how many of ``width`` values' four low bits a signature with an estimated Jaccard of
    ``floor`` agrees with the query, on average: the values it shares, and one in 16 of the
    others."""
    return math.ceil(width * (floor + (1 - floor) / 16))


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
    _least_agreeing: int = field(init=False)
    _signature_format: bytes = field(init=False)

    def __post_init__(self) -> None:
        self._bands = BandIndex(self.params.num_perm, self.params.num_bands)
        self._fingerprints = Fingerprints(self.params.num_perm)
        self._least_agreeing = least_agreeing(self.params.rescore_floor, self.params.num_perm)
        self._signature_format = hashlib.sha256(
            f"rensa{rensa.RMinHash.ALGORITHM_VERSION}/{kernels.NGRAM_HASH}"
            f"/k{self.params.shingle_size}/p{self.params.num_perm}/s{self.params.seed}".encode()
        ).digest()[:8]

    def __len__(self) -> int:
        return len(self._ids)

    def probe(self, key: str) -> Probe:
        """The features of a matching key."""
        return self._probe(key, shingle_sequence(key, self.params.shingle_size), exact_hash(key))

    def probe_outside(self, grams: frozenset[int]) -> Probe:
        """The features of a query's n-grams outside a template, for a second shortlist (it
        has no key of its own, so no exact duplicate)."""
        return self._probe("", np.fromiter(grams, dtype=np.uint64, count=len(grams)), "")

    def _probe(self, key: str, hashes: np.ndarray, digest: str) -> Probe:
        values = self._signed(hashes, np.array([0, len(hashes)], dtype=np.uint64))
        bands = self._bands.keys(values)[0]
        return Probe(key, hashes, values[0], bands, Fingerprints.of(values)[0], digest)

    def _signed(self, hashes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """The MinHash signatures (uint32 rows) of the n-gram hashes between ``offsets``."""
        matrix = rensa.RMinHash.digest_matrix_from_flat_token_hashes(
            hashes, offsets, self.params.num_perm, self.params.seed
        )
        return np.asarray(matrix.to_rows(), dtype=np.uint32).reshape(-1, self.params.num_perm)

    def stored(self, signature: np.ndarray) -> bytes:
        """A signature as stored with its document: its values, little-endian, after eight
        bytes naming how they were computed (``restore`` reads them back)."""
        return self._signature_format + signature.astype("<u4").tobytes()

    def add(self, document_id: str, probe: Probe) -> None:
        """Index one document."""
        self._bands.add(len(self._ids), probe.bands)
        self._fingerprints.append(probe.fingerprint[None])
        self._ids.append(document_id)
        self._exact.setdefault(_exact_key(probe.digest), document_id)

    def add_many(self, documents: Iterable[tuple[str, str, bytes | None]]) -> None:
        """Index (id, key, stored signature or None) in bulk, as at start-up.

        A stored signature is restored as is; a missing one, or one computed another way (an
        older method, other parameters), is computed again from the key, a batch at a time.
        """
        batch: list[tuple[str, str, bytes | None]] = []
        for document in documents:
            batch.append(document)
            if len(batch) == 20_000:
                self._add_batch(batch)
                batch = []
        self._add_batch(batch)
        self._bands.settle()

    def restore(self, state: bytes | None) -> np.ndarray | None:
        """A signature from its stored state (``stored``), or None when there is none or it was
        computed another way."""
        size = len(self._signature_format)
        if (
            state is None
            or len(state) != size + 4 * self.params.num_perm
            or state[:size] != self._signature_format
        ):
            return None
        return np.frombuffer(state, dtype="<u4", offset=size).astype(np.uint32)

    def sign(self, keys: list[str]) -> np.ndarray:
        """The signatures of these matching keys, a row each, computed in Rust all at once."""
        grams = [shingle_sequence(key, self.params.shingle_size) for key in keys]
        offsets = np.zeros(len(grams) + 1, dtype=np.uint64)
        np.cumsum([len(g) for g in grams], out=offsets[1:])
        hashes = np.concatenate(grams) if grams else np.empty(0, dtype=np.uint64)
        return self._signed(hashes, offsets)

    def _add_batch(self, batch: list[tuple[str, str, bytes | None]]) -> None:
        if not batch:
            return
        restored = [self.restore(state) for _, _, state in batch]
        missing = [i for i, signature in enumerate(restored) if signature is None]
        values = np.empty((len(batch), self.params.num_perm), dtype=np.uint32)
        for i, signature in enumerate(restored):
            if signature is not None:
                values[i] = signature
        if missing:
            values[missing] = self.sign([batch[i][1] for i in missing])
        self._bands.extend(len(self._ids), values)
        self._fingerprints.append(Fingerprints.of(values))
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
        them far below the floor, so they are sifted on fingerprints (compiled). The exclusions
        are applied only to the best.
        """
        positions = self._bands.query(probe.bands, self.params.common_band)
        if not positions.size:
            return []
        strong, _ = self._fingerprints.sift(positions, probe.fingerprint, self._least_agreeing)
        chosen: list[str] = []
        for position in strong.tolist():
            if len(chosen) == self.params.rescore:
                break
            document_id = self._ids[position]
            if document_id not in excluded:
                chosen.append(document_id)
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
        outside: frozenset[int] | None = None
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


def warm_up(params: MatchingParameters) -> None:
    """Compile, or load from numba's cache, every kernel that screening runs, on a throwaway
    index: the first document screened would otherwise wait for it (seconds, the first time)."""
    index = Index(params)
    probe = index.probe(matching_key("sáng kiến cải tiến kỹ thuật"))
    index.add("one by one", probe)
    index.add_many([("in bulk", probe.key, None)])
    index.shortlist(probe, frozenset())
