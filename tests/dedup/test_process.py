"""The dedup service as a real process: after SIGKILL it rebuilds its index from the database."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from pipeline.processes import ServiceProcess
from pipeline.tap import Tap
from pipeline.texts import initiative
from tests.support.events import received

SCREENED = "submission.screened.v1"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_index_holds_every_earlier_submission_after_sigkill(
    broker_url: str, database_url: str, tmp_path: Path
) -> None:
    env = {
        "SANGKIEN_BROKER_URL": broker_url,
        "SANGKIEN_DATABASE_URL": database_url,
        "SANGKIEN_RELAY_IDLE_SECONDS": "0.1",
    }
    rng = random.Random(21)
    originals = [received(initiative(rng)) for _ in range(20)]
    process = ServiceProcess("dedup", env, tmp_path)
    restarted = ServiceProcess("dedup", env, tmp_path)
    process.start()
    try:
        await process.wait_ready()
        async with Tap(broker_url, (SCREENED,)) as tap:
            for event in originals:
                await tap.publish(
                    "submission.received.v1", event.model_dump_json().encode(), event.message_id
                )
            await tap.wait_for(lambda d: True, count=len(originals))
            process.kill()
            restarted.start()
            await restarted.wait_ready()
            copies = [
                event.model_copy(
                    update={
                        "submission_id": f"copy-{n}",
                        "message_id": f"copy-{n}",
                        "correlation_id": f"copy-{n}",
                    }
                )
                for n, event in enumerate(originals)
            ]
            for event in copies:
                await tap.publish(
                    "submission.received.v1", event.model_dump_json().encode(), event.message_id
                )
            await tap.wait_for(
                lambda d: d.body["submission_id"].startswith("copy-"), count=len(copies)
            )
        verdicts = {d.body["submission_id"]: d.body for d in tap.seen}
        for number, original in enumerate(originals):
            verdict = verdicts[f"copy-{number}"]
            assert verdict["verdict"] == "exact_duplicate"
            assert verdict["best_match_id"] == original.submission_id
            assert verdicts[original.submission_id]["verdict"] == "unique"
        assert "index_rebuilt" in restarted.logs() and '"documents": 20' in restarted.logs()
    finally:
        process.kill()
        restarted.terminate()
