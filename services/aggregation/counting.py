"""What counts (``docs/design.md``, "Semantics"), as pure functions of a submission's verdict
and latest review.

A submission's standing depends only on *which* events about it were seen, never on their order:
the verdict is set once, and among reviews the one with the highest ``sequence`` wins. So replaying
the same events in any order, with duplicates, ends in the same standing, and the counters (sums
of standings) end in the same figures.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from enum import StrEnum
from typing import Any, NamedTuple

from shared.contracts.submission import (
    ReviewDecision,
    ReviewedV1,
    ScreenedV1,
    Verdict,
)
from shared.reference.history import Path
from shared.reference.targets import PROGRAM_SCOPE

EXCLUDING_DECISIONS = frozenset(
    {ReviewDecision.CONFIRMED_DUPLICATE, ReviewDecision.INVALID, ReviewDecision.WITHDRAWN}
)


class Standing(StrEnum):
    """Where a submission stands in the count."""

    COUNTED = "counted"
    FLAGGED = "flagged"  # counted provisionally: a near-duplicate nobody has reviewed yet
    EXCLUDED = "excluded"


def standing_of(verdict: Verdict | None, decision: ReviewDecision | None) -> Standing:
    """The standing a verdict and the latest review decision give.

    A review outranks the verdict: excluding decisions exclude; ``not_duplicate`` counts even an
    exact copy (a reviewer looked); ``valid`` clears a near-duplicate flag but not an exact copy,
    which only a duplicate decision speaks to. Without a verdict yet (the review came first) the
    submission counts unless a decision excludes it.
    """
    if decision in EXCLUDING_DECISIONS:
        return Standing.EXCLUDED
    if decision is ReviewDecision.NOT_DUPLICATE:
        return Standing.COUNTED
    if verdict is Verdict.EXACT_DUPLICATE:
        return Standing.EXCLUDED
    if verdict is Verdict.NEAR_DUPLICATE and decision is None:
        return Standing.FLAGGED
    return Standing.COUNTED


class SubmissionEvent(NamedTuple):
    """What one screening or review says, as counting needs it: the submission's facts with its
    verdict, or with a review's decision and sequence.

    A plain tuple: the service process sends batches of them to its ledger process, and tuples
    of strings, numbers and dates cross a pipe far cheaper than JSON parsed a second time. The
    union path the message carries is left out: the ledger places every submission from its
    own reference history (``shared.reference.history``).
    """

    submission_id: str
    union_code: str
    phase: str
    local_date: date
    benefit_vnd: int
    author_key: str
    verdict: Verdict | None = None  # set by a screening
    decision: ReviewDecision | None = None  # set by a review…
    sequence: int = 0  # …with its sequence (≥ 1); 0 for a screening

    @classmethod
    def of(cls, message: ScreenedV1 | ReviewedV1) -> SubmissionEvent:
        """The event a ``submission.screened`` or ``submission.reviewed`` message carries."""
        facts = (
            message.submission_id,
            message.union_code,
            message.phase,
            message.local_date,
            message.benefit_vnd,
            message.author_key,
        )
        if isinstance(message, ScreenedV1):
            return cls(*facts, verdict=message.verdict)
        return cls(*facts, decision=message.decision, sequence=message.sequence)


@dataclass(frozen=True, slots=True)
class SubmissionState:
    """Aggregation's record of one submission: its facts, verdict and latest review."""

    submission_id: str
    union_code: str
    phase: str
    local_date: date
    benefit_vnd: int
    author_key: str
    verdict: Verdict | None = None
    decision: ReviewDecision | None = None
    review_sequence: int = 0

    @property
    def standing(self) -> Standing:
        """Where the submission stands now."""
        return standing_of(self.verdict, self.decision)

    @classmethod
    def first_seen(cls, event: SubmissionEvent) -> SubmissionState:
        """The record of a submission first heard of by ``event`` (which applies to it)."""
        return cls(*event)


def apply_event(state: SubmissionState | None, event: SubmissionEvent) -> SubmissionState:
    """The record after ``event``; the first verdict and the highest-sequence review win."""
    if state is None:
        return SubmissionState.first_seen(event)
    if not event.sequence:
        if state.verdict is None:
            return replace(state, verdict=event.verdict)
        return state
    if event.sequence > state.review_sequence:
        return replace(state, decision=event.decision, review_sequence=event.sequence)
    return state


