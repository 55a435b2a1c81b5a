"""Reference data edited while a simulated campaign runs through the four processes: a union
added and filed with at once, a union closed (its later filings refused, its history kept), a
district given a target mid-campaign. At the end every figure is exact against the final tree,
every milestone (those of the new target too) reached its webhook exactly once, and every
service serves the last version."""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path
from typing import Any

from pipeline.campaign import campaign
from pipeline.processes import create_api_key
from pipeline.simulate import send_http
from shared.contracts.reference import (
    Change,
    TargetsSet,
    TargetValue,
    UnionAdded,
    UnionClosed,
)
from shared.reference.changes import apply_changes
from tests.support.campaign_run import CampaignRun, campaign_run
from tests.support.expected import expected_campaign

COUNT = 1200
EXTRAS = 30


def edits(run: CampaignRun, half: int) -> tuple[list[Change], str, str]:
    """A union added below the district with most filings and a grassroots union with filings
    only before ``half`` closed: the changes, the new union and the closed one."""
    tree = run.reference.tree
    per_union = Counter(f.draft["union_code"] for f in run.filed)
    later = {f.draft["union_code"] for f in run.filed[half:]}
    closing = next(
        u for u, _ in per_union.most_common() if u not in later and tree[u].level == "grassroots"
    )
    districts = Counter(
        path[2] for f in run.filed if len(path := tree.path(f.draft["union_code"])) > 3
    )
    host = next(d for d, _ in districts.most_common() if tree[d].level == "district")
    new_union = f"{host}.moi01"
    added = UnionAdded(
        code=new_union, name="CĐCS Công ty Mới", level="grassroots", parent_code=host
    )
    return [added, UnionClosed(code=closing)], new_union, closing


async def test_edits_during_a_campaign_keep_figures_and_milestones_exact(
    broker_url: str, tmp_path: Path
) -> None:
    async with campaign_run(broker_url, tmp_path, COUNT, seed=11) as run:
        office = create_api_key(
            run.pipeline.database_env("submission"),
            name="office",
            scope="vn",
            manage_reference=True,
        )
        half = len(run.filed) // 2
        changes, new_union, closed = edits(run, half)
        extras = [
            dataclasses.replace(f, draft={**f.draft, "union_code": new_union})
            for f in campaign(run.reference, EXTRAS, seed=99, near_share=0, exact_share=0)
        ]
        # The district to get a target: the one with most filings and none, judged on the
        # final tree; its target is what it will count at the end.
        with_union, _ = apply_changes(run.reference, changes[:1])
        final = expected_campaign([*run.filed, *extras], with_union)
        district = max(
            (
                union
                for (union, scope) in final.figures
                if scope == "program"
                and with_union.tree[union].level == "district"
                and (union, "program") not in with_union.targets
            ),
            key=lambda union: final.figures[(union, "program")]["counted"],
        )
        goal = final.figures[(district, "program")]["counted"]
        changes.append(
            TargetsSet(union_code=district, targets=[TargetValue(scope="program", assigned=goal)])
        )
        headers = {"X-API-Key": office}
        async with run.client("submission") as client:
            assert await send_http(client, run.portal_key, run.filed[:half], concurrency=1) == {
                "created": half
            }
            for change in changes:
                answer = await client.post(
                    "/v1/reference/changes",
                    json={"reason": "during the campaign", "change": change.model_dump()},
                    headers=headers,
                )
                assert answer.status_code == 201, answer.text
            rest = [*run.filed[half:], *extras]
            outcomes = await send_http(client, run.portal_key, rest, concurrency=1)
            assert outcomes == {"created": len(rest)}
            late = await client.post(
                "/v1/submissions",
                json={**run.filed[0].draft, "union_code": closed},
                headers={"X-API-Key": run.portal_key, "Idempotency-Key": "after-closing"},
            )
            assert late.status_code == 422
            assert late.json()["errors"][0]["code"] == "union_closed"
        run.filed.extend(extras)
        run.reference, _ = apply_changes(run.reference, changes)
        run.expected = expected_campaign(run.filed, run.reference)
        await run.wait_counted(timeout=240)
        await run.check_flags(timeout=60)
        await run.check_figures()
        assert run.expected.figures[(new_union, "program")]["counted"] == EXTRAS
        await run.check_milestones(timeout=90)
        assert any(union == district for union, _, _ in run.expected_milestones())
        await run.check_dead_letters_empty()
        for service in ("submission", "aggregation", "notify"):
            async with run.client(service) as client:
                ready: Any = (await client.get("/ready")).json()
            assert ready["reference_version"] == len(changes), service
