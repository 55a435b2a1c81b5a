"""A change of the matching key reaches the documents already stored: their keys (and
signatures, and the dismissals keyed by them) are derived again when the index is rebuilt."""

from __future__ import annotations

import random
import re

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from pipeline.perturb import look_alike_letters
from pipeline.tap import Tap
from pipeline.texts import initiative
from services.dedup.matching import Index, MatchingParameters, document_text, exact_hash
from services.dedup.normalise import KEY_VERSION, strip_diacritics
from services.dedup.store import dismissed_pairs, documents
from tests.conftest import dedup_app
from tests.dedup.test_service import SCREENED, screened, send
from tests.support.events import received
from tests.support.inprocess import serving


def first_version_key(text: str) -> str:
    """The matching key as version 1 made it: other scripts' letters kept as they are."""
    folded = strip_diacritics(text).casefold()
    return " ".join(re.sub(r"[\W_]+", " ", folded).split())


async def test_keys_of_an_older_version_are_derived_again_at_rebuild(
    broker_url: str, database_url: str
) -> None:
    rng = random.Random(23)
    original = initiative(rng)
    disguised = look_alike_letters(rng, 0.5)(original)
    filed = received(disguised)
    parts = (disguised.title, disguised.situation, disguised.solution, disguised.effect)
    old_key = first_version_key(" ".join(parts))
    new_key = document_text(original.title, original.situation, original.solution, original.effect)
    assert old_key != new_key  # version 1 did not see through the look-alikes
    async with (
        serving(dedup_app(broker_url, database_url), "dedup"),
        Tap(broker_url, (SCREENED,)) as tap,
    ):
        await send(tap, filed)
        await tap.wait_for(screened(filed.submission_id))

    # As version 1 stored it: its own key, no signature, a reviewer's dismissal keyed by it.
    engine = create_async_engine(database_url)
    async with engine.begin() as connection:
        await connection.execute(
            documents.update()
            .where(documents.c.submission_id == filed.submission_id)
            .values(matching_key=old_key, key_version=1, signature=None)
        )
        await connection.execute(
            dismissed_pairs.insert().values(
                text_hash=exact_hash(old_key), other_id="someone-else", review_id="review-1"
            )
        )

    copy = received(original)
    async with (
        serving(dedup_app(broker_url, database_url), "dedup"),
        Tap(broker_url, (SCREENED,)) as tap,
    ):
        async with engine.connect() as connection:
            stored = (
                await connection.execute(
                    sa.select(documents).where(documents.c.submission_id == filed.submission_id)
                )
            ).one()
            dismissals = (await connection.execute(sa.select(dismissed_pairs))).all()
        assert (stored.matching_key, stored.key_version) == (new_key, KEY_VERSION)
        assert Index(MatchingParameters()).restore(stored.signature) is not None
        assert [(d.text_hash, d.other_id) for d in dismissals] == [
            (exact_hash(new_key), "someone-else")
        ]
        # The Latin original filed now is an exact duplicate of the disguised copy filed before.
        await send(tap, copy)
        [verdict] = await tap.wait_for(screened(copy.submission_id))
    await engine.dispose()
    assert verdict.body["verdict"] == "exact_duplicate"
    assert verdict.body["best_match_id"] == filed.submission_id
    assert f"/key{KEY_VERSION}/" in verdict.body["method_version"]
