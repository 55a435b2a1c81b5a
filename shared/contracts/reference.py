"""The reference family: changes to the union tree and the targets while the campaign runs.

The submission service owns reference data (``docs/reference.md``): each change it accepts gets
the next version number and is published once as ``reference.changed.v1``. The versions have
no gaps, so a consumer applies them in version order whatever order they arrive in.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.envelope import Message
from shared.text import NO_CONTROL_PATTERN

CODE_PATTERN = r"^[a-z0-9][a-z0-9.\-]{0,99}$"
Level = Literal["national", "province", "central_sector", "district", "sector", "grassroots"]


def _kind_required(schema: dict[str, Any]) -> None:
    """``kind`` has a default in Python, but a message must carry it: it says which change."""
    schema["required"] = ["kind", *schema.get("required", [])]


class _Change(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, json_schema_extra=_kind_required)


class UnionAdded(_Change):
    """A new union below an open one (a grassroots union formed this week, say)."""

    kind: Literal["union_added"] = "union_added"
    code: str = Field(pattern=CODE_PATTERN, description="Lowercase letters, digits, '.', '-'.")
    name: str = Field(min_length=1, max_length=300, pattern=NO_CONTROL_PATTERN)
    level: Level
    parent_code: str = Field(pattern=CODE_PATTERN)
    cluster: str | None = Field(None, pattern=CODE_PATTERN)


class UnionRenamed(_Change):
    """A union's new name."""

    kind: Literal["union_renamed"] = "union_renamed"
    code: str = Field(pattern=CODE_PATTERN)
    name: str = Field(min_length=1, max_length=300, pattern=NO_CONTROL_PATTERN)


class UnionClosed(_Change):
    """A union dissolved: it takes no more submissions; what it counted stays counted."""

    kind: Literal["union_closed"] = "union_closed"
    code: str = Field(pattern=CODE_PATTERN)


class UnionMoved(_Change):
    """A union moved below another parent from a date on: what it counted before that date stays
    counted where it was filed ("as filed"), and all of it follows the union ("as of now")."""

    kind: Literal["union_moved"] = "union_moved"
    code: str = Field(pattern=CODE_PATTERN)
    parent_code: str = Field(pattern=CODE_PATTERN, description="The new parent.")
    effective_on: date = Field(
        description="The first local date filed below the new parent; not before the union's "
        "last move (else refused)."
    )


class UnionMerged(_Change):
    """A union merged into another of its level from a date on: it closes, its children move
    below the union it merged into, and its counts follow them as of now."""

    kind: Literal["union_merged"] = "union_merged"
    code: str = Field(pattern=CODE_PATTERN)
    into_code: str = Field(pattern=CODE_PATTERN, description="The union it merges into.")
    effective_on: date = Field(
        description="The first local date that counts with the union merged into."
    )


class TargetValue(BaseModel):
    """A union's target for one scope: assigned by the union above, and a higher one it may
    set itself."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    scope: str = Field(pattern=CODE_PATTERN, description="'program' or a phase code.")
    assigned: int = Field(ge=1, le=100_000_000)
    self_set: int | None = Field(
        None, ge=1, le=100_000_000, description="Never below ``assigned`` (else refused)."
    )


class TargetsSet(_Change):
    """A union's targets for some scopes, set together (a program target and its phases must
    agree after every change)."""

    kind: Literal["targets_set"] = "targets_set"
    union_code: str = Field(pattern=CODE_PATTERN)
    targets: list[TargetValue] = Field(min_length=1, max_length=20)


class PhaseAdded(_Change):
    """A phase after the program's last (a later campaign): the national union's target for it,
    and the program's national target grown by as much."""

    kind: Literal["phase_added"] = "phase_added"
    code: str = Field(pattern=CODE_PATTERN)
    name: str = Field(min_length=1, max_length=200, pattern=NO_CONTROL_PATTERN)
    starts_on: date = Field(description="After the program's last day (else refused).")
    ends_on: date = Field(description="Not before ``starts_on`` (else refused).")
    national_target: int = Field(ge=1, le=100_000_000)


class PhaseDates(BaseModel):
    """A phase's new first and last day."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    code: str = Field(pattern=CODE_PATTERN)
    starts_on: date
    ends_on: date = Field(description="Not before ``starts_on`` (else refused).")


class PhasesRedated(_Change):
    """New dates for existing phases, set together (moving the boundary between two phases
    changes both). Phases must not overlap, and every day that had a phase keeps one (else
    refused); submissions dated on a day that changes phase count in their new phase."""

    kind: Literal["phases_redated"] = "phases_redated"
    phases: list[PhaseDates] = Field(min_length=1, max_length=20)


Change = Annotated[
    UnionAdded
    | UnionRenamed
    | UnionClosed
    | UnionMoved
    | UnionMerged
    | TargetsSet
    | PhaseAdded
    | PhasesRedated,
    Field(discriminator="kind"),
]


class ReferenceChangedV1(Message):
    """One accepted change to the reference data, with the version it makes."""

    NAME = "reference.changed"

    version: int = Field(ge=1, description="Versions have no gaps: apply them in this order.")
    changed_by: str = Field(
        min_length=1, max_length=100, pattern=NO_CONTROL_PATTERN, description="The API client."
    )
    reason: str = Field(
        min_length=1, max_length=500, pattern=NO_CONTROL_PATTERN, description="Why, in words."
    )
    change: Change
