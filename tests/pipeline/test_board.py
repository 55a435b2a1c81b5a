"""The progress board in a real browser (Debian's Chromium driven by Playwright), over the four
service processes: the pages render the figures the progress API gives, and a submission filed
while a page is open shows up on it without a reload."""

from __future__ import annotations

import os
import re
import shutil
import uuid
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Page, async_playwright, expect

from pipeline.samples import SAMPLES
from pipeline.simulate import send_http
from shared.polling import poll
from shared.settings import REPO_ROOT
from tests.support.campaign_run import CampaignRun, campaign_run

COUNT = 300
# Screenshots are kept for a person to look at, beside the other output of the test command.
OUTPUT = Path(os.environ.get("SANGKIEN_TEST_OUTPUT", REPO_ROOT / ".test-output")) / "board"


def vietnamese(n: int) -> str:
    """A count as the board writes it (vi-VN: dots between thousands)."""
    return f"{n:,}".replace(",", ".")


async def progress(client: httpx.AsyncClient, union_code: str) -> dict[str, Any]:
    answer = await client.get(f"/v1/unions/{union_code}/progress")
    answer.raise_for_status()
    body: dict[str, Any] = answer.json()
    return body


async def file_one_more(run: CampaignRun) -> None:
    """A new initiative (not a copy of anything filed) for a grassroots union of Hà Nội."""
    unique = uuid.uuid4().hex[:8]
    submission = {**SAMPLES[0], "title": f"{SAMPLES[0]['title']} (phiên bản {unique})"}
    async with run.client("submission") as client:
        answer = await client.post(
            "/v1/submissions",
            json=submission,
            headers={"X-API-Key": run.portal_key, "Idempotency-Key": f"board-{unique}"},
        )
    assert answer.status_code == 201, answer.text


async def open_page(page: Page, url: str) -> None:
    """Open a board page and wait until it shows figures and follows its stream."""
    await page.goto(url)
    await expect(page.locator("#live")).to_have_attribute("data-state", "open")
    await expect(page.locator("body")).to_have_attribute("data-version", re.compile(r"^\d+$"))


async def test_the_board_shows_the_campaign_and_follows_it_without_a_reload(
    broker_url: str, tmp_path: Path
) -> None:
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is needed (scripts/test installs it)"
    OUTPUT.mkdir(parents=True, exist_ok=True)
    async with campaign_run(broker_url, tmp_path, COUNT, seed=11) as run:
        async with run.client("submission") as client:
            assert await send_http(client, run.portal_key, run.filed, concurrency=1) == {
                "created": COUNT
            }
        await run.wait_counted(timeout=120)
        board = run.pipeline.base_urls("aggregation")[0]
        async with (
            async_playwright() as playwright,
            httpx.AsyncClient(base_url=board, timeout=30) as api,
        ):
            browser = await playwright.chromium.launch(
                executable_path=chromium, args=["--no-sandbox"]
            )
            page = await browser.new_page(viewport={"width": 1280, "height": 900}, locale="vi-VN")
            failures: list[str] = []
            page.on("pageerror", lambda error: failures.append(str(error)))

            await open_page(page, f"{board}/board/")
            national = await progress(api, "vn")
            await expect(page.locator("#name")).to_have_text(national["name"])
            await expect(page.locator("#counted")).to_have_text(
                vietnamese(national["subtree"]["counted"])
            )
            milestones = page.locator("#milestones li strong")
            assert national["milestones"], "the campaign passes national milestones"
            await expect(milestones).to_have_text(
                [vietnamese(m["counted"]) for m in national["milestones"]]
            )
            await expect(page.locator("#leaders tbody tr")).to_have_count(10)
            await expect(page.locator("#clusters tbody tr")).not_to_have_count(0)
            await expect(page.locator("#daily")).to_be_visible()

            # The page is marked; a reload would lose the mark.
            await page.evaluate("window.sameDocument = true")
            before = national["subtree"]["counted"]
            await file_one_more(run)
            counted = (
                await poll(
                    lambda: progress(api, "vn"),
                    lambda view: view["subtree"]["counted"] > before,
                    60,
                    "the new submission counted nationally",
                )
            )["subtree"]["counted"]
            await expect(page.locator("#counted")).to_have_text(vietnamese(counted))
            assert await page.evaluate("window.sameDocument === true")
            await page.screenshot(path=OUTPUT / "national.png", full_page=True)

            province = "ldld-ha-noi"
            await open_page(page, f"{board}/board/unions/{province}")
            hanoi = await progress(api, province)
            await expect(page.locator("#name")).to_have_text(hanoi["name"])
            await expect(page.locator("#counted")).to_have_text(
                vietnamese(hanoi["subtree"]["counted"])
            )
            await expect(page.locator("#path a")).to_have_text([national["name"]])
            children = (await api.get(f"/v1/unions/{province}/children")).json()
            await expect(page.locator("#children tbody tr")).to_have_count(
                min(50, children["total"])
            )
            await expect(page.locator("#scopes .card")).to_have_count(3)
            await page.set_viewport_size({"width": 390, "height": 844})
            await page.screenshot(path=OUTPUT / "union-phone.png")

            # A grassroots union: what it counted, and not the figures withheld from the open API.
            leading = (await api.get("/v1/leaderboards/levels/grassroots?limit=1")).json()
            grassroots = leading["items"][0]
            await open_page(page, f"{board}/board/unions/{grassroots['union_code']}")
            await expect(page.locator("#counted")).to_have_text(vietnamese(grassroots["counted"]))
            await expect(page.locator("#scopes .card dd").nth(1)).to_have_text("không công bố")

            await page.goto(f"{board}/board/unions/no-such-union")
            await expect(page.locator("#problem")).to_contain_text("no-such-union")
            await expect(page.locator("#live")).to_have_text("không có số liệu")
            await browser.close()
        assert failures == []
