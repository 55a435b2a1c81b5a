"""The aggregation service against the real broker, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import date
from typing import Any

import httpx

from pipeline.tap import Tap
from services.aggregation.leaderboards import Entry, RankBy
from services.aggregation.leaderboards import ranked as ranking
from shared.contracts.envelope import Message
from shared.contracts.submission import ReviewDecision, Verdict
from shared.polling import poll
from tests.conftest import aggregation_app
from tests.support.events import facts, reviewed, screened
from tests.support.inprocess import serving
from tests.support.publish import take_messages

HN_1, HN_2 = "ldld-ha-noi.h03.cs0001", "ldld-ha-noi.h03.cs0002"
LAI_CHAU = "ldld-lai-chau.h01.cs0001"
PROGRESS = "progress.updated.v1"


async def send(tap: Tap, *events: Message) -> None:
    for event in events:
        await tap.publish(event.routing_key(), event.model_dump_json().encode(), event.message_id)


async def progress_of(
    http: httpx.AsyncClient, union: str, scope: str = "program", **check: int
) -> dict[str, Any]:
    """Poll the progress API until the subtree figures show ``check``."""

    async def read() -> dict[str, Any]:
        answer = await http.get(f"/v1/unions/{union}/progress", params={"scope": scope})
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    return await poll(
        read,
        lambda body: all(body["subtree"][name] == value for name, value in check.items()),
        30,
        f"{union} {scope} shows {check}",
    )


async def test_counts_roll_up_and_reviews_move_them_in_and_out(
    aggregation: httpx.AsyncClient, broker_url: str
) -> None:
    a = facts("a", HN_1, date(2022, 3, 1), author_key="x", benefit_vnd=100)
    b = facts("b", HN_2, date(2022, 3, 2), author_key="x", benefit_vnd=10)
    c = facts("c", LAI_CHAU, date(2022, 7, 1), author_key="y", benefit_vnd=1)
    async with Tap(broker_url, (PROGRESS,)) as tap:
        await send(tap, screened(a), screened(b, Verdict.NEAR_DUPLICATE), screened(c))
        body = await progress_of(aggregation, "vn", received=3, counted=3, flagged=1)
        assert body["subtree"]["benefit_vnd"] == 111
        assert body["subtree"]["distinct_authors"] == 2
        district = await progress_of(aggregation, "ldld-ha-noi.h03", "phase-1", counted=2)
        assert district["subtree"]["distinct_authors"] == 1
        assert district["own"]["received"] == 0

        await send(tap, reviewed(b, ReviewDecision.CONFIRMED_DUPLICATE, 1))
        body = await progress_of(aggregation, "vn", counted=2, flagged=0, excluded=1)
        assert body["subtree"]["benefit_vnd"] == 101
        await send(tap, reviewed(b, ReviewDecision.NOT_DUPLICATE, 2))
        await progress_of(aggregation, "vn", counted=3, flagged=0, excluded=0)

        # The national node's snapshots are coalesced and the last one shows the last figures.
        snapshots = await tap.wait_for(
            lambda d: (
                d.body.get("union_code") == "vn"
                and d.body.get("scope") == "program"
                and d.body["subtree"]["counted"] == 3
                and d.body["subtree"]["excluded"] == 0
            )
        )
        revisions = [
            d.body["revision"]
            for d in tap.matching(
                lambda d: d.body.get("union_code") == "vn" and d.body.get("scope") == "program"
            )
        ]
        assert revisions == sorted(revisions) and len(set(revisions)) == len(revisions)
        assert len(revisions) < 6  # three screened + three reviews: coalesced, not one each
        assert snapshots[-1].body["target"] == 1_000_000


async def test_below_the_district_level_the_open_api_shows_only_what_is_counted(
    aggregation: httpx.AsyncClient, broker_url: str
) -> None:
    a = facts("a", HN_1, date(2022, 3, 1), author_key="x", benefit_vnd=100)
    b = facts("b", HN_1, date(2022, 3, 2), author_key="y", benefit_vnd=10)
    async with Tap(broker_url, ()) as tap:
        await send(tap, screened(a), screened(b, Verdict.NEAR_DUPLICATE))
        await progress_of(aggregation, "ldld-ha-noi.h03", received=2, counted=2, flagged=1)
    grassroots = (await aggregation.get(f"/v1/unions/{HN_1}/progress")).json()
    for figures in (grassroots["own"], grassroots["subtree"]):
        assert figures == {
            "received": None,
            "counted": 2,
            "flagged": None,
            "excluded": None,
            "benefit_vnd": None,
            "distinct_authors": None,
        }
    children = (await aggregation.get("/v1/unions/ldld-ha-noi.h03/children")).json()["items"]
    [row] = [item for item in children if item["union_code"] == HN_1]
    assert (row["received"], row["counted"], row["flagged"], row["benefit_vnd"]) == (
        None,
        2,
        None,
        None,
    )
    exported = await aggregation.get(f"/v1/unions/{HN_1}/progress", params={"format": "csv"})
    [line] = list(csv.DictReader(io.StringIO(exported.text)))
    assert line["subtree_counted"] == "2" and line["subtree_benefit_vnd"] == ""
    district = (await aggregation.get("/v1/unions/ldld-ha-noi.h03/progress")).json()["subtree"]
    assert (district["benefit_vnd"], district["distinct_authors"]) == (110, 2)


async def test_local_dates_decide_day_and_phase_across_the_boundary(
    aggregation: httpx.AsyncClient, broker_url: str
) -> None:
    late = facts("late", HN_1, date(2022, 5, 31))
    early = facts("early", HN_1, date(2022, 6, 1))
    late["submitted_at"] = "2022-05-31T23:30:00+07:00"  # 16:30 UTC
    early["submitted_at"] = "2022-06-01T00:30:00+07:00"  # 17:30 UTC the day before
    async with Tap(broker_url, ()) as tap:
        await send(tap, screened(late), screened(early))
    await progress_of(aggregation, "vn", received=2)
    phase_1 = (await aggregation.get("/v1/unions/vn/daily", params={"scope": "phase-1"})).json()
    phase_2 = (await aggregation.get("/v1/unions/vn/daily", params={"scope": "phase-2"})).json()
    assert [(d["date"], d["counted"]) for d in phase_1["days"]] == [("2022-05-31", 1)]
    assert [(d["date"], d["counted"]) for d in phase_2["days"]] == [("2022-06-01", 1)]


async def test_poison_is_dead_lettered_and_consumption_goes_on(
    aggregation: httpx.AsyncClient, broker_url: str
) -> None:
    good = screened(facts("good", HN_1, date(2022, 3, 1)))
    stranger = screened(facts("stranger", HN_1, date(2022, 3, 1))).model_copy(
        update={"union_code": "no-such-union", "union_path": ["vn", "no-such-union"]}
    )
    other_program = screened(facts("other", HN_1, date(2022, 3, 1))).model_copy(
        update={"program": "another-program"}
    )
    # The phase an event carries is not trusted: phases may have been redated since it was sent.
    mislabelled = screened(facts("mislabelled", HN_1, date(2022, 3, 1))).model_copy(
        update={"phase": "phase-2"}
    )
    async with Tap(broker_url, ()) as tap:
        await tap.publish("submission.screened.v1", b"{not json", "broken")
        await send(tap, stranger, other_program, mislabelled, good)
    letters = await take_messages(
        broker_url, "aggregation.submission.screened.v1.dlq", 3, timeout=90
    )
    reasons = {m.message_id: m.headers.get("x-dead-letter-reason") for m in letters}
    assert "malformed_json" in str(reasons["broken"])
    assert "unknown program 'another-program'" in str(reasons[other_program.message_id])
    # A union the reference data does not hold may be one added a moment ago: it is retried
    # until the queue's delivery limit, then dead-lettered.
    [unknown] = [m for m in letters if m.message_id == stranger.message_id]
    assert unknown.headers["x-first-death-reason"] == "delivery_limit"
    await progress_of(aggregation, "vn", received=2, counted=2)
    await progress_of(aggregation, "vn", "phase-1", received=2, counted=2)
    await progress_of(aggregation, "vn", "phase-2", received=0)


async def test_api_answers_children_leaderboards_and_csv(
    aggregation: httpx.AsyncClient, broker_url: str
) -> None:
    events = [screened(facts(f"h{n}", HN_1, date(2022, 3, 1))) for n in range(3)]
    events.append(screened(facts("l", LAI_CHAU, date(2022, 3, 1))))
    async with Tap(broker_url, ()) as tap:
        await send(tap, *events)
    await progress_of(aggregation, "vn", counted=4)

    board = (await aggregation.get("/v1/leaderboards/levels/province")).json()
    assert board["total"] == 63
    assert [(i["rank"], i["union_code"], i["counted"]) for i in board["items"][:2]] == [
        (1, "ldld-ha-noi", 3),
        (2, "ldld-lai-chau", 1),
    ]
    assert board["items"][2]["rank"] == 3 and board["items"][2]["counted"] == 0
    by_percent = (
        await aggregation.get("/v1/leaderboards/levels/province", params={"by": "percent"})
    ).json()
    assert by_percent["items"][0]["union_code"] == "ldld-lai-chau"  # 1 of 2,300 beats 3 of 130k

    # The database ranks as the pure ranking does (ties, unions without a target), page by page.
    for by in ("counted", "percent"):
        whole = (
            await aggregation.get(
                "/v1/leaderboards/levels/province", params={"by": by, "limit": 1000}
            )
        ).json()["items"]
        entries = [Entry(i["union_code"], i["counted"], i["target"]) for i in whole]
        assert [(i["rank"], i["union_code"]) for i in whole] == [
            (rank, entry.code) for rank, entry in ranking(entries, RankBy(by))
        ]
        pages = [
            (
                await aggregation.get(
                    "/v1/leaderboards/levels/province",
                    params={"by": by, "limit": 10, "offset": offset},
                )
            ).json()
            for offset in range(0, 70, 10)
        ]
        assert {page["total"] for page in pages} == {63}
        assert [i for page in pages for i in page["items"]] == whole

    children = (await aggregation.get("/v1/unions/ldld-ha-noi/children")).json()
    assert children["items"][0]["union_code"] == "ldld-ha-noi.h03"
    assert children["total"] == len(children["items"]) > 1

    cluster = board["items"][0]["cluster"]
    ranked = (await aggregation.get(f"/v1/leaderboards/clusters/{cluster}")).json()
    assert "ldld-ha-noi" in {i["union_code"] for i in ranked["items"]}

    clusters = (await aggregation.get("/v1/leaderboards/clusters")).json()
    top = (await aggregation.get("/v1/unions/vn/children")).json()["items"]
    assert clusters["within"] == "vn"
    assert {c["cluster"] for c in clusters["items"]} == {u["cluster"] for u in top} - {None}
    hanoi_cluster = next(c for c in clusters["items"] if c["cluster"] == cluster)
    assert hanoi_cluster["counted"] == sum(i["counted"] for i in ranked["items"]) == 3
    assert hanoi_cluster["leader"]["union_code"] == ranked["items"][0]["union_code"]
    province_clusters = await aggregation.get(
        "/v1/leaderboards/clusters", params={"within": "ldld-ha-noi"}
    )
    assert {c["cluster"] for c in province_clusters.json()["items"]} == {
        c["cluster"] for c in children["items"] if c["cluster"]
    }

    grassroots = (await aggregation.get(f"/v1/unions/{HN_1}/progress")).json()
    assert [u["union_code"] for u in grassroots["path"]] == [
        "vn",
        "ldld-ha-noi",
        "ldld-ha-noi.h03",
    ]
    program = (await aggregation.get("/v1/program")).json()
    assert [p["code"] for p in program["phases"]] == ["phase-1", "phase-2"]
    assert sum(p["national_target"] for p in program["phases"]) == program["national_target"]

    exported = await aggregation.get("/v1/unions/vn/progress", params={"format": "csv"})
    assert exported.headers["content-type"].startswith("text/csv")
    header, row = exported.text.lstrip("\ufeff").splitlines()
    values = dict(zip(header.split(","), row.split(","), strict=True))
    assert values["subtree_counted"] == "4" and values["target_effective"] == "1000000"

    missing = await aggregation.get("/v1/unions/nowhere/progress")
    assert missing.status_code == 404 and missing.json()["errors"][0]["code"] == "unknown_union"
    bad_scope = await aggregation.get("/v1/unions/vn/progress", params={"scope": "phase-9"})
    assert bad_scope.status_code == 422
    assert json.loads(bad_scope.text)["errors"][0]["field"] == "scope"


async def test_the_board_stream_tells_each_change_of_a_union_until_shutdown(
    broker_url: str, database_url: str
) -> None:
    app = aggregation_app(broker_url, database_url)
    stopping = False
    async with serving(app, "aggregation") as http, Tap(broker_url, ()) as tap:
        versions = app.state.ctx.revisions.follow("ldld-ha-noi", lambda: stopping)
        first = await asyncio.wait_for(anext(versions), 10)
        await send(tap, screened(facts("s1", HN_1, date(2022, 3, 1))))
        second = await asyncio.wait_for(anext(versions), 30)
        assert second > first
        await send(tap, screened(facts("s2", LAI_CHAU, date(2022, 3, 1))))
        await progress_of(http, "vn", counted=2)
        stopping = True
        # Lai Châu's submission changed nothing in Hà Nội: the stream ends without another event.
        assert [v async for v in versions] == []
