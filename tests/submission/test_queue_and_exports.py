"""The review queue, the backlog and the exports of a subtree."""

from __future__ import annotations

import csv
import io
import uuid
import zipfile

import openpyxl
import pytest

from pipeline.tap import Tap
from services.submission.exports import ExportScope, export_chunks, headers
from shared.contracts.submission import ScreenedV1, Verdict
from tests.conftest import RunningSubmission
from tests.submission.test_reviews import DISTRICT, SIBLING, review, screen
from tests.support.drafts import HANOI_GRASSROOTS, draft

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

LAI_CHAU = "ldld-lai-chau.h01.cs0001"


async def file_all(submission: RunningSubmission, unions: list[str], **body: object) -> list[str]:
    """File one submission per union, one after the other (so filing times differ)."""
    headers = await submission.new_key("vn")
    filed: list[str] = []
    for union in unions:
        title = f"Sáng kiến số {len(filed)} của {union}"
        item = {
            "client_key": str(uuid.uuid4()),
            "submission": draft(union_code=union, title=title, **body),
        }
        answer = await submission.http.post(
            "/v1/submissions/batch", json={"items": [item]}, headers=headers
        )
        assert answer.json()["summary"] == {"created": 1}, answer.text
        filed.append(answer.json()["results"][0]["submission_id"])
    return filed


async def test_queue_puts_flagged_first_pages_and_filters(
    submission: RunningSubmission, broker_url: str
) -> None:
    ids = await file_all(submission, [HANOI_GRASSROOTS] * 4 + [SIBLING, LAI_CHAU])
    reviewer = await submission.new_key(DISTRICT, review=True)
    async with Tap(broker_url, (ScreenedV1.routing_key(),)) as tap:
        await screen(submission, tap, ids[3], Verdict.NEAR_DUPLICATE, ids[0])
        await screen(submission, tap, ids[2], Verdict.EXACT_DUPLICATE, ids[5])
        await screen(submission, tap, ids[0], Verdict.UNIQUE, None)
    assert (await review(submission, reviewer, ids[1], decision="valid")).status_code == 201

    async def page(**params: str | int) -> dict:
        answer = await submission.http.get(
            "/v1/reviews/queue", params={"union": DISTRICT, **params}, headers=reviewer
        )
        assert answer.status_code == 200, answer.text
        return answer.json()

    first = await page(limit=2)
    assert [i["id"] for i in first["items"]] == [ids[2], ids[3]]  # flagged, oldest first
    match = first["items"][0]["match"]
    assert (match["id"], match["union_code"]) == (ids[5], LAI_CHAU)
    assert match["title"] == f"Sáng kiến số 5 của {LAI_CHAU}"
    second = await page(limit=2, cursor=first["next_cursor"])
    assert [i["id"] for i in second["items"]] == [ids[0], ids[4]]
    assert second["next_cursor"] is None
    assert [i["id"] for i in (await page(verdict="unscreened"))["items"]] == [ids[4]]
    assert (await page(phase="phase-2"))["items"] == []
    assert (await page(min_age_days=1))["items"] == []
    assert len((await page(phase="phase-1", min_age_days=0))["items"]) == 4
    bad = await submission.http.get(
        "/v1/reviews/queue", params={"union": DISTRICT, "cursor": "x"}, headers=reviewer
    )
    unknown_phase = await submission.http.get(
        "/v1/reviews/queue", params={"union": DISTRICT, "phase": "phase-9"}, headers=reviewer
    )
    assert (bad.status_code, unknown_phase.status_code) == (422, 422)

    backlog = (
        await submission.http.get(
            "/v1/reviews/backlog", params={"union": "vn"}, headers=await submission.new_key("vn")
        )
    ).json()
    lines = {line["union_code"]: (line["pending"], line["flagged"]) for line in backlog["unions"]}
    assert lines == {HANOI_GRASSROOTS: (3, 2), SIBLING: (1, 0), LAI_CHAU: (1, 0)}
    assert (backlog["pending"], backlog["flagged"]) == (5, 2)
    assert all(line["oldest_age_days"] >= 0 for line in backlog["unions"])


