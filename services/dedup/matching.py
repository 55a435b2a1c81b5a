"""Near-duplicate matching: exact hash, MinHash LSH candidates, exact re-scoring (pure logic).

A document is the matching key of its title and content. Its features are syllable n-grams
(shingles) of that key. Exact duplicates share the SHA-256 of the key. Near-duplicate candidates
come from a rensa MinHash LSH index and are re-scored exactly, because the 128-permutation estimate
errs by 0.1–0.15 on borderline pairs. The score is the larger of Jaccard and a discounted
containment, so that a truncated or extended copy still scores high.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import rensa

from services.dedup.normalise import matching_key
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

    @property
    def version(self) -> str:
        """Identifies the method and its parameters in every verdict."""
        return (
            f"{METHOD}-{rensa.RMinHash.ALGORITHM_VERSION}/k{self.shingle_size}"
            f"/p{self.num_perm}b{self.num_bands}/t{self.threshold}/c{self.containment_weight}"
        )


def document_text(title: str, *parts: str) -> str:
    """The matching key of an initiative: title and content together."""
    return matching_key(" ".join((title, *parts)))


def shingles(key: str, size: int) -> list[str]:
    """Syllable n-grams of a matching key (the whole key when it is shorter than n)."""
    syllables = key.split()
    if len(syllables) <= size:
        return [" ".join(syllables)] if syllables else []
    return sorted({" ".join(syllables[i : i + size]) for i in range(len(syllables) - size + 1)})


def exact_hash(key: str) -> str:
    """Hash that equal matching keys share."""
    return hashlib.sha256(key.encode()).hexdigest()


def similarity(a: set[str], b: set[str], containment_weight: float) -> float:
    """max(Jaccard, weight × containment) of two shingle sets."""
    if not a or not b:
        return 0.0
    common = len(a & b)
    jaccard = common / len(a | b)
    containment = common / min(len(a), len(b))
    return max(jaccard, containment_weight * containment)


@dataclass(frozen=True)
class Match:
    """The verdict on one document."""

    verdict: Verdict
    score: float
    best_match: str | None
    candidates: tuple[Candidate, ...]


@dataclass
class Index:
    """Every earlier document of a program: exact hashes and LSH buckets, in memory.

    Texts are not kept here: ``screen`` re-scores candidates with texts the caller looks up
    (the service from its database and a cache, tests from a dict).
    """

    params: MatchingParameters
    _lsh: rensa.RMinHashLSH = field(init=False)
    _ids: list[str] = field(default_factory=list)
    _exact: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._lsh = rensa.RMinHashLSH(
            threshold=self.params.threshold,
            num_perm=self.params.num_perm,
            num_bands=self.params.num_bands,
        )

    def __len__(self) -> int:
        return len(self._ids)

    def signature(self, key: str) -> rensa.RMinHash:
        """MinHash of a matching key."""
        minhash = rensa.RMinHash(num_perm=self.params.num_perm, seed=self.params.seed)
        minhash.update(shingles(key, self.params.shingle_size))
        return minhash

    def add(self, document_id: str, key: str) -> None:
        """Index one document."""
        self._lsh.insert(len(self._ids), self.signature(key))
        self._ids.append(document_id)
        self._exact.setdefault(exact_hash(key), document_id)

    def add_many(self, documents: Iterable[tuple[str, str]]) -> None:
        """Index documents in bulk (start-up rebuild): signatures computed in Rust, in batches."""
        batch: list[tuple[str, str]] = []
        for document in documents:
            batch.append(document)
            if len(batch) == 20_000:
                self._add_batch(batch)
                batch = []
        self._add_batch(batch)

    def _add_batch(self, batch: list[tuple[str, str]]) -> None:
        if not batch:
            return
        size = self.params.shingle_size
        signatures = rensa.RMinHash.from_token_sets(
            [shingles(key, size) for _, key in batch], self.params.num_perm, self.params.seed
        )
        start = len(self._ids)
        self._lsh.insert_pairs([(start + i, s) for i, s in enumerate(signatures)])
        for document_id, key in batch:
            self._ids.append(document_id)
            self._exact.setdefault(exact_hash(key), document_id)

    def exact(self, key: str, excluded: frozenset[str]) -> str | None:
        """An earlier document with the same matching key."""
        same = self._exact.get(exact_hash(key))
        return same if same is not None and same not in excluded else None

    def candidates(self, key: str, excluded: frozenset[str]) -> list[str]:
        """Documents whose signatures share an LSH band with ``key``'s (deduplicated, sorted)."""
        found = {self._ids[i] for i in self._lsh.query(self.signature(key))}
        return sorted(found - excluded)

    def screen(
        self,
        document_id: str,
        key: str,
        texts: Mapping[str, str],
        dismissed: frozenset[str] = frozenset(),
    ) -> Match:
        """Verdict of ``key`` against every indexed document but itself and ``dismissed``.

        ``texts`` must hold the matching keys of ``candidates(key, ...)``; a candidate missing
        from it (indexed but never committed) is skipped.
        """
        excluded = dismissed | {document_id}
        same = self.exact(key, excluded)
        if same is not None:
            only = (Candidate(submission_id=same, score=1.0),)
            return Match(Verdict.EXACT_DUPLICATE, 1.0, same, only)
        mine = set(shingles(key, self.params.shingle_size))
        size, weight = self.params.shingle_size, self.params.containment_weight
        scored = sorted(
            (
                (round(similarity(mine, set(shingles(texts[c], size)), weight), 4), c)
                for c in self.candidates(key, excluded)
                if c in texts
            ),
            key=lambda pair: (-pair[0], pair[1]),
        )[: self.params.top]
        found = tuple(Candidate(submission_id=c, score=s) for s, c in scored)
        if not scored or scored[0][0] < self.params.threshold:
            return Match(Verdict.UNIQUE, scored[0][0] if scored else 0.0, None, found)
        return Match(Verdict.NEAR_DUPLICATE, scored[0][0], scored[0][1], found)
