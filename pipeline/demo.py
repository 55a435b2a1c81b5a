"""The demo of the run command: file a few initiatives over HTTP and AMQP, show what comes out."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from pipeline.perturb import without_accents
from pipeline.samples import INVALID_SAMPLE, SAMPLES
from pipeline.tap import Delivery, Tap
from shared.contracts.envelope import utc_now
from shared.polling import poll

SUBMIT = "submission.submit.v1"


def describe(delivery: Delivery) -> tuple[str, str, str]:
    """Routing key, subject and a one-line summary of an event."""
    body = delivery.body
    if delivery.routing_key == SUBMIT:
        draft = body.get("submission", {})
        return delivery.routing_key, f"command {body.get('message_id')}", str(draft.get("title"))
    if delivery.routing_key == "submission.rejected.v1":
        reasons = ", ".join(f"{r['field']}: {r['code']}" for r in body.get("reasons", []))
        return delivery.routing_key, f"command {body.get('command_id')}", reasons
    if delivery.routing_key == "submission.screened.v1":
        match = f" of {str(body.get('best_match_id'))[:8]}" if body.get("best_match_id") else ""
        return (
            delivery.routing_key,
            str(body.get("submission_id"))[:8],
            f"{body.get('verdict')}{match} (score {body.get('score')})",
        )
    if delivery.routing_key == "progress.updated.v1":
        target = f" of {body['target']:,} ({body['percent']}%)" if body.get("target") else ""
        return (
            delivery.routing_key,
            str(body.get("union_code")),
            f"{body.get('scope')}: {body['subtree']['counted']:,} counted{target}"
            f" · revision {body.get('revision')}",
        )
    subject = body.get("submission_id") or body.get("union_code") or ""
    summary = " / ".join(str(body[k]) for k in ("union_code", "phase", "title") if k in body)
    return delivery.routing_key, str(subject)[:8], summary[:90]


def event_table(deliveries: list[Delivery]) -> Table:
    """The events seen, one row each."""
    table = Table(title="Events on sangkien.events", show_lines=False)
    for column in ("routing key", "subject", "what"):
        table.add_column(column)
    for delivery in deliveries:
        table.add_row(*describe(delivery))
    return table


async def run_demo(
    console: Console, base_url: str, progress_url: str, api_key: str, tap: Tap
) -> None:
    """File the samples (singly, as a batch, over AMQP, one invalid), wait for their events,
    show the national progress and the leading provinces."""
    headers = {"X-API-Key": api_key}
    run = uuid.uuid4().hex[:8]
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        for index, sample in enumerate(SAMPLES[:2]):
            key = f"demo-{run}-{index}"
            response = await client.post(
                "/v1/submissions", json=sample, headers={**headers, "Idempotency-Key": key}
            )
            console.print(f"POST /v1/submissions → {response.status_code} {response.json()['id']}")
        replay = await client.post(
            "/v1/submissions",
            json=SAMPLES[0],
            headers={**headers, "Idempotency-Key": f"demo-{run}-0"},
        )
        console.print(f"same key and body again → {replay.status_code} (replay, no new event)")
        invalid = await client.post(
            "/v1/submissions",
            json=INVALID_SAMPLE,
            headers={**headers, "Idempotency-Key": f"demo-{run}-bad"},
        )
        console.print(f"an invalid one → {invalid.status_code}")
        for error in invalid.json()["errors"]:
            console.print(f"   {error['field']}: {error['code']} ({error['message']})")
        copy = {
            **SAMPLES[0],
            "union_code": "ldld-ha-noi.h05.cs0010",
            "title": without_accents(SAMPLES[0]["title"]),
            "situation": without_accents(SAMPLES[0]["situation"]),
            "solution": without_accents(SAMPLES[0]["solution"]),
        }
        copied = await client.post(
            "/v1/submissions", json=copy, headers={**headers, "Idempotency-Key": f"demo-{run}-copy"}
        )
        console.print(f"a copy typed without accents → {copied.status_code}")
        batch = await client.post(
            "/v1/submissions/batch",
            headers=headers,
            json={
                "items": [
                    {"client_key": f"demo-{run}-batch-{i}", "submission": s}
                    for i, s in enumerate([SAMPLES[2], INVALID_SAMPLE])
                ]
            },
        )
        console.print(f"POST /v1/submissions/batch → {batch.json()['summary']}")
    command_ids = []
    for suffix, sample in (("cmd", SAMPLES[3]), ("cmd-bad", INVALID_SAMPLE)):
        command_id = f"demo-{run}-{suffix}"
        await tap.publish(SUBMIT, _command(command_id, sample), command_id)
        command_ids.append(command_id)
        console.print(f"AMQP {SUBMIT} {command_id}")
    await tap.wait_for(lambda d: d.body.get("command_id") in command_ids, count=2, timeout=60)
    await tap.wait_for(lambda d: d.routing_key == "submission.received.v1", count=5, timeout=60)
    await tap.wait_for(lambda d: d.routing_key == "submission.screened.v1", count=5, timeout=60)
    # Dedup's verdict is on the bus; the submission service records it a moment later.
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        shown = await poll(
            lambda: client.get(f"/v1/submissions/{copied.json()['id']}", headers=headers),
            lambda answer: answer.json().get("screening") is not None,
            60,
            "the copy's verdict recorded",
        )
    screening = shown.json()["screening"]
    console.print(
        f"GET the copy → verdict {screening['verdict']} of {screening['best_match_id']}"
        f" (score {screening['score']})"
    )
    await tap.wait_for(
        lambda d: (
            d.routing_key == "progress.updated.v1"
            and d.body.get("union_code") == "vn"
            and d.body.get("scope") == "program"
            and d.body["subtree"]["received"] >= 5
        ),
        timeout=60,
    )
    await show_progress(console, progress_url)


async def show_progress(console: Console, progress_url: str) -> None:
    """The national figures against the target and the five leading provinces."""
    async with httpx.AsyncClient(base_url=progress_url, timeout=30) as client:
        national = (await client.get("/v1/unions/vn/progress")).json()
        board = (await client.get("/v1/leaderboards/levels/province", params={"limit": 5})).json()
    figures = national["subtree"]
    console.print(
        f"national: {figures['counted']:,} counted of {national['target']['effective']:,}"
        f" ({national['percent']}%), {figures['flagged']} flagged, {figures['excluded']} excluded"
    )
    table = Table(title="Leading provinces (whole program)")
    for column in ("rank", "union", "counted", "target", "%"):
        table.add_column(column)
    for item in board["items"]:
        table.add_row(
            str(item["rank"]),
            item["name"],
            f"{item['counted']:,}",
            f"{item['target']:,}" if item["target"] else "",
            str(item["percent"] or ""),
        )
    console.print(table)


def _command(message_id: str, submission: dict[str, Any]) -> bytes:
    body = {
        "message_id": message_id,
        "correlation_id": message_id,
        "occurred_at": utc_now().isoformat(),
        "submission": submission,
    }
    return json.dumps(body, ensure_ascii=False).encode()
