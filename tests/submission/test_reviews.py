"""Reviews against the real broker: who may decide, what is refused, what is published and kept."""

from __future__ import annotations

from datetime import date

import httpx
import pytest

from pipeline.tap import Tap
from shared.contracts.submission import ScreenedV1, Verdict
from shared.polling import poll
from tests.conftest import RunningSubmission
from tests.support.drafts import HANOI_GRASSROOTS, draft
from tests.support.events import facts, screened

REVIEWED = "submission.reviewed.v1"
SIBLING = "ldld-ha-noi.h03.cs0001"
DISTRICT = "ldld-ha-noi.h03"


async def file(submission: RunningSubmission, key: str, **body: object) -> str:
    headers = await submission.new_key("vn")
    answer = await submission.http.post(
        "/v1/submissions", json=draft(**body), headers={**headers, "Idempotency-Key": key}
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


async def review(
    submission: RunningSubmission, headers: dict[str, str], submission_id: str, **body: object
) -> httpx.Response:
    return await submission.http.post(
        f"/v1/submissions/{submission_id}/reviews", json=body, headers=headers
    )


async def screen(
    submission: RunningSubmission, tap: Tap, submission_id: str, verdict: Verdict, match: str | None
) -> None:
    """Publish dedup's verdict and wait until the submission shows it."""
    event: ScreenedV1 = screened(
        facts(submission_id, HANOI_GRASSROOTS, date(2022, 3, 15)), verdict
    ).model_copy(update={"best_match_id": match})
    await tap.publish(ScreenedV1.routing_key(), event.model_dump_json().encode(), event.message_id)
    headers = await submission.new_key("vn")
    await poll(
        lambda: submission.http.get(f"/v1/submissions/{submission_id}", headers=headers),
        lambda r: (r.json()["screening"] or {}).get("verdict") == verdict.value,
        30,
        "the verdict shown",
    )


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_permission_matrix(submission: RunningSubmission) -> None:
    submission_id = await file(submission, "k-1")
    own = await submission.new_key(HANOI_GRASSROOTS, review=True)
    superior = await submission.new_key(DISTRICT, review=True)
    sibling = await submission.new_key(SIBLING, review=True)
    portal = await submission.new_key(HANOI_GRASSROOTS)
    answers = {
        "own": await review(submission, own, submission_id, decision="valid"),
        "superior": await review(
            submission, superior, submission_id, decision="invalid", reason="không mới"
        ),
        "sibling": await review(submission, sibling, submission_id, decision="withdrawn"),
        "portal key": await review(submission, portal, submission_id, decision="withdrawn"),
        "no key": await review(submission, {}, submission_id, decision="withdrawn"),
    }
    assert {who: a.status_code for who, a in answers.items()} == {
        "own": 201,
        "superior": 201,
        "sibling": 403,
        "portal key": 403,
        "no key": 401,
    }
    assert answers["portal key"].json()["errors"][0]["code"] == "not_a_reviewer"
    assert answers["own"].json()["reviewer_union"] == HANOI_GRASSROOTS
    assert answers["superior"].json()["reviewer_union"] == DISTRICT
    for path, params in (
        ("/v1/reviews/queue", {"union": HANOI_GRASSROOTS}),
        ("/v1/reviews/backlog", {"union": HANOI_GRASSROOTS}),
        ("/v1/exports/submissions", {"union": HANOI_GRASSROOTS}),
    ):
        got = {
            who: (await submission.http.get(path, params=params, headers=headers)).status_code
            for who, headers in (("own", own), ("superior", superior), ("sibling", sibling))
        }
        assert got == {"own": 200, "superior": 200, "sibling": 403}, path
        unknown = await submission.http.get(path, params={"union": "nowhere"}, headers=own)
        assert unknown.status_code == 404
    trail = await submission.http.get(f"/v1/submissions/{submission_id}/reviews", headers=sibling)
    assert trail.status_code == 403


async def test_decisions_are_kept_in_the_trail_and_published_once_each(
    submission: RunningSubmission, broker_url: str
) -> None:
    original = await file(submission, "k-1")
    copy = await file(submission, "k-2", title="Cải tiến quy trình kiểm tra chất lượng")
    reviewer = await submission.new_key(DISTRICT, review=True)
    async with Tap(broker_url, (REVIEWED, ScreenedV1.routing_key())) as tap:
        await screen(submission, tap, copy, Verdict.NEAR_DUPLICATE, original)
        confirmed = await review(
            submission, {**reviewer}, copy, decision="confirmed_duplicate", reviewer="Trần Thị B"
        )
        undone = await review(submission, reviewer, copy, decision="not_duplicate", reason="khác")
        again = await review(submission, reviewer, copy, decision="not_duplicate")
        assert (confirmed.status_code, undone.status_code, again.status_code) == (201, 201, 409)
        assert again.json()["errors"][0]["code"] == "already_decided"
        published = await tap.wait_for(lambda d: d.routing_key == REVIEWED, count=2)
    bodies = sorted((d.body for d in published), key=lambda b: b["sequence"])
    assert [(b["sequence"], b["decision"], b["duplicate_of"]) for b in bodies] == [
        (1, "confirmed_duplicate", original),
        (2, "not_duplicate", original),
    ]
    assert bodies[0]["union_path"] == ["vn", "ldld-ha-noi", DISTRICT, HANOI_GRASSROOTS]
    assert bodies[0]["local_date"] == "2022-03-15"
    assert bodies[0]["submitted_at"].startswith("2022-03-15T02:30:00")
    assert bodies[0]["reviewer_union"] == DISTRICT
    assert len({d.message_id for d in published}) == 2
    trail = (await submission.http.get(f"/v1/submissions/{copy}/reviews", headers=reviewer)).json()
    assert [(r["previous_state"], r["decision"], r["reviewer_name"]) for r in trail] == [
        ("pending", "confirmed_duplicate", "Trần Thị B"),
        ("confirmed_duplicate", "not_duplicate", None),
    ]
    shown = (await submission.http.get(f"/v1/submissions/{copy}", headers=reviewer)).json()
    assert shown["review_state"] == "not_duplicate"
    assert shown["screening"]["best_match_id"] == original
    assert shown["screening"]["verdict"] == "near_duplicate"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_refusals_say_why(submission: RunningSubmission) -> None:
    submission_id = await file(submission, "k-1")
    reviewer = await submission.new_key("ldld-ha-noi", review=True)
    cases = [
        ({"decision": "invalid"}, 422, "reason_required"),
        ({"decision": "confirmed_duplicate"}, 422, "duplicate_of_required"),
        ({"decision": "confirmed_duplicate", "duplicate_of": "nope"}, 422, "duplicate_of_unknown"),
        ({"decision": "not_duplicate"}, 409, "not_flagged"),
        ({"decision": "maybe"}, 422, None),
        ({"decision": "withdrawn"}, 201, None),
        ({"decision": "valid"}, 409, "withdrawn_is_final"),
    ]
    for body, status, code in cases:
        answer = await review(submission, reviewer, submission_id, **body)
        assert answer.status_code == status, (body, answer.text)
        if code is not None:
            assert answer.json()["errors"][0]["code"] == code
    missing = await review(submission, reviewer, "no-such-id", decision="valid")
    assert missing.status_code == 404
