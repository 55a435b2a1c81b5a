"""Union offices change reference data through the submission service (its owner), on SQLite
and PostgreSQL with the real broker: who may change what, refusals with reasons, the change log,
intake following the tree at once, and each change published once as reference.changed.v1."""

from __future__ import annotations

import csv
import io
from typing import Any

from pipeline.tap import Tap
from services.submission.app import create_app
from services.submission.settings import SubmissionSettings
from shared.polling import poll
from tests.conftest import RunningSubmission
from tests.support.drafts import draft
from tests.support.inprocess import serving

CHANGED = "reference.changed.v1"
PROVINCE, DISTRICT = "ldld-lai-chau", "ldld-lai-chau.h01"
NEW_UNION = f"{DISTRICT}.moi01"


def change(reason: str, **body: Any) -> dict[str, Any]:
    return {"reason": reason, "change": body}


def add_new_union() -> dict[str, Any]:
    return change(
        "Công đoàn cơ sở mới thành lập",
        kind="union_added",
        code=NEW_UNION,
        name="Công đoàn cơ sở Công ty Mới",
        level="grassroots",
        parent_code=DISTRICT,
    )


def target(union: str, **value: Any) -> dict[str, Any]:
    """A change setting one of ``union``'s targets."""
    return change("Giao chỉ tiêu", kind="targets_set", union_code=union, targets=[value])


async def file(submission: RunningSubmission, headers: dict[str, str], union: str, key: str) -> Any:
    return await submission.http.post(
        "/v1/submissions",
        json=draft(union_code=union),
        headers={**headers, "Idempotency-Key": key},
    )


async def test_a_union_added_takes_submissions_at_once_and_a_closed_one_stops(
    submission: RunningSubmission, broker_url: str
) -> None:
    office = await submission.new_key(DISTRICT, manage_reference=True)
    portal = await submission.new_key(PROVINCE)
    assert (await file(submission, portal, NEW_UNION, "before")).json()["errors"][0]["code"] == (
        "unknown_union"
    )
    async with Tap(broker_url, (CHANGED,)) as tap:
        added = await submission.http.post(
            "/v1/reference/changes", json=add_new_union(), headers=office
        )
        assert added.status_code == 201, added.text
        assert added.json()["version"] == 1
        assert (await file(submission, portal, NEW_UNION, "after")).status_code == 201

        closed = await submission.http.post(
            "/v1/reference/changes",
            json=change("Giải thể", kind="union_closed", code=NEW_UNION),
            headers=office,
        )
        assert closed.status_code == 201, closed.text
        refused = await file(submission, portal, NEW_UNION, "closed")
        assert refused.status_code == 422
        [error] = refused.json()["errors"]
        assert error["code"] == "union_closed"
        assert NEW_UNION in error["message"]

        await tap.wait_for(lambda d: d.body.get("version") == 2)
        published = tap.matching(lambda d: d.routing_key == CHANGED)
    assert [d.body["version"] for d in published] == [1, 2]  # once each, in order
    assert published[0].body["change"]["kind"] == "union_added"
    assert published[1].body["reason"] == "Giải thể"

    log = await submission.http.get("/v1/reference/changes", headers=portal)
    assert [(e["version"], e["change"]["kind"]) for e in log.json()] == [
        (1, "union_added"),
        (2, "union_closed"),
    ]
    assert "test portal" in log.json()[0]["changed_by"]
    ready = await submission.http.get("/ready")
    assert ready.json()["reference_version"] == 2
    version = await submission.http.get("/v1/reference", headers=portal)
    assert version.json() == {"version": 2}


async def test_the_flags_of_the_current_targets_are_listed(
    submission: RunningSubmission,
) -> None:
    province = await submission.new_key(PROVINCE, manage_reference=True)
    district = await submission.new_key(DISTRICT, manage_reference=True)
    before = await submission.http.get("/v1/reference/flags", headers=district)
    assert before.status_code == 200, before.text
    assert all(flag["union_code"] != DISTRICT for flag in before.json()["flags"])

    for body, headers in (
        (target(DISTRICT, scope="program", assigned=500), province),
        (add_new_union(), province),
        (target(NEW_UNION, scope="program", assigned=100), district),
    ):
        answer = await submission.http.post("/v1/reference/changes", json=body, headers=headers)
        assert answer.status_code == 201, answer.text
    # The district's only assigned share below it is 100 of its 500.
    after = (await submission.http.get("/v1/reference/flags", headers=district)).json()
    assert after["version"] == 3
    [flag] = [f for f in after["flags"] if f["union_code"] == DISTRICT]
    assert flag["scope"] == "program" and "add up to 100, below its own 500" in flag["reason"]
    assert (await submission.http.get("/v1/reference/flags")).status_code == 401


