"""Chaos: services SIGKILLed at random moments and the broker restarted, during a real campaign."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from pathlib import Path

import pytest

from pipeline.processes import SERVICES
from pipeline.simulate import send_http
from tests.support.broker import PrivateRabbit
from tests.support.campaign_run import CampaignRun, campaign_run

COUNT = 20_000
KILLS_PER_SERVICE = 2


async def wreak_havoc(
    run: CampaignRun, rabbit: PrivateRabbit, rng: random.Random, sending: asyncio.Task[Counter[str]]
) -> Counter[str]:
    """Kill services (the least killed first, at random moments) and restart the broker once,
    until the campaign is sent and every service died at least ``KILLS_PER_SERVICE`` times."""
    kills: Counter[str] = Counter()
    while not sending.done() or min(kills[name] for name in SERVICES) < KILLS_PER_SERVICE:
        await asyncio.sleep(rng.uniform(0.5, 3.0))
        if kills.total() == len(SERVICES) and not kills["broker"]:
            await asyncio.to_thread(rabbit.stop)
            await asyncio.sleep(rng.uniform(0.5, 2.0))
            await asyncio.to_thread(rabbit.start)
            kills["broker"] += 1
            continue
        fewest = min(kills[name] for name in SERVICES)
        victim = rng.choice([name for name in SERVICES if kills[name] == fewest])
        process = run.pipeline[victim]
        process.kill()
        await asyncio.sleep(rng.uniform(0, 1.0))
        process.start()
        await process.wait_ready(timeout=180)
        kills[victim] += 1
    return kills


@pytest.mark.timeout(2400)
async def test_nothing_is_lost_or_counted_twice_when_everything_crashes(
    broker_url: str, rabbit: PrivateRabbit, tmp_path: Path
) -> None:
    async with campaign_run(broker_url, tmp_path, COUNT, seed=11) as run:
        async with run.client("submission") as client:
            sending = asyncio.create_task(
                send_http(client, run.portal_key, run.filed, concurrency=1, retry_for=300)
            )
            kills = await asyncio.wait_for(
                wreak_havoc(run, rabbit, random.Random(11), sending), timeout=900
            )
            outcomes = await sending
        assert outcomes["created"] + outcomes["replayed"] == COUNT
        assert set(outcomes) <= {"created", "replayed"}
        await run.pipeline.wait_ready(timeout=180)
        await run.wait_counted(timeout=600)
        missed, added = await run.adopt_verdicts(timeout=120)
        # Which near copies dedup finds is its quality (bench.dedup_quality), not reliability:
        # here its verdicts, whatever they are, must each be counted once.
        assert missed + added <= len(run.expected.near) // 10
        await run.check_figures()
        await run.check_milestones(timeout=120)
        await run.check_dead_letters_empty()
    assert min(kills[name] for name in SERVICES) >= KILLS_PER_SERVICE
    assert kills["broker"] == 1
