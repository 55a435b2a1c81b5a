"""Screening submissions: the program's index, the texts of candidates, the verdicts.

The index lives in memory and holds what the database holds: it is rebuilt from the
``documents`` table at start-up (before any message is consumed). Submissions are screened in
queue order in micro-batches, one transaction each; a document enters the index as soon as it is
screened, so the next one of the same batch is judged against it too. Should the batch's
transaction fail, the next batch finds its documents missing from the database and rebuilds the
index first (``settle``): every verdict is taken against every earlier stored submission of the
program, and never against itself.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from typing import NamedTuple

import sqlalchemy as sa
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.dedup.matching import (
    Index,
    Match,
    MatchingParameters,
    Probe,
    document_text,
    exact_hash,
    warm_up,
)
from services.dedup.normalise import KEY_VERSION, matching_key
from services.dedup.store import dismissed_pairs, documents
from shared.contracts.envelope import derived_message_id, utc_now
from shared.contracts.submission import ReceivedV1, ScreenedV1
from shared.messaging.outbox import add_to_outbox

log = structlog.get_logger(__name__)


class Filer(NamedTuple):
    """Who filed a stored submission."""

    union_code: str
    author_key: str


class TextCache:
    """Matching keys of recent documents (most candidates are recent copies)."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._keys: OrderedDict[str, str] = OrderedDict()

    def get(self, document_id: str) -> str | None:
        """A cached key, refreshed as recently used."""
        key = self._keys.get(document_id)
        if key is not None:
            self._keys.move_to_end(document_id)
        return key

    def put(self, document_id: str, key: str) -> None:
        """Remember a key, forgetting the least recently used beyond capacity."""
        if self._capacity == 0:
            return
        self._keys[document_id] = key
        self._keys.move_to_end(document_id)
        while len(self._keys) > self._capacity:
            self._keys.popitem(last=False)