async def test_exports_have_the_subtree_rows_with_contacts_only_when_allowed(
    submission: RunningSubmission,
) -> None:
    hanoi = await file_all(submission, [HANOI_GRASSROOTS, SIBLING, HANOI_GRASSROOTS, LAI_CHAU])
    later = await file_all(submission, [HANOI_GRASSROOTS], submitted_at="2022-07-01T10:00:00+07:00")
    plain = await submission.new_key("ldld-ha-noi")
    with_contacts = await submission.new_key("ldld-ha-noi", contacts=True)

    async def export(headers: dict[str, str], **params: str):
        answer = await submission.http.get(
            "/v1/exports/submissions", params={"union": "ldld-ha-noi", **params}, headers=headers
        )
        assert answer.status_code == 200, answer.text
        return answer

    table = list(csv.DictReader(io.StringIO((await export(plain)).content.decode("utf-8-sig"))))
    assert sorted(r["submission_id"] for r in table) == sorted([*hanoi[:3], *later])
    assert "author_phone" not in table[0]
    row = next(r for r in table if r["submission_id"] == hanoi[1])
    path = row["union_path"].split(" › ")
    assert len(path) == 4 and path[1] == "Liên đoàn Lao động thành phố Hà Nội"
    assert path[3] == row["union_name"]
    assert (row["benefit_vnd"], row["submitted_on"], row["review_state"]) == (
        "120000000",
        "2022-03-15",
        "pending",
    )
    phase_1 = list(csv.DictReader(io.StringIO((await export(plain, phase="phase-1")).text)))
    assert len(phase_1) == 3

    answer = await export(with_contacts, format="xlsx")
    assert answer.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(answer.content), read_only=True).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    header, body = rows[0], rows[1:]
    assert "author_phone" in header and len(body) == 4
    by_id = {r[header.index("submission_id")]: r for r in body}
    assert by_id[hanoi[0]][header.index("author_phone")] == "0912 345 678"
    assert by_id[later[0]][header.index("submitted_on")].date().isoformat() == "2022-07-01"
    assert by_id[hanoi[0]][header.index("benefit_vnd")] == 120_000_000


async def test_exports_page_through_the_database_in_chunks(submission: RunningSubmission) -> None:
    filed = await file_all(submission, [HANOI_GRASSROOTS, SIBLING, LAI_CHAU] * 9)
    scope = ExportScope(("vn",), None, with_contacts=False)
    chunks = [
        chunk
        async for chunk in export_chunks(
            submission.ctx.runtime.sessions, submission.ctx.reference.tree, scope, chunk_rows=5
        )
    ]
    assert [len(c) for c in chunks] == [5, 5, 5, 5, 5, 2]
    column = headers(scope).index("submission_id")
    exported = [row[column] for chunk in chunks for row in chunk]
    assert sorted(exported) == sorted(filed) and len(set(exported)) == len(filed)


FORMULA_TITLE = '=HYPERLINK("http://evil.example/x","Bấm vào đây")'


async def test_exported_text_is_text_never_a_formula_or_a_link(
    submission: RunningSubmission,
) -> None:
    headers = await submission.new_key("vn")
    filed = draft(
        title=FORMULA_TITLE,
        author={**draft()["author"], "name": "@SUM(A1:A9) Nguyễn"},
        recognition={**draft()["recognition"], "decision_number": "-1+1/QĐ http://x.example"},
    )
    answer = await submission.http.post(
        "/v1/submissions", json=filed, headers={**headers, "Idempotency-Key": "formula"}
    )
    assert answer.status_code == 201, answer.text
    export = {"union": "vn"}
    text = await submission.http.get("/v1/exports/submissions", params=export, headers=headers)
    row = next(csv.DictReader(io.StringIO(text.content.decode("utf-8-sig"))))
    assert row["title"] == "'" + FORMULA_TITLE
    assert row["author_name"] == "'@SUM(A1:A9) Nguyễn"
    assert row["decision_number"] == "'-1+1/QĐ http://x.example"
    assert row["benefit_vnd"] == "120000000"  # numbers stay numbers

    book = await submission.http.get(
        "/v1/exports/submissions", params={**export, "format": "xlsx"}, headers=headers
    )
    parts = zipfile.ZipFile(io.BytesIO(book.content))
    sheet_xml = parts.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml and "hyperlink" not in sheet_xml
    assert not [name for name in parts.namelist() if "_rels/sheet" in name]
    cells = openpyxl.load_workbook(io.BytesIO(book.content)).active
    assert cells is not None
    titles = [c for c in cells[1] if c.value == "title"]
    title = cells.cell(row=2, column=titles[0].column)
    assert (title.value, title.data_type) == (FORMULA_TITLE, "s")
