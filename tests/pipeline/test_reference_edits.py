"""Reference data edited while a simulated campaign runs through the four processes: a union
added and filed with at once, a union closed (its later filings refused, its history kept), a
district moved to another province and a grassroots union merged into a neighbour, both
back-dated into the middle of their filings, a district given a target mid-campaign. At the end
every figure is exact against the final tree as of now, and as filed against the tree's history,
every milestone (those of the new target too) reached its webhook exactly once, and every
service serves the last version."""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import date, timedelta
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
    UnionMerged,
    UnionMoved,
)
from shared.reference.changes import apply_changes
from tests.support.campaign_run import CampaignRun, campaign_run
from tests.support.expected import expected_campaign, local_date_of
from tests.support.history import DatedTree

COUNT = 1200
EXTRAS = 30


def edits(run: CampaignRun, half: int) -> tuple[list[Change], str, str]:
    """A union added below the district with most filings, a grassroots union with filings
    only before ``half`` closed, the second busiest district moved to another province and a
    grassroots union with filings only before ``half`` merged into a neighbour, the move
    effective on the median date of its filings and the merge the day after its last: the
    changes, the new union and the closed one."""
    tree = run.reference.tree
    per_union = Counter(f.draft["union_code"] for f in run.filed)
    later = {f.draft["union_code"] for f in run.filed[half:]}
    early_grassroots = [
        u for u, _ in per_union.most_common() if u not in later and tree[u].level == "grassroots"
    ]
    closing = early_grassroots[0]
    merged = early_grassroots[1]
    districts = Counter(
        path[2] for f in run.filed if len(path := tree.path(f.draft["union_code"])) > 3
    )
    host, moved = [d for d, _ in districts.most_common() if tree[d].level == "district"][:2]
    new_union = f"{host}.moi01"
    added = UnionAdded(
        code=new_union, name="CĐCS Công ty Mới", level="grassroots", parent_code=host
    )
    into = next(c for c in tree.children(tree.path(merged)[-2]) if c not in (merged, closing))
    province = next(u.code for u in tree if u.level == "province" and u.code != tree.path(moved)[1])
    move = UnionMoved(code=moved, parent_code=province, effective_on=median_date(run, moved))
    merged_on = filing_dates(run, merged)[-1] + timedelta(days=1)
    merge = UnionMerged(code=merged, into_code=into, effective_on=merged_on)
    return [added, UnionClosed(code=closing), move, merge], new_union, closing


def filing_dates(run: CampaignRun, union: str) -> list[date]:
    """The local dates of the filings at or below ``union``, in order."""
    tree = run.reference.tree
    return sorted(local_date_of(f) for f in run.filed if union in tree.path(f.draft["union_code"]))


def median_date(run: CampaignRun, union: str) -> date:
    """The median local date of the filings at or below ``union``."""
    days = filing_dates(run, union)
    return days[len(days) // 2]


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
                    json={
                        "reason": "during the campaign",
                        "change": change.model_dump(mode="json"),
                    },
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
        run.history = DatedTree(run.reference.tree, changes)
        run.reference, _ = apply_changes(run.reference, changes)
        run.expected = expected_campaign(run.filed, run.reference, history=run.history)
        await run.wait_counted(timeout=240)
        await run.check_flags(timeout=60)
        await run.check_figures()
        await check_as_filed(run)
        await check_merged_union_unranked(run, changes)
        assert run.expected.figures[(new_union, "program")]["counted"] == EXTRAS
        await run.check_milestones(timeout=90)
        assert any(union == district for union, _, _ in run.expected_milestones())
        await run.check_dead_letters_empty()
        for service in ("submission", "aggregation", "notify"):
            async with run.client(service) as client:
                ready: Any = (await client.get("/ready")).json()
            assert ready["reference_version"] == len(changes), service


async def check_merged_union_unranked(run: CampaignRun, changes: list[Change]) -> None:
    """The merged union is no longer listed among its parent's children, nor in its level's
    leaderboard; the union it merged into is, with the merged union's submissions."""
    merge = next(change for change in changes if isinstance(change, UnionMerged))
    parent = run.reference.tree[merge.code].parent_code
    level = run.reference.tree[merge.code].level
    async with run.client("aggregation") as client:
        children = (await client.get(f"/v1/unions/{parent}/children")).json()["items"]
        board = (await client.get(f"/v1/leaderboards/levels/{level}?limit=10000")).json()["items"]
    for listed in (children, board):
        counted = {item["union_code"]: item["counted"] for item in listed}
        assert merge.code not in counted
        assert (
            counted[merge.into_code]
            == run.expected.figures[(merge.into_code, "program")]["counted"]
        )


async def check_as_filed(run: CampaignRun) -> None:
    """The progress API's figures of every union whose count as filed differs from its count
    as of now (the old and new parents of the moved and merged unions, and their ancestors up
    to where the paths meet), and of the national union, are the expected ones in both views."""
    expected = run.expected
    keys = expected.figures.keys() | expected.as_filed.keys()
    differing = {
        (union, scope)
        for union, scope in keys
        if expected.figures.get((union, scope)) != expected.as_filed.get((union, scope))
    }
    # The old and new province of the moved district, the merged union and the one it merged into.
    assert len({union for union, _ in differing}) >= 4
    async with run.client("aggregation") as client:
        for union, scope in sorted(differing | {("vn", "program")}):
            answer = (
                await client.get(f"/v1/unions/{union}/progress", params={"scope": scope})
            ).json()
            for view, want in (
                (answer["subtree"], expected.figures),
                (answer["as_filed"]["subtree"], expected.as_filed),
            ):
                assert view["counted"] == want.get((union, scope), Counter())["counted"], (
                    union,
                    scope,
                )
    run.checked["as filed"] = len(differing)
