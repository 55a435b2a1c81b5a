"""A simulated campaign (pure, deterministic by seed): who files what, when, and which are copies.

- Unions: the reference tree's grassroots unions (nine in ten submissions) and the district or
  sector federations above them that take submissions too.
- Dates: across both phases, a third of the submissions in the last three weeks before each
  phase's deadline (units filed thousands a day near deadlines), at office hours local time.
- Texts: generated Vietnamese initiatives in every field; benefit values skewed (most small, a
  few very large).
- Copies: a share are near-duplicates of an earlier submission (one of the perturbations dedup is
  measured against) filed by another union, and a share exact repeats; each is marked, so tests
  can compare dedup's flags with what was injected.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from pipeline.perturb import FORM_ONLY_CLASSES, positive_classes
from pipeline.texts import Initiative, initiative
from shared.reference.calendar import LOCAL_ZONE
from shared.reference.catalog import ReferenceData
from shared.reference.unions import SUBMITTING_LEVELS

BURST_DAYS = 21
BURST_SHARE = 1 / 3
RECOGNITIONS = ("recognition_decision", "commendation_decision", "other_direct", "none")


@dataclass(frozen=True)
class Filed:
    """One simulated submission: its idempotency key, its draft, and what it copies, if any."""

    client_key: str
    draft: dict[str, Any]
    copy_of: str | None = None  # client key of the original
    exact: bool = False  # a verbatim repeat of the original
    form_only: bool = False  # a copy changed in form only (accents, tones, spacing, NFD)

    @property
    def exact_duplicate(self) -> bool:
        """Whether dedup must call it an exact duplicate: its matching key is the original's
        (docs/design.md: form is folded before hashing)."""
        return self.exact or self.form_only


def _day(rng: random.Random, reference: ReferenceData) -> date:
    phase = rng.choice(reference.program.phases)
    if rng.random() < BURST_SHARE:
        return phase.ends_on - timedelta(days=rng.randrange(BURST_DAYS))
    return phase.starts_on + timedelta(
        days=rng.randrange((phase.ends_on - phase.starts_on).days + 1)
    )


def _moment(rng: random.Random, day: date) -> str:
    local = datetime.combine(day, time(rng.randint(7, 21), rng.randrange(60)), LOCAL_ZONE)
    return local.isoformat()


def _benefit(rng: random.Random) -> int:
    """Skewed: most a few million VND, a few in the tens of billions."""
    return min(int(rng.paretovariate(1.1) * 2_000_000) // 1000 * 1000, 50_000_000_000)


def _draft(
    rng: random.Random, item: Initiative, union_code: str, day: date, n: int
) -> dict[str, Any]:
    kind = rng.choice(RECOGNITIONS)
    recognition: dict[str, Any] = {"kind": kind}
    if kind in ("recognition_decision", "commendation_decision"):
        recognition |= {"decision_number": f"{n % 997 + 1}/QĐ-CĐ", "decision_date": day.isoformat()}
    return {
        "union_code": union_code,
        "submitted_at": _moment(rng, day),
        "title": item.title,
        "field": item.field,
        "situation": item.situation,
        "solution": item.solution,
        "effect": item.effect,
        "benefit_vnd": _benefit(rng),
        "recognition": recognition,
        "author": {"name": f"Đoàn viên {n:07d}", "member_id": f"DV-{rng.randrange(10**9):09d}"},
    }


def campaign(
    reference: ReferenceData,
    count: int,
    *,
    seed: int = 1,
    near_share: float = 0.02,
    exact_share: float = 0.01,
) -> Iterator[Filed]:
    """``count`` submissions, the same ones for the same seed and reference data."""
    rng = random.Random(seed)
    submitting = sorted(
        (u for u in reference.tree if u.level in SUBMITTING_LEVELS), key=lambda u: u.code
    )
    grassroots = [u.code for u in submitting if u.level == "grassroots"]
    federations = [u.code for u in submitting if u.level != "grassroots"]
    perturbations = list(positive_classes(rng).items())
    # Copies are drawn from the most recent originals: bounded memory for millions of them.
    originals: deque[tuple[str, Initiative]] = deque(maxlen=20_000)
    for n in range(count):
        key = f"sim-{seed}-{n}"
        union = rng.choice(grassroots if rng.random() < 0.9 else federations)
        day = _day(rng, reference)
        roll = rng.random()
        if originals and roll < exact_share:
            source_key, item = rng.choice(originals)
            yield Filed(key, _draft(rng, item, union, day, n), copy_of=source_key, exact=True)
        elif originals and roll < exact_share + near_share:
            source_key, item = rng.choice(originals)
            name, perturb = rng.choice(perturbations)
            yield Filed(
                key,
                _draft(rng, perturb(item), union, day, n),
                copy_of=source_key,
                form_only=name in FORM_ONLY_CLASSES,
            )
        else:
            item = initiative(rng)
            originals.append((key, item))
            yield Filed(key, _draft(rng, item, union, day, n))
