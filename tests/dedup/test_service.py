"""The dedup service against the real broker, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import random

import httpx

from pipeline.perturb import edit_words, strip_accents
from pipeline.tap import Tap
from pipeline.texts import initiative
from shared.contracts.submission import ReceivedV1
from shared.polling import poll
from tests.support.broker import PrivateRabbit
from tests.support.events import received
from tests.support.publish import take_messages

RECEIVED = "submission.received.v1"
SCREENED = "submission.screened.v1"


async def send(tap: Tap, event: ReceivedV1) -> None:
    await tap.publish(RECEIVED, event.model_dump_json().encode(), event.message_id)


def screened(submission_id: str):
    return lambda d: d.routing_key == SCREENED and d.body.get("submission_id") == submission_id


async def test_copy_filed_by_another_union_is_flagged_with_its_original(
    dedup: httpx.AsyncClient, broker_url: str
) -> None:
    rng = random.Random(11)
    original = initiative(rng)
    first = received(original, "ldld-ha-noi.h03.cs0002", author_key="a1")
    unrelated = received(initiative(rng, original.field), "ldld-ha-noi.h03.cs0002")
    copy = received(
        strip_accents(edit_words(rng, 0.1)(original)), "ldld-lai-chau.h01.cs0001", author_key="a2"
    )
    async with Tap(broker_url, (SCREENED,)) as tap:
        for event in (first, unrelated):
            await send(tap, event)
            await tap.wait_for(screened(event.submission_id))
        await send(tap, copy)
        [verdict] = await tap.wait_for(screened(copy.submission_id))
    body = verdict.body
    assert body["verdict"] == "near_duplicate"
    assert body["best_match_id"] == first.submission_id
    assert body["same_union"] is False and body["same_author"] is False
    assert body["candidates"][0]["submission_id"] == first.submission_id
    assert body["method_version"].startswith("minhash-lsh-rensa")
    assert body["union_path"] == copy.union_path and body["phase"] == "phase-1"


async def test_redelivered_submission_is_screened_once(
    dedup: httpx.AsyncClient, broker_url: str
) -> None:
    rng = random.Random(12)
    event = received(initiative(rng))
    barrier = received(initiative(rng))
    async with Tap(broker_url, (SCREENED,)) as tap:
        await send(tap, event)
        await send(tap, event)
        await send(tap, barrier)
        await tap.wait_for(screened(barrier.submission_id))
        verdicts = tap.matching(screened(event.submission_id))
    assert len(verdicts) == 1
    assert verdicts[0].body["verdict"] == "unique"


async def test_poison_is_dead_lettered_and_screening_goes_on(
    dedup: httpx.AsyncClient, broker_url: str
) -> None:
    event = received(initiative(random.Random(13)))
    async with Tap(broker_url, (SCREENED,)) as tap:
        await tap.publish(RECEIVED, b"\xff not json", "poison-1")
        await tap.publish(RECEIVED, b'{"message_id": "poison-2"}', "poison-2")
        await send(tap, event)
        await tap.wait_for(screened(event.submission_id))
    dead = await take_messages(broker_url, "dedup.submission.received.v1.dlq", 2)
    reasons = {d.message_id: d.headers["x-dead-letter-reason"] for d in dead}
    assert reasons["poison-1"].startswith("malformed_json")
    assert reasons["poison-2"].startswith("invalid_field")


async def test_not_duplicate_review_is_remembered(
    dedup: httpx.AsyncClient, broker_url: str, rabbit: PrivateRabbit
) -> None:
    rng = random.Random(14)
    original = initiative(rng)
    first = received(original)
    copy = received(edit_words(rng, 0.05)(original))
    async with Tap(broker_url, (SCREENED,)) as tap:
        await send(tap, first)
        await tap.wait_for(screened(first.submission_id))
        await send(tap, copy)
        [flagged] = await tap.wait_for(screened(copy.submission_id))
        assert flagged.body["best_match_id"] == first.submission_id
        review = reviewed_not_duplicate(copy)
        await tap.publish("submission.reviewed.v1", review.encode(), f"review-{copy.submission_id}")
        # Acks follow commits: once the review queue holds nothing, not even unacked, it is applied.
        await poll(
            lambda: rabbit.queue_depths(broker_url).get("dedup.submission.reviewed.v1"),
            lambda depth: depth == 0,
            30,
            "the review applied",
        )
        # The same text filed again is not flagged against the original any more.
        again = received(edit_words(rng, 0.05)(original))
        refiled = copy.model_copy(
            update={"submission_id": again.submission_id, "message_id": again.message_id}
        )
        await send(tap, refiled)
        [verdict] = await tap.wait_for(screened(refiled.submission_id))
    candidates = [c["submission_id"] for c in verdict.body["candidates"]]
    assert first.submission_id not in candidates
    assert verdict.body["best_match_id"] == copy.submission_id


def reviewed_not_duplicate(event: ReceivedV1) -> str:
    facts = event.model_dump(
        mode="json",
        include={
            "submission_id",
            "union_code",
            "union_path",
            "program",
            "phase",
            "submitted_at",
            "local_date",
            "benefit_vnd",
            "author_key",
            "correlation_id",
            "occurred_at",
        },
    )
    return json.dumps(
        {
            **facts,
            "message_id": f"review-{event.submission_id}",
            "review_id": "r1",
            "sequence": 1,
            "decision": "not_duplicate",
            "reviewer_union": "ldld-ha-noi",
            "decided_at": facts["occurred_at"],
        }
    )