@dataclass(frozen=True, slots=True)
class Figures:
    """Counter values (or changes of them) of one union for one scope."""

    received: int = 0
    counted: int = 0
    flagged: int = 0
    excluded: int = 0
    benefit_vnd: int = 0
    distinct_authors: int = 0


def contribution(state: SubmissionState | None) -> tuple[int, int, int, int, int]:
    """What one submission adds to its unions' counters (distinct authors aside): received,
    counted, flagged, excluded and benefit, as a plain tuple (this runs for every submission)."""
    if state is None:
        return (0, 0, 0, 0, 0)
    standing = standing_of(state.verdict, state.decision)
    if standing is Standing.EXCLUDED:
        return (1, 0, 0, 1, 0)
    return (1, 1, int(standing is Standing.FLAGGED), 0, state.benefit_vnd)


class Reach(StrEnum):
    """Whose submissions a counter row sums: the union's own, or its whole subtree's."""

    OWN = "own"
    SUBTREE = "subtree"


TallyKey = tuple[str, str, Reach]  # (union code, scope, reach)
AuthorKey = tuple[str, str, str]  # (author key, scope, union code)
Placement = tuple[Path, Path]  # where a submission counts: as of now, and as filed
Place = Callable[[str, date], Placement]  # a union and a local date → their placement
_Placed = dict[tuple[Path, str], list[Any]]  # per (path, scope): five figures and a latest date


def _six_zeros() -> list[int]:
    return [0, 0, 0, 0, 0, 0]


@dataclass
class Changes:
    """Everything a batch changes, summed per counter row; applied to the store in one go.

    ``tallies`` holds the six figures of ``Figures`` as a mutable list per row, counted as of
    now: a batch adds up hundreds of thousands of changes, and in-place sums keep that cheap.
    ``offsets`` holds, for the rows where counting as filed differs (a union moved or merged),
    the five summed figures as filed minus as of now. Transitions are first summed per path
    counted along (``add_transition``, ``move``), then carried up the tree (``roll_up``).
    """

    tallies: defaultdict[TallyKey, list[int]] = field(
        default_factory=lambda: defaultdict(_six_zeros)
    )
    offsets: dict[TallyKey, list[int]] = field(default_factory=dict)
    daily: defaultdict[tuple[str, date], int] = field(default_factory=lambda: defaultdict(int))
    authors: defaultdict[AuthorKey, int] = field(default_factory=lambda: defaultdict(int))
    latest_on: dict[TallyKey, date] = field(default_factory=dict)
    _placed: _Placed = field(default_factory=dict)
    _filed_apart: _Placed = field(default_factory=dict)
    _placed_daily: defaultdict[tuple[Path, date], int] = field(
        default_factory=lambda: defaultdict(int)
    )

    def figures(self, key: TallyKey) -> Figures:
        """The summed change of one counter row."""
        return Figures(*self.tallies.get(key, _six_zeros()))

    def add_transition(
        self, before: SubmissionState | None, after: SubmissionState, placement: Placement
    ) -> None:
        """Record one submission moving from ``before`` to ``after``, where ``placement`` puts
        it, in both scopes (``roll_up`` carries it to the ancestors)."""
        new, old = contribution(after), contribution(before)
        delta = [new[i] - old[i] for i in range(5)]
        if any(delta):
            self._place(after, delta, placement)

    def move(
        self, before: SubmissionState, after: SubmissionState, was: Placement, now: Placement
    ) -> None:
        """Record a submission counted where ``was`` put it (in its phase) moving to where
        ``now`` puts ``after``, the same submission in the phase its day now falls in: a union
        moved or merged, or the phases were redated. Its author's tally changes only with a new
        phase (the tallies are keyed by the union filed with; ``authors.coverage_moves``
        moves their coverage of the tree)."""
        if (before.phase, was) != (after.phase, now):
            figures = list(contribution(before))
            self._place(before, [-n for n in figures], was)
            self._place(after, figures, now)

    def _place(self, state: SubmissionState, delta: list[int], placement: Placement) -> None:
        now, filed = placement
        day, counted = state.local_date, delta[1]
        for scope in (state.phase, PROGRAM_SCOPE):
            _add_into(self._placed, (now, scope), delta, day)
            if filed != now:
                _add_into(self._filed_apart, (filed, scope), delta, day)
                _add_into(self._filed_apart, (now, scope), [-n for n in delta], day)
            if counted:
                self.authors[(state.author_key, scope, state.union_code)] += counted
        if counted:
            self._placed_daily[(now, day)] += counted

    def roll_up(self) -> None:
        """Write the own row of every union counted with, and the subtree rows of it and of
        every ancestor, as of now and (where they differ) the offsets as filed; then the daily
        counts of every ancestor."""
        for key, sums in _climbed(self._placed):
            if any(sums[:5]):
                row = self.tallies[key]
                for i in range(5):
                    row[i] += sums[i]
                if key[2] is Reach.SUBTREE:
                    self.latest_on[key] = max(sums[5], self.latest_on.get(key, sums[5]))
        for key, sums in _climbed(self._filed_apart):
            offset = self.offsets.setdefault(key, [0, 0, 0, 0, 0])
            for i in range(5):
                offset[i] += sums[i]
        self.offsets = {key: sums for key, sums in self.offsets.items() if any(sums)}
        for (path, day), counted in self._placed_daily.items():
            for ancestor in path:
                self.daily[(ancestor, day)] += counted

    def add_distinct_authors(self, key: TallyKey, change: int) -> None:
        """Record a change of a row's distinct authors (see ``authors.coverage_changes``)."""
        self.tallies[key][5] += change
        if key[2] is Reach.OWN:
            # The subtree row of the same union is republished whenever its own row changes.
            subtree = (key[0], key[1], Reach.SUBTREE)
            if subtree not in self.tallies:
                self.tallies[subtree] = _six_zeros()


