"""A province's support team back-fills its submissions over HTTP in shuffled order, while the
four services run: the notices its webhook receiver ends with, corrections applied, state the
day each milestone's threshold was crossed and the days ahead the progress API states."""

from __future__ import annotations

import csv
import json
import math
import random
import secrets
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx

from pipeline.campaign import campaign
from pipeline.processes import Pipeline, create_api_key
from pipeline.simulate import send_http
from shared.polling import poll
from shared.reference.targets import PROGRAM_SCOPE
from shared.settings import REPO_ROOT
from tests.support.campaign_run import FAST
from tests.support.events import reference
from tests.support.expected import KNOWN_TARGETS, write_reference
from tests.support.receivers import WebhookReceiver

COUNT = 160
TARGET = 90


def province_without_known_target() -> str:
    """A province whose target the test may set (none in the known targets file, the only one
    the test's reference keeps)."""
    with (REPO_ROOT / "reference" / KNOWN_TARGETS).open(encoding="utf-8") as known_file:
        known = {row["union_code"] for row in csv.DictReader(known_file)}
    return next(u.code for u in reference().tree if u.level == "province" and u.code not in known)


def final_facts(accepted: list[Any]) -> dict[str, tuple[str | None, int | None]]:
    """Milestone id → (day, days ahead) as the receiver was last told: first notices, then each
    correction in revision order (a withdrawn milestone ends as (None, None))."""
    items = [m for notice in accepted for m in notice.body["milestones"]]
    told: dict[str, tuple[str | None, int | None]] = {}
    for m in sorted(items, key=lambda m: (m.get("correction") or {}).get("revision", 0)):
        told[m["milestone_id"]] = (
            (None, None) if m["withdrawn"] else (m["reached_on"], m["days_ahead"])
        )
    return told


async def test_a_shuffled_backfill_ends_in_notices_that_agree_with_the_progress_api(
    broker_url: str, tmp_path: Path
) -> None:
    province = province_without_known_target()
    tree = reference().tree
    grassroots = [
        u.code for u in tree if u.level == "grassroots" and tree.is_within(u.code, province)
    ]
    rng = random.Random(7)
    filed = [
        replace(f, draft={**f.draft, "union_code": rng.choice(grassroots)})
        for f in campaign(reference(), COUNT, seed=11, near_share=0, exact_share=0)
    ]
    rng.shuffle(filed)  # weeks of paper forms, uploaded in no particular order
    folder = tmp_path / "reference"
    write_reference(folder, {(province, PROGRAM_SCOPE): TARGET}, [10**7])
    pipeline = Pipeline(broker_url, tmp_path, {**FAST, "SANGKIEN_REFERENCE_DIR": str(folder)})
    pipeline.start()
    secret = secrets.token_hex(16)
    try:
        await pipeline.wait_ready()
        portal = create_api_key(pipeline.database_env("submission"), name="p", scope=province)
        notify_key = create_api_key(
            pipeline.database_env("notify"), name="n", scope=province, service="notify"
        )
        async with WebhookReceiver(secret) as receiver:
            async with httpx.AsyncClient(base_url=pipeline["notify"].base_url) as notify:
                subscribed = await notify.post(
                    "/v1/subscriptions",
                    json={
                        "union_code": province,
                        "webhook": {"url": receiver.url, "secret": secret},
                    },
                    headers={"X-API-Key": notify_key},
                )
                assert subscribed.status_code == 201, subscribed.text
                subscription = subscribed.json()["subscription_id"]
            async with httpx.AsyncClient(base_url=pipeline["submission"].base_url) as client:
                # Small batches at a steady pace: milestones fire on partial data, then revise.
                sent = await send_http(client, portal, filed, batch=8, rate=40, concurrency=1)
            assert sent == {"created": COUNT}
            async with httpx.AsyncClient(base_url=pipeline["aggregation"].base_url) as api:
                progress = await poll(
                    lambda: api.get(f"/v1/unions/{province}/progress"),
                    lambda r: r.status_code == 200 and r.json()["subtree"]["received"] == COUNT,
                    120,
                    "every submission counted",
                )
                daily = (await api.get(f"/v1/unions/{province}/daily")).json()["days"]
            truth = progress.json()
            assert truth["reached_on"] is not None

            def crossed(count: int) -> str:
                return next(d["date"] for d in daily if d["cumulative"] >= count)

            expected = {
                "target-reached": (truth["reached_on"], truth["days_ahead"]),
                **{
                    f"percent-{p}": (crossed(math.ceil(p * TARGET / 100)), None)
                    for p in (50, 75, 150)
                    if truth["subtree"]["counted"] >= math.ceil(p * TARGET / 100)
                },
            }

            def told_by_rule() -> dict[str, tuple[str | None, int | None]]:
                ids = {
                    m["milestone_id"]: m["rule_id"]
                    for notice in receiver.accepted
                    for m in notice.body["milestones"]
                }
                return {ids[k]: v for k, v in final_facts(receiver.accepted).items()}

            await poll(
                told_by_rule, lambda told: told == expected, 90, f"notices telling {expected}"
            )
            async with httpx.AsyncClient(base_url=pipeline["notify"].base_url) as notify:
                log = await poll(
                    lambda: notify.get(
                        f"/v1/subscriptions/{subscription}/deliveries",
                        headers={"X-API-Key": notify_key},
                    ),
                    lambda r: all(n["status"] == "delivered" for n in r.json()),
                    60,
                    "every notice delivered",
                )
            assert told_by_rule() == expected  # nothing arrived since that changes it
            first = [
                m["rule_id"]
                for notice in receiver.accepted
                for m in notice.body["milestones"]
                if m.get("correction") is None
            ]
            assert sorted(first) == sorted(expected)  # each first told once, none twice
            for notice in receiver.accepted:  # a digest lists them in the order reached
                days = [m["reached_on"] for m in notice.body["milestones"]]
                assert days == sorted(days)
            shown = [m["text"] for notice in receiver.accepted for m in notice.body["milestones"]]
            (tmp_path / "notices.json").write_text(json.dumps(shown, ensure_ascii=False, indent=1))
            print(f"{len(log.json())} notices, as received:", *shown, sep="\n  ")
    finally:
        pipeline.stop()
