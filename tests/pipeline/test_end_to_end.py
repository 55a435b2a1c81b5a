"""The whole pipeline as four processes on the real broker, judged by what users see."""

from __future__ import annotations

from pathlib import Path

from pipeline.simulate import send_http
from tests.support.campaign_run import campaign_run

COUNT = 1500


async def test_a_campaign_gives_exact_counts_flags_and_milestones_once(
    broker_url: str, tmp_path: Path
) -> None:
    async with campaign_run(broker_url, tmp_path, COUNT, seed=3) as run:
        async with run.client("submission") as client:
            # One batch at a time: an original is then always screened before its copies.
            outcomes = await send_http(client, run.portal_key, run.filed, concurrency=1)
        assert outcomes == {"created": COUNT}
        await run.wait_counted(timeout=240)
        await run.check_flags(timeout=60)
        await run.check_figures()
        await run.check_milestones(timeout=60)
        await run.check_dead_letters_empty()
    assert run.checked["union figures"] > COUNT
