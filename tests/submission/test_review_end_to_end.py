"""Reviews move counts: submission, dedup and aggregation on one broker, each its own database."""

from __future__ import annotations

import random
from pathlib import Path

import httpx
import pytest

from pipeline.perturb import edit_words
from pipeline.texts import initiative
from shared.polling import poll
from tests.conftest import RunningSubmission, aggregation_app, dedup_app
from tests.submission.test_reviews import review
from tests.support.drafts import HANOI_GRASSROOTS, draft
from tests.support.inprocess import serving

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

OTHER_DISTRICT_GRASSROOTS = "ldld-ha-noi.h01.cs0001"


async def counts(aggregation: httpx.AsyncClient, **expected: int) -> None:
    """Poll Hà Nội's program figures until they read ``expected``."""

    async def figures() -> dict[str, int]:
        answer = await aggregation.get(
            "/v1/unions/ldld-ha-noi/progress", params={"scope": "program"}
        )
        return answer.json()["subtree"] if answer.status_code == 200 else {}

    await poll(
        figures,
        lambda got: all(got.get(name) == value for name, value in expected.items()),
        30,
        f"Hà Nội at {expected}",
    )


async def test_confirming_a_near_duplicate_takes_it_out_of_the_count_and_undoing_puts_it_back(
    submission: RunningSubmission, broker_url: str, tmp_path: Path
) -> None:
    rng = random.Random(5)
    original = initiative(rng)
    copy = edit_words(rng, 0.05)(original)
    portal = await submission.new_key("vn")
    reviewer = await submission.new_key("ldld-ha-noi", review=True)
    dedup = dedup_app(broker_url, f"sqlite+aiosqlite:///{tmp_path / 'dedup.sqlite3'}")
    counting = aggregation_app(broker_url, f"sqlite+aiosqlite:///{tmp_path / 'agg.sqlite3'}")
    async with serving(dedup, "dedup"), serving(counting, "aggregation") as aggregation:
        ids = []
        for key, union, text in (
            ("k-1", HANOI_GRASSROOTS, original),
            ("k-2", OTHER_DISTRICT_GRASSROOTS, copy),
        ):
            answer = await submission.http.post(
                "/v1/submissions",
                json=draft(
                    union_code=union,
                    title=text.title,
                    situation=text.situation,
                    solution=text.solution,
                    effect=text.effect,
                    field=text.field,
                ),
                headers={**portal, "Idempotency-Key": key},
            )
            assert answer.status_code == 201, answer.text
            ids.append(answer.json()["id"])
        shown = await poll(
            lambda: submission.http.get(f"/v1/submissions/{ids[1]}", headers=reviewer),
            lambda r: r.json()["screening"] is not None,
            30,
            "the copy screened",
        )
        screening = shown.json()["screening"]
        assert (screening["verdict"], screening["best_match_id"]) == ("near_duplicate", ids[0])
        await counts(aggregation, received=2, counted=2, flagged=1, excluded=0)

        confirmed = await review(submission, reviewer, ids[1], decision="confirmed_duplicate")
        assert confirmed.status_code == 201 and confirmed.json()["duplicate_of"] == ids[0]
        await counts(aggregation, received=2, counted=1, flagged=0, excluded=1)

        undone = await review(submission, reviewer, ids[1], decision="not_duplicate")
        assert undone.status_code == 201
        await counts(aggregation, received=2, counted=2, flagged=0, excluded=0)
