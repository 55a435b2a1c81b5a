"""The simulated campaign: deterministic, valid, shaped like the real one, copies marked."""

from __future__ import annotations

from datetime import date, timedelta

from pydantic import TypeAdapter

from pipeline.campaign import BURST_DAYS, campaign
from shared.contracts.submission import SubmissionDraft
from shared.reference.calendar import local_date
from tests.support.events import reference

DRAFTS = TypeAdapter(list[SubmissionDraft])


def test_the_same_seed_gives_the_same_campaign_and_another_seed_another() -> None:
    first = list(campaign(reference(), 300, seed=7))
    assert first == list(campaign(reference(), 300, seed=7))
    assert first != list(campaign(reference(), 300, seed=8))
    assert len({f.client_key for f in first}) == 300


def test_every_draft_is_valid_for_a_submitting_union_inside_the_program() -> None:
    data = reference()
    filed = list(campaign(data, 2000, seed=3))
    drafts = DRAFTS.validate_python([f.draft for f in filed])
    for draft in drafts:
        union = data.tree.get(draft.union_code)
        assert union is not None and union.accepts_submissions
        assert data.program.phase_on(local_date(draft.submitted_at)) is not None
    benefits = sorted(d.benefit_vnd for d in drafts)
    assert benefits[len(benefits) // 2] < 10_000_000 < benefits[-1] // 100  # skewed


def test_deadlines_draw_bursts_and_copies_are_marked_in_the_asked_shares() -> None:
    data = reference()
    filed = list(campaign(data, 6000, seed=5, near_share=0.05, exact_share=0.02))
    days = [local_date(SubmissionDraft.model_validate(f.draft).submitted_at) for f in filed]
    bursts = [(p.ends_on - timedelta(days=BURST_DAYS - 1), p.ends_on) for p in data.program.phases]
    in_bursts = sum(any(a <= d <= b for a, b in bursts) for d in days) / len(days)
    burst_days = sum((b - a).days + 1 for a, b in bursts)
    all_days = (data.program.ends_on - data.program.starts_on).days + 1
    assert in_bursts > 5 * burst_days / all_days  # far denser than an even spread
    exact = [f for f in filed if f.exact]
    near = [f for f in filed if f.copy_of and not f.exact]
    assert 0.01 < len(exact) / len(filed) < 0.03
    assert 0.035 < len(near) / len(filed) < 0.065
    by_key = {f.client_key: f for f in filed}
    for copy in exact:
        original = by_key[copy.copy_of or ""]
        assert copy.draft["situation"] == original.draft["situation"]
    assert all(date(2021, 9, 1) <= d <= date(2023, 9, 1) for d in days)
