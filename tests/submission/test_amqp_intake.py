"""AMQP intake and verdicts against the real broker, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

from pipeline.tap import Tap
from shared.contracts.envelope import derived_message_id, utc_now
from tests.conftest import RunningSubmission
from tests.support.drafts import draft
from tests.support.publish import publish_raw, submit_command, take_messages

SUBMIT = "submission.submit.v1"
OUTCOMES = ("submission.received.v1", "submission.rejected.v1")
SCHEMA = {"x-schema": "submission.submit", "x-schema-version": "1.0"}


def outcome_of(command_id: str):
    return lambda d: d.body.get("command_id") == command_id


async def test_command_is_received_once_even_when_sent_twice(
    submission: RunningSubmission, broker_url: str
) -> None:
    async with Tap(broker_url, OUTCOMES) as tap:
        for _ in range(2):
            await publish_raw(
                broker_url,
                SUBMIT,
                submit_command("cmd-1", draft()),
                message_id="cmd-1",
                correlation_id="corr-cmd-1",
                headers=SCHEMA,
            )
        await publish_raw(
            broker_url,
            SUBMIT,
            submit_command("cmd-2", draft(title="Barrier ok")),
            message_id="cmd-2",
            headers=SCHEMA,
        )
        await tap.wait_for(outcome_of("cmd-2"))
        [received] = tap.matching(outcome_of("cmd-1"))
    assert received.routing_key == "submission.received.v1"
    assert received.correlation_id == "corr-cmd-1"
    assert received.body["union_path"][0] == "vn"


async def test_bad_commands_are_rejected_or_dead_lettered_and_intake_goes_on(
    submission: RunningSubmission, broker_url: str
) -> None:
    async with Tap(broker_url, OUTCOMES) as tap:
        await publish_raw(
            broker_url,
            SUBMIT,
            b'{"message_id": "bad-json", ',
            message_id="bad-json",
            headers=SCHEMA,
        )
        await publish_raw(
            broker_url,
            SUBMIT,
            submit_command("v9", draft()),
            message_id="v9",
            headers={"x-schema": "submission.submit", "x-schema-version": "9.0"},
        )
        await publish_raw(
            broker_url,
            SUBMIT,
            submit_command("typed", draft(benefit_vnd="x")),
            message_id="typed",
            headers=SCHEMA,
        )
        await publish_raw(
            broker_url,
            SUBMIT,
            submit_command("union", draft(union_code="nope")),
            message_id="union",
            headers=SCHEMA,
        )
        await publish_raw(
            broker_url, SUBMIT, submit_command("fine", draft()), message_id="fine", headers=SCHEMA
        )
        await tap.wait_for(outcome_of("fine"))
        await tap.wait_for(lambda d: d.routing_key == "submission.rejected.v1", count=3)
        rejected = {
            d.body["command_id"]: d.body["reasons"]
            for d in tap.seen
            if d.routing_key == "submission.rejected.v1"
        }
    assert rejected["v9"][0]["code"] == "unknown_version"
    assert [r["field"] for r in rejected["typed"]] == ["submission.benefit_vnd"]
    assert [(r["field"], r["code"]) for r in rejected["union"]] == [("union_code", "unknown_union")]
    assert "bad-json" not in rejected
    [dead] = await take_messages(broker_url, "submission.submission.submit.v1.dlq", 1)
    assert dead.message_id == "bad-json"
    assert dead.headers["x-dead-letter-reason"].startswith("malformed_json")


async def test_verdict_is_shown_and_an_unknown_one_is_dead_lettered(
    submission: RunningSubmission, broker_url: str
) -> None:
    headers = await submission.new_key("ldld-ha-noi")
    created = await submission.http.post(
        "/v1/submissions", json=draft(), headers={**headers, "Idempotency-Key": "k"}
    )
    submission_id = created.json()["id"]
    for target in ("ghost", submission_id):
        event = screened(target)
        await publish_raw(
            broker_url,
            "submission.screened.v1",
            json.dumps(event).encode(),
            message_id=str(event["message_id"]),
            headers={"x-schema": "submission.screened", "x-schema-version": "1.0"},
        )
    [dead] = await take_messages(broker_url, "submission.submission.screened.v1.dlq", 1)
    assert dead.headers["x-dead-letter-reason"] == "unknown submission ghost"

    async def verdict() -> object:
        read = await submission.http.get(f"/v1/submissions/{submission_id}", headers=headers)
        return read.json()["screening"]

    from shared.polling import poll

    shown = await poll(verdict, lambda s: s is not None, 30, "the verdict")
    assert shown["verdict"] == "near_duplicate" and shown["best_match_id"] == "earlier-1"


def screened(submission_id: str) -> dict[str, object]:
    return {
        "message_id": derived_message_id(submission_id, "submission.screened.v1"),
        "correlation_id": submission_id,
        "occurred_at": utc_now().isoformat(),
        "submission_id": submission_id,
        "union_code": "ldld-ha-noi.h03.cs0002",
        "union_path": ["vn", "ldld-ha-noi", "ldld-ha-noi.h03", "ldld-ha-noi.h03.cs0002"],
        "program": "mot-trieu-sang-kien",
        "phase": "phase-1",
        "submitted_at": "2022-03-15T09:30:00+07:00",
        "local_date": "2022-03-15",
        "benefit_vnd": 1,
        "author_key": "abc",
        "verdict": "near_duplicate",
        "score": 0.82,
        "best_match_id": "earlier-1",
        "candidates": [{"submission_id": "earlier-1", "score": 0.82}],
        "method_version": "test",
    }
