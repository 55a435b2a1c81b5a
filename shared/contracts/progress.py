"""The progress family: aggregation's snapshots of a union's figures."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.envelope import Message


class Figures(BaseModel):
    """Counters of one union for one scope (a phase or the whole program)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    received: int = Field(ge=0)
    counted: int = Field(ge=0)
    flagged: int = Field(ge=0)
    excluded: int = Field(ge=0)
    benefit_vnd: int = Field(ge=0)
    distinct_authors: int = Field(ge=0)


class Crossing(BaseModel):
    """The first local date on which the subtree's cumulative counted total, by event time,
    reached ``counted``."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    counted: int = Field(ge=1)
    reached_on: date


class ProgressUpdatedV1(Message):
    """Snapshot of a union's subtree figures for one scope; ``revision`` only grows.

    1.1 adds ``crossings``: the date each milestone threshold of the reference data's rules was
    crossed, for the thresholds at or below ``subtree.counted``.
    """

    NAME = "progress.updated"
    MINOR = 1

    union_code: str
    level: str
    program: str
    scope: str = Field(description="'program' or a phase code.")
    revision: int = Field(ge=1)
    as_of: date
    subtree: Figures
    own: Figures
    target: int | None = Field(None, ge=1)
    percent: float | None = None
    reached_on: date | None = None
    days_ahead: int | None = None
    crossings: list[Crossing] = Field(
        default_factory=list,
        description=(
            "For each milestone threshold (a counted total) the subtree has reached: the first "
            "local date its cumulative counted total, by event time, reached it."
        ),
    )

    def crossed_on(self, counted: int) -> date | None:
        """The date the snapshot gives for reaching ``counted``, if it carries one."""
        return next((c.reached_on for c in self.crossings if c.counted == counted), None)