async def test_targets_are_assigned_from_above_and_raised_by_the_union_itself(
    submission: RunningSubmission,
) -> None:
    province = await submission.new_key(PROVINCE, manage_reference=True)
    district = await submission.new_key(DISTRICT, manage_reference=True)

    own_assignment = await submission.http.post(
        "/v1/reference/changes",
        json=target(DISTRICT, scope="program", assigned=500),
        headers=district,
    )
    assert own_assignment.status_code == 403
    assert f"covering {PROVINCE!r}" in own_assignment.json()["errors"][0]["message"]

    assigned = await submission.http.post(
        "/v1/reference/changes",
        json=target(DISTRICT, scope="program", assigned=500),
        headers=province,
    )
    assert assigned.status_code == 201, assigned.text
    # The province's other districts still hold their old shares: its own target is now
    # assigned in full or more, nothing flagged for it.
    assert all(flag["union_code"] != DISTRICT for flag in assigned.json()["flags"])

    raised = await submission.http.post(
        "/v1/reference/changes",
        json=target(DISTRICT, scope="program", assigned=500, self_set=800),
        headers=district,
    )
    assert raised.status_code == 201, raised.text
    below = await submission.http.post(
        "/v1/reference/changes",
        json=target(DISTRICT, scope="program", assigned=500, self_set=400),
        headers=district,
    )
    assert below.status_code == 409
    assert "self-set target 400 of program is below the assigned 500" in below.text
    assert submission.ctx.reference.targets[(DISTRICT, "program")].effective == 800


async def test_changes_that_contradict_the_data_or_come_from_other_keys_are_refused(
    submission: RunningSubmission,
) -> None:
    portal = await submission.new_key(PROVINCE)
    elsewhere = await submission.new_key("ldld-ha-noi", manage_reference=True)
    national = await submission.new_key("vn", manage_reference=True)
    not_an_office = await submission.http.post(
        "/v1/reference/changes", json=add_new_union(), headers=portal
    )
    assert not_an_office.status_code == 403
    assert "may not change reference data" in not_an_office.text
    outside = await submission.http.post(
        "/v1/reference/changes", json=add_new_union(), headers=elsewhere
    )
    assert outside.status_code == 403
    phases = await submission.http.post(
        "/v1/reference/changes",
        json=change(
            "Điều chỉnh",
            kind="targets_set",
            union_code=PROVINCE,
            targets=[{"scope": "program", "assigned": 3000}],
        ),
        headers=national,
    )
    assert phases.status_code == 409
    assert "differ from the program target 3,000" in phases.json()["errors"][0]["message"]
    assert submission.ctx.reference.version == 0


async def test_a_replica_follows_the_changes_another_one_accepted(
    submission: RunningSubmission, submission_settings: SubmissionSettings
) -> None:
    office = await submission.new_key(DISTRICT, manage_reference=True)
    other = create_app(submission_settings.model_copy(update={"reference_follow_seconds": 0.1}))
    async with serving(other, "submission") as http:
        added = await submission.http.post(
            "/v1/reference/changes", json=add_new_union(), headers=office
        )
        assert added.status_code == 201, added.text
        await poll(
            lambda: http.get("/ready"),
            lambda r: r.json().get("reference_version") == 1,
            30,
            "the other replica at version 1",
        )
        assert NEW_UNION in other.state.ctx.reference.tree


async def test_the_national_office_adds_a_phase_and_intake_takes_its_dates(
    submission: RunningSubmission,
) -> None:
    national = await submission.new_key("vn", manage_reference=True)
    province = await submission.new_key(PROVINCE, manage_reference=True)
    phase = change(
        "Giai đoạn 3 của chương trình",
        kind="phase_added",
        code="phase-3",
        name="Giai đoạn 3",
        starts_on="2023-09-02",
        ends_on="2027-12-31",
        national_target=500_000,
    )
    refused = await submission.http.post("/v1/reference/changes", json=phase, headers=province)
    assert refused.status_code == 403
    portal = await submission.new_key(PROVINCE)
    late = draft(union_code=f"{DISTRICT}.cs0001", submitted_at="2024-03-01T09:00:00+07:00")
    before = await submission.http.post(
        "/v1/submissions", json=late, headers={**portal, "Idempotency-Key": "p3-before"}
    )
    assert before.status_code == 422  # outside every phase
    added = await submission.http.post("/v1/reference/changes", json=phase, headers=national)
    assert added.status_code == 201, added.text
    after = await submission.http.post(
        "/v1/submissions", json=late, headers={**portal, "Idempotency-Key": "p3-after"}
    )
    assert after.status_code == 201, after.text
    assert after.json()["phase"] == "phase-3"
    assert submission.ctx.reference.targets[("vn", "program")].assigned == 1_500_000


