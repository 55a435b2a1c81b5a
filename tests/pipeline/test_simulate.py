"""The simulator against a real submission service: everything filed, and a re-run replays."""

from __future__ import annotations

import pytest

from pipeline.campaign import campaign
from pipeline.simulate import send_http
from tests.conftest import RunningSubmission
from tests.support.events import reference


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_simulated_campaign_is_filed_and_a_rerun_only_replays(
    submission: RunningSubmission,
) -> None:
    key = (await submission.new_key("vn"))["X-API-Key"]
    seen: list[int] = []
    first = await send_http(
        submission.http, key, campaign(reference(), 250, seed=11), batch=40, progress=seen.append
    )
    assert first == {"created": 250}
    assert sum(seen) == 250
    again = await send_http(submission.http, key, campaign(reference(), 250, seed=11), batch=40)
    assert again == {"replayed": 250}