def _climbed(placed: _Placed) -> Iterator[tuple[TallyKey, list[Any]]]:
    """The own row of each union counted with and the subtree rows of it and its ancestors,
    from sums per (path, scope). A subtree's sum is its own plus its children's subtree sums,
    so the sums climb one level at a time: each union is added up once, however many
    submissions below it moved. A union reached along two paths (before and after a move)
    comes out once per path."""
    climbing: defaultdict[int, _Placed] = defaultdict(dict)
    for (path, scope), sums in placed.items():
        yield (path[-1], scope, Reach.OWN), sums
        _add_into(climbing[len(path) - 1], (path, scope), sums, sums[5])
    for depth in range(max(climbing, default=-1), -1, -1):
        for (path, scope), sums in climbing.pop(depth).items():
            yield (path[-1], scope, Reach.SUBTREE), sums
            if depth:
                _add_into(climbing[depth - 1], (path[:-1], scope), sums, sums[5])


def _add_into(rows: _Placed, key: tuple[Path, str], sums: list[Any], day: date) -> None:
    """Add five figures into ``rows[key]`` and keep the later of the two latest dates."""
    row = rows.get(key)
    if row is None:
        rows[key] = [*sums[:5], day]
        return
    for i in range(5):
        row[i] += sums[i]
    if day > row[5]:
        row[5] = day


def transitions(
    states: dict[str, SubmissionState | None], events: Iterable[SubmissionEvent], place: Place
) -> tuple[dict[str, SubmissionState], Changes, int]:
    """Apply ``events`` to the known ``states`` (None: not seen before), each submission placed
    by ``place``; the new states, the counter changes (distinct authors aside) and how many
    events changed a state."""
    current = dict(states)
    applied = 0
    for event in events:
        known = current.get(event.submission_id)
        changed = apply_event(known, event)
        if changed is not known:
            applied += 1
            current[event.submission_id] = changed
    changes = Changes()
    updated: dict[str, SubmissionState] = {}
    for submission_id, after in current.items():
        before = states.get(submission_id)
        if after is not None and after != before:
            changes.add_transition(before, after, place(after.union_code, after.local_date))
            updated[submission_id] = after
    changes.roll_up()
    return updated, changes, applied
