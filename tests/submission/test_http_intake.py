"""HTTP intake against the real broker, on SQLite and PostgreSQL."""

from __future__ import annotations

from pipeline.tap import Tap
from tests.conftest import RunningSubmission
from tests.support.drafts import HANOI_EMAIL, HANOI_PHONE, draft

RECEIVED = "submission.received.v1"


async def test_accepted_submission_is_published_exactly_once(
    submission: RunningSubmission, broker_url: str
) -> None:
    headers = await submission.new_key("ldld-ha-noi")
    async with Tap(broker_url, (RECEIVED,)) as tap:
        first = await submission.http.post(
            "/v1/submissions", json=draft(), headers={**headers, "Idempotency-Key": "k-1"}
        )
        assert first.status_code == 201, first.text
        submission_id = first.json()["id"]
        # A second submission is the barrier: once its event is out, the relay is past the first.
        second = await submission.http.post(
            "/v1/submissions",
            json=draft(title="Sáng kiến thứ hai về tiết kiệm điện"),
            headers={**headers, "Idempotency-Key": "k-2"},
        )
        assert second.status_code == 201, second.text
        await tap.wait_for(lambda d: d.body["submission_id"] == second.json()["id"])
        events = tap.matching(lambda d: d.body["submission_id"] == submission_id)
    assert len(events) == 1
    event = events[0]
    assert event.routing_key == RECEIVED
    assert event.headers["x-schema"] == "submission.received"
    assert event.message_id == event.body["message_id"]
    assert event.body["union_path"] == [
        "vn",
        "ldld-ha-noi",
        "ldld-ha-noi.h03",
        "ldld-ha-noi.h03.cs0002",
    ]
    assert event.body["phase"] == "phase-1"
    assert event.body["title"] == "Cải tiến quy trình kiểm tra chất lượng sản phẩm"
    assert HANOI_PHONE not in event.raw.decode() and HANOI_EMAIL not in event.raw.decode()


async def test_same_key_same_body_gives_one_submission(submission: RunningSubmission) -> None:
    headers = {**(await submission.new_key("ldld-ha-noi")), "Idempotency-Key": "same"}
    first = await submission.http.post("/v1/submissions", json=draft(), headers=headers)
    again = await submission.http.post("/v1/submissions", json=draft(), headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    other = await submission.http.post(
        "/v1/submissions", json=draft(benefit_vnd=5), headers=headers
    )
    assert other.status_code == 409
    assert other.json()["errors"][0]["code"] == "key_reused"


async def test_text_that_cannot_be_stored_is_refused_and_invisible_text_is_dropped(
    submission: RunningSubmission,
) -> None:
    """On SQLite and PostgreSQL (which cannot store a NUL at all): nothing reaches the database
    that should not, and every refusal names its field."""
    headers = await submission.new_key("vn")
    nul_member = draft(author={**draft()["author"], "member_id": "HN\x00000123"})
    refused = await submission.http.post(
        "/v1/submissions", json=nul_member, headers={**headers, "Idempotency-Key": "nul"}
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "author.member_id"
    bad_key = await submission.http.post(
        "/v1/submissions/batch",
        json={"items": [{"client_key": "k\x00", "submission": draft()}]},
        headers=headers,
    )
    assert bad_key.status_code == 422 and "client_key" in bad_key.text
    hidden = draft(title="Cải\u200b tiến\u2060 quy trình kiểm\ufeff tra chất lượng")
    filed = await submission.http.post(
        "/v1/submissions", json=hidden, headers={**headers, "Idempotency-Key": "zw"}
    )
    assert filed.status_code == 201, filed.text
    assert filed.json()["title"] == "Cải tiến quy trình kiểm tra chất lượng"