class Screener:
    """The indexes of every program and what screening needs around them."""

    def __init__(self, params: MatchingParameters, cache_size: int) -> None:
        self.params = params
        self.indexes: dict[str, Index] = {}
        self.cache = TextCache(cache_size)
        self.cache_size = cache_size
        self.last_seq = 0  # the highest documents.seq the indexes hold
        self.unconfirmed: set[str] = set()  # indexed in a transaction not yet known committed

    def index(self, program: str) -> Index:
        """The index of ``program``."""
        return self.indexes.setdefault(program, Index(self.params))

    async def rebuild(self, sessions: async_sessionmaker[AsyncSession]) -> int:
        """Load every screened document into the indexes, in screening order, once the keys
        stored by an older version of the matching key are derived again."""
        started = time.perf_counter()
        warm_up(self.params)
        rekeyed = await self.rekey(sessions)
        async with sessions() as session:
            count = await self.catch_up(session)
        log.info(
            "index_rebuilt",
            documents=count,
            rekeyed=rekeyed,
            seconds=round(time.perf_counter() - started, 2),
        )
        return count

    async def rekey(self, sessions: async_sessionmaker[AsyncSession], chunk: int = 5_000) -> int:
        """Derive again, a chunk per transaction, every stored key of an older key version,
        with its signature; the reviewers' dismissals keyed by the old key's hash follow it.

        The new key is derived from the stored key, since the source text is not stored:
        look-alike letters are folded as in a new key, but words an invisible character split
        before intake removed such characters stay split.
        """
        index, count = Index(self.params), 0
        while True:
            async with sessions() as session, session.begin():
                rows = (
                    await session.execute(
                        sa.select(documents.c.seq, documents.c.matching_key)
                        .where(documents.c.key_version != KEY_VERSION)
                        .order_by(documents.c.seq)
                        .limit(chunk)
                    )
                ).all()
                if not rows:
                    return count
                keys = [matching_key(row.matching_key) for row in rows]
                signatures = index.sign(keys)
                await session.execute(
                    documents.update()
                    .where(documents.c.seq == sa.bindparam("s"))
                    .values(
                        matching_key=sa.bindparam("k"),
                        signature=sa.bindparam("g"),
                        key_version=KEY_VERSION,
                    ),
                    [
                        {"s": row.seq, "k": key, "g": index.stored(signature)}
                        for row, key, signature in zip(rows, keys, signatures, strict=True)
                    ],
                )
                moved = {
                    exact_hash(row.matching_key): exact_hash(key)
                    for row, key in zip(rows, keys, strict=True)
                    if key != row.matching_key
                }
                await self._move_dismissals(session, moved)
                count += len(rows)

    @staticmethod
    async def _move_dismissals(session: AsyncSession, moved: dict[str, str]) -> None:
        """Key the dismissals of texts whose key changed by the new key's hash (two old keys
        may now be one: their dismissals are merged)."""
        if not moved:
            return
        pairs = (
            await session.execute(
                sa.select(dismissed_pairs).where(dismissed_pairs.c.text_hash.in_(moved))
            )
        ).all()
        if not pairs:
            return
        moving = dismissed_pairs.c.text_hash.in_(moved)
        await session.execute(dismissed_pairs.delete().where(moving))
        wanted = {(moved[pair.text_hash], pair.other_id): pair.review_id for pair in pairs}
        rows = await session.execute(
            sa.select(dismissed_pairs.c.text_hash, dismissed_pairs.c.other_id).where(
                dismissed_pairs.c.text_hash.in_({text_hash for text_hash, _ in wanted})
            )
        )
        present = {(text_hash, other_id) for text_hash, other_id in rows}
        await session.execute(
            dismissed_pairs.insert(),
            [
                {"text_hash": text_hash, "other_id": other_id, "review_id": review_id}
                for (text_hash, other_id), review_id in wanted.items()
                if (text_hash, other_id) not in present
            ],
        )

    async def settle(self, session: AsyncSession) -> None:
        """Make sure the indexes hold nothing a rolled-back transaction screened: if a document
        indexed before is not stored, start over from the database."""
        if not self.unconfirmed:
            return
        unconfirmed = self.unconfirmed
        stored = await session.scalar(
            sa.select(sa.func.count()).where(documents.c.submission_id.in_(unconfirmed))
        )
        # Forgotten only once checked: if the database is away for the check, the next batch
        # checks again (clearing first lost the doubt, and rolled-back documents stayed in).
        self.unconfirmed = set()
        if stored != len(unconfirmed):
            log.warning("index_rebuilt_after_rollback", lost=len(unconfirmed) - (stored or 0))
            self.indexes.clear()
            self.cache = TextCache(self.cache_size)
            self.last_seq = 0
            await self.catch_up(session)

    async def screen_in_order(self, session: AsyncSession, events: Sequence[ReceivedV1]) -> None:
        """Screen a batch in order, each against the ones before it (in this transaction too).

        What does not depend on the order (reviewers' dismissals, the matches' unions and
        authors, the events to publish) is read or written once for the whole batch.
        """
        await self.settle(session)
        await self.catch_up(session)
        probes = [
            self.index(e.program).probe(document_text(e.title, e.situation, e.solution, e.effect))
            for e in events
        ]
        dismissed = await self._dismissed(session, {probe.digest for probe in probes})
        matches, rows = [], []
        for event, probe in zip(events, probes, strict=True):
            match = await self._screen(
                session, event, probe, dismissed.get(probe.digest, frozenset())
            )
            matches.append(match)
            rows.append(self._document_row(event, probe, match))
        await self._store(session, rows)
        filers = await self._filers(session, {m.best_match for m in matches if m.best_match})
        await add_to_outbox(
            session,
            *(
                self._event(
                    event, match, filers.get(match.best_match) if match.best_match else None
                )
                for event, match in zip(events, matches, strict=True)
            ),
        )

    async def catch_up(self, session: AsyncSession, indexed: AbstractSet[str] = frozenset()) -> int:
        """Index the documents stored since the indexes were last in step with the database
        (all of them at start-up; those another instance screened, after a takeover), except
        those ``indexed`` already."""
        rows = await session.stream(
            sa.select(
                documents.c.seq,
                documents.c.program,
                documents.c.submission_id,
                documents.c.matching_key,
                documents.c.signature,
            )
            .where(documents.c.seq > self.last_seq)
            .order_by(documents.c.seq)
            .execution_options(yield_per=5_000)
        )
        count = 0
        async for chunk in rows.partitions(5_000):
            by_program: dict[str, list[tuple[str, str, bytes | None]]] = {}
            for _, program, submission_id, key, signature in chunk:
                if submission_id not in indexed:
                    by_program.setdefault(program, []).append((submission_id, key, signature))
            for program, batch in by_program.items():
                self.index(program).add_many(batch)
            self.last_seq = chunk[-1].seq
            count += len(chunk)
        return count

    async def _screen(
        self, session: AsyncSession, event: ReceivedV1, probe: Probe, dismissed: frozenset[str]
    ) -> Match:
        """Judge ``event`` and index it (before it is stored: the next one of the batch is
        judged against it too)."""
        index = self.index(event.program)
        excluded = dismissed | {event.submission_id}
        shortlisted = await self._texts(session, index.shortlist(probe, excluded))
        match = index.judge(probe, excluded, shortlisted)
        if match.outside_template is not None:
            # What is like the query outside a template it shares may not have been shortlisted.
            outside = index.probe_outside(match.outside_template)
            shortlisted |= await self._texts(session, index.shortlist(outside, excluded))
            match = index.judge(probe, excluded, shortlisted)
        index.add(event.submission_id, probe)
        self.cache.put(event.submission_id, probe.key)
        self.unconfirmed.add(event.submission_id)
        return match

    def _document_row(self, event: ReceivedV1, probe: Probe, match: Match) -> dict[str, object]:
        return {
            "submission_id": event.submission_id,
            "program": event.program,
            "union_code": event.union_code,
            "author_key": event.author_key,
            "matching_key": probe.key,
            "key_version": KEY_VERSION,
            "signature": self.index(event.program).stored(probe.signature),
            "verdict": match.verdict.value,
            "score": match.score,
            "best_match_id": match.best_match,
            "method_version": self.params.version,
            "screened_at": utc_now(),
        }

    async def _store(self, session: AsyncSession, rows: list[dict[str, object]]) -> None:
        """Store the batch's documents in one statement. Their sequence numbers follow the
        indexes' last one unless another instance stored documents meanwhile (a takeover):
        then those are indexed too."""
        if not rows:
            return
        seqs = list(
            await session.scalars(
                documents.insert().returning(documents.c.seq, sort_by_parameter_order=True),
                rows,
            )
        )
        if seqs == list(range(self.last_seq + 1, self.last_seq + 1 + len(rows))):
            self.last_seq = seqs[-1]
        else:
            await self.catch_up(session, indexed={str(row["submission_id"]) for row in rows})

    @staticmethod
    async def _dismissed(session: AsyncSession, text_hashes: set[str]) -> dict[str, frozenset[str]]:
        """The submissions reviewers said each of these texts is not a copy of."""
        found: dict[str, set[str]] = {}
        rows = await session.execute(
            sa.select(dismissed_pairs.c.text_hash, dismissed_pairs.c.other_id).where(
                dismissed_pairs.c.text_hash.in_(text_hashes)
            )
        )
        for text_hash, other_id in rows:
            found.setdefault(text_hash, set()).add(other_id)
        return {text_hash: frozenset(others) for text_hash, others in found.items()}

    async def dismiss(
        self, session: AsyncSession, submission_id: str, other_id: str | None, review_id: str
    ) -> None:
        """Remember that two submissions are not copies of each other, both ways round."""
        reviewed = await self._document(session, submission_id)
        other_id = other_id or (reviewed.best_match_id if reviewed is not None else None)
        if reviewed is None or other_id is None:
            log.warning("dismissal_without_pair", submission_id=submission_id)
            return
        pairs = [(exact_hash(reviewed.matching_key), other_id)]
        other = await self._document(session, other_id)
        if other is not None:
            pairs.append((exact_hash(other.matching_key), submission_id))
        for text_hash, dismissed_id in pairs:
            known = await session.scalar(
                sa.select(dismissed_pairs.c.review_id).where(
                    dismissed_pairs.c.text_hash == text_hash,
                    dismissed_pairs.c.other_id == dismissed_id,
                )
            )
            if known is None:
                await session.execute(
                    dismissed_pairs.insert().values(
                        text_hash=text_hash, other_id=dismissed_id, review_id=review_id
                    )
                )

    @staticmethod
    async def _document(session: AsyncSession, submission_id: str) -> sa.Row | None:
        return (
            await session.execute(
                sa.select(documents).where(documents.c.submission_id == submission_id)
            )
        ).first()

    async def _texts(self, session: AsyncSession, candidates: list[str]) -> dict[str, str]:
        texts: dict[str, str] = {}
        missing = []
        for candidate in candidates:
            cached = self.cache.get(candidate)
            if cached is None:
                missing.append(candidate)
            else:
                texts[candidate] = cached
        if missing:
            rows = await session.execute(
                sa.select(documents.c.submission_id, documents.c.matching_key).where(
                    documents.c.submission_id.in_(missing)
                )
            )
            for submission_id, key in rows:
                texts[submission_id] = key
                self.cache.put(submission_id, key)
        return texts

    @staticmethod
    async def _filers(session: AsyncSession, submission_ids: set[str]) -> dict[str, Filer]:
        """The union and author of each of these stored submissions."""
        if not submission_ids:
            return {}
        rows = await session.execute(
            sa.select(
                documents.c.submission_id, documents.c.union_code, documents.c.author_key
            ).where(documents.c.submission_id.in_(submission_ids))
        )
        return {row.submission_id: Filer(row.union_code, row.author_key) for row in rows}

    def _event(self, event: ReceivedV1, match: Match, match_filer: Filer | None) -> ScreenedV1:
        return ScreenedV1(
            message_id=derived_message_id(event.submission_id, ScreenedV1.routing_key()),
            correlation_id=event.correlation_id,
            occurred_at=utc_now(),
            **event.counting_facts(),
            verdict=match.verdict,
            score=match.score,
            best_match_id=match.best_match,
            candidates=list(match.candidates),
            same_union=match_filer is not None and match_filer.union_code == event.union_code,
            same_author=match_filer is not None and match_filer.author_key == event.author_key,
            method_version=self.params.version,
        )