async def test_moves_and_merges_need_a_key_above_both_and_intake_files_as_of_the_date(
    submission: RunningSubmission, broker_url: str
) -> None:
    """A grassroots union moves to the province's other district from 1 April 2022 (the
    province's key; the district's may not), another merges into a third (the district's key).
    A filing dated 15 March still travels with the old district's path; the merged union's
    filers are told which union to file with."""
    moved, merged, into = f"{DISTRICT}.cs0001", f"{DISTRICT}.cs0002", f"{DISTRICT}.cs0003"
    other_district = f"{PROVINCE}.h02"
    province = await submission.new_key(PROVINCE, manage_reference=True)
    district = await submission.new_key(DISTRICT, manage_reference=True)
    move = change(
        "Điều chuyển",
        kind="union_moved",
        code=moved,
        parent_code=other_district,
        effective_on="2022-04-01",
    )
    not_allowed = await submission.http.post("/v1/reference/changes", json=move, headers=district)
    assert not_allowed.status_code == 403
    assert PROVINCE in not_allowed.text
    async with Tap(broker_url, ("submission.received.v1",)) as tap:
        accepted = await submission.http.post("/v1/reference/changes", json=move, headers=province)
        assert accepted.status_code == 201, accepted.text
        backwards = {**move, "change": {**move["change"], "parent_code": DISTRICT}}
        backwards["change"]["effective_on"] = "2022-03-01"
        refused = await submission.http.post(
            "/v1/reference/changes", json=backwards, headers=province
        )
        assert refused.status_code == 409
        assert "moved on 2022-04-01 already" in refused.text
        assert (await file(submission, province, moved, "march")).status_code == 201
        [received] = await tap.wait_for(lambda d: d.body.get("union_code") == moved)
        assert received.body["union_path"] == ["vn", PROVINCE, DISTRICT, moved]

    merge = change(
        "Hợp nhất", kind="union_merged", code=merged, into_code=into, effective_on="2022-03-01"
    )
    merged_answer = await submission.http.post(
        "/v1/reference/changes", json=merge, headers=district
    )
    assert merged_answer.status_code == 201, merged_answer.text
    refused_filing = await file(submission, province, merged, "merged")
    [error] = refused_filing.json()["errors"]
    assert error["code"] == "union_closed"
    assert f"file with union {into!r}, which it merged into" in error["message"]
    assert (await submission.http.get("/v1/reference", headers=province)).json()["version"] == 2

    async def exported(union: str, phase: str) -> list[dict[str, str]]:
        answer = await submission.http.get(
            "/v1/exports/submissions", params={"union": union, "phase": phase}, headers=province
        )
        assert answer.status_code == 200, answer.text
        return list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))

    # Key scopes and exports follow the union where it sits now, its March filing too.
    assert [r["union_code"] for r in await exported(other_district, "phase-1")] == [moved]
    assert await exported(DISTRICT, "phase-1") == []
    # The national office moves the boundary between the phases back to 1 March: the filing
    # of 15 March is in phase 2 from then on.
    national = await submission.new_key("vn", manage_reference=True)
    boundary = change(
        "Điều chỉnh giai đoạn",
        kind="phases_redated",
        phases=[
            {"code": "phase-1", "starts_on": "2021-09-01", "ends_on": "2022-02-28"},
            {"code": "phase-2", "starts_on": "2022-03-01", "ends_on": "2023-09-01"},
        ],
    )
    assert (
        await submission.http.post("/v1/reference/changes", json=boundary, headers=province)
    ).status_code == 403
    redated = await submission.http.post("/v1/reference/changes", json=boundary, headers=national)
    assert redated.status_code == 201, redated.text
    assert await exported(other_district, "phase-1") == []
    assert [r["phase"] for r in await exported(other_district, "phase-2")] == ["phase-2"]
