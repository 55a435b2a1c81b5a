"""The HTTP API's answers: authentication, scope, bad bodies, batches, reading."""

from __future__ import annotations

import pytest

from tests.conftest import RunningSubmission
from tests.support.drafts import HANOI_EMAIL, HANOI_PHONE, draft

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

LAI_CHAU_GRASSROOTS = "ldld-lai-chau.h01.cs0001"


async def post(submission: RunningSubmission, headers: dict[str, str], key: str, **body: object):
    return await submission.http.post(
        "/v1/submissions", json=draft(**body), headers={**headers, "Idempotency-Key": key}
    )


async def test_missing_or_wrong_key_is_401(submission: RunningSubmission) -> None:
    missing = await post(submission, {}, "k")
    wrong = await post(submission, {"X-API-Key": "skp_0000_nope"}, "k")
    assert (missing.status_code, wrong.status_code) == (401, 401)
    assert missing.json()["errors"][0]["code"] == "unauthenticated"


async def test_union_outside_the_key_scope_is_403(submission: RunningSubmission) -> None:
    headers = await submission.new_key("ldld-ha-noi")
    outside = await post(submission, headers, "k", union_code=LAI_CHAU_GRASSROOTS)
    inside = await post(submission, headers, "k2")
    assert (outside.status_code, inside.status_code) == (403, 201)
    lai_chau = await submission.new_key("ldld-lai-chau")
    read = await submission.http.get(f"/v1/submissions/{inside.json()['id']}", headers=lai_chau)
    assert read.status_code == 403


async def test_field_errors_are_422_with_reasons(submission: RunningSubmission) -> None:
    headers = await submission.new_key("vn")
    response = await post(submission, headers, "k", union_code="nowhere", benefit_vnd=-1)
    assert response.status_code == 422
    assert {(e["field"], e["code"]) for e in response.json()["errors"]} == {
        ("union_code", "unknown_union"),
        ("benefit_vnd", "negative"),
    }
    typed = await post(submission, headers, "k", benefit_vnd="many")
    assert typed.status_code == 422
    assert typed.json()["errors"][0]["field"] == "benefit_vnd"


async def test_bad_bodies_get_4xx(submission: RunningSubmission) -> None:
    headers = {**(await submission.new_key("vn")), "Idempotency-Key": "k"}
    malformed = await submission.http.post(
        "/v1/submissions",
        content=b'{"union_code": ',
        headers={**headers, "Content-Type": "application/json"},
    )
    wrong_type = await submission.http.post(
        "/v1/submissions",
        content=b"union_code=x",
        headers={**headers, "Content-Type": "application/x-www-form-urlencoded"},
    )
    huge = await submission.http.post(
        "/v1/submissions",
        content=b"{" + b" " * (17 * 1024 * 1024) + b"}",
        headers={**headers, "Content-Type": "application/json"},
    )
    no_key = await submission.http.post(
        "/v1/submissions", json=draft(), headers={"X-API-Key": headers["X-API-Key"]}
    )
    assert (
        malformed.status_code == 400 and malformed.json()["errors"][0]["code"] == "malformed_json"
    )
    assert wrong_type.status_code == 415
    assert huge.status_code == 413
    assert (
        no_key.status_code == 422
        and no_key.json()["errors"][0]["field"] == "header.Idempotency-Key"
    )


async def test_batch_gives_one_result_per_item(submission: RunningSubmission) -> None:
    headers = await submission.new_key("ldld-ha-noi")
    items = [
        {"client_key": "a", "submission": draft()},
        {"client_key": "b", "submission": draft(benefit_vnd=-3)},
        {"client_key": "c", "submission": draft(union_code=LAI_CHAU_GRASSROOTS)},
        {"client_key": "d", "submission": {"title": "thiếu mọi thứ"}},
        {"client_key": "a", "submission": draft(title="Một nội dung khác hẳn")},
        {"client_key": "e", "submission": draft(title="Sáng kiến khác về an toàn")},
    ]
    response = await submission.http.post(
        "/v1/submissions/batch", json={"items": items}, headers=headers
    )
    assert response.status_code == 200, response.text
    statuses = [r["status"] for r in response.json()["results"]]
    assert statuses == ["created", "rejected", "forbidden", "rejected", "conflict", "created"]
    assert response.json()["summary"] == {
        "created": 2,
        "rejected": 2,
        "forbidden": 1,
        "conflict": 1,
    }
    again = await submission.http.post(
        "/v1/submissions/batch", json={"items": items[:1]}, headers=headers
    )
    first = response.json()["results"][0]
    assert again.json()["results"][0] | {"index": 0} == first | {"status": "replayed"}


async def test_batch_over_the_limit_is_refused(submission: RunningSubmission) -> None:
    headers = await submission.new_key("ldld-ha-noi")
    items = [{"client_key": str(i), "submission": draft()} for i in range(1001)]
    response = await submission.http.post(
        "/v1/submissions/batch", json={"items": items}, headers=headers
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["code"] == "too_many"


async def test_contacts_are_shown_only_to_keys_allowed_to_see_them(
    submission: RunningSubmission,
) -> None:
    plain = await submission.new_key("ldld-ha-noi")
    trusted = await submission.new_key("vn", contacts=True)
    created = (await post(submission, plain, "k")).json()
    assert created["screening"] is None and created["review_state"] == "pending"
    assert HANOI_PHONE not in str(created) and HANOI_EMAIL not in str(created)
    full = (await submission.http.get(f"/v1/submissions/{created['id']}", headers=trusted)).json()
    assert full["author"]["phone"] == HANOI_PHONE and full["author"]["email"] == HANOI_EMAIL
    missing = await submission.http.get("/v1/submissions/nope", headers=trusted)
    assert missing.status_code == 404


async def test_openapi_and_metrics_are_served(submission: RunningSubmission) -> None:
    spec = (await submission.http.get("/openapi.json")).json()
    assert "/v1/submissions/batch" in spec["paths"]
    headers = await submission.new_key("ldld-ha-noi")
    await post(submission, headers, "k")
    metrics = (await submission.http.get("/metrics")).text
    assert 'sangkien_submissions_filed_total{channel="http",outcome="created"}' in metrics


async def test_a_write_without_a_key_is_refused_before_anything_about_its_body(
    submission: RunningSubmission,
) -> None:
    anonymous = await submission.http.post(
        "/v1/submissions/batch",
        content=b"x" * (17 * 1024 * 1024),
        headers={"Content-Type": "text/plain", "Idempotency-Key": "k"},
    )
    assert anonymous.status_code == 401
    assert anonymous.json()["errors"][0]["field"] == "X-API-Key"
