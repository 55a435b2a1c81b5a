"""HTTP routes of reference data: its version, its change log, and changes from union offices.

Reading needs any key; a change needs a key that may manage reference data
(``can_manage_reference``) and covers the union that decides it (``reference_admin``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, Query
from pydantic import BaseModel, Field

from services.submission.deps import FORBIDDEN, Client, Ctx
from services.submission.reference_admin import Contended, NotAllowed, accept_change
from shared.contracts.reference import Change, ReferenceChangedV1
from shared.http import ApiError
from shared.reference.changes import ChangeRefused
from shared.reference.consistency import Finding, findings
from shared.reference.live import stored_changes
from shared.text import NO_CONTROL_PATTERN

router = APIRouter(prefix="/v1/reference", tags=["reference"])


class ReferenceVersion(BaseModel):
    """The version of the reference data this replica serves."""

    version: int = Field(description="0: the reference files; each accepted change adds one.")


class ChangeRequest(BaseModel):
    """A change and why it is made (kept in the change log)."""

    reason: str = Field(min_length=1, max_length=500, pattern=NO_CONTROL_PATTERN)
    change: Change


class Flag(BaseModel):
    """A disagreement among targets, reported but not refused (``docs/reference.md``)."""

    union_code: str
    scope: str
    reason: str

    @classmethod
    def of(cls, finding: Finding) -> Flag:
        """The flag of a finding of ``shared.reference.consistency``."""
        return cls(union_code=finding.union_code, scope=finding.scope, reason=finding.reason)


class Flags(BaseModel):
    """What the targets of a version of the reference data disagree on."""

    version: int
    flags: list[Flag]


class ChangeView(BaseModel):
    """One entry of the change log: the version it made, who, when, why and what."""

    version: int
    changed_by: str
    changed_at: datetime
    reason: str
    change: Change

    @classmethod
    def of(cls, event: ReferenceChangedV1) -> ChangeView:
        """The entry of a recorded change."""
        return cls(
            version=event.version,
            changed_by=event.changed_by,
            changed_at=event.occurred_at,
            reason=event.reason,
            change=event.change,
        )


class ChangeAccepted(ChangeView):
    """A change as accepted, with what it flags."""

    flags: list[Flag]


@router.get("", response_model=ReferenceVersion)
async def reference_version(ctx: Ctx, who: Client) -> ReferenceVersion:
    """The version of the reference data intake follows."""
    return ReferenceVersion(version=ctx.reference.version)


@router.get("/flags", response_model=Flags)
async def reference_flags(ctx: Ctx, who: Client) -> Flags:
    """What the targets of the reference data intake follows disagree on, reported but not
    refused: a union whose unions' assigned targets add up to less than its own. Those that
    would be refused never enter it."""
    reference = ctx.reference
    found = findings(reference.targets, reference.tree, reference.program)
    return Flags(version=reference.version, flags=[Flag.of(finding) for finding in found])


@router.get("/changes", response_model=list[ChangeView])
async def change_log(
    ctx: Ctx,
    who: Client,
    after: Annotated[int, Query(ge=0, le=2**31, description="Versions above this one.")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[ChangeView]:
    """The change log, oldest first: every accepted change, who made it, when and why."""
    async with ctx.runtime.sessions() as session:
        return [ChangeView.of(event) for event in await stored_changes(session, after, limit)]


@router.post(
    "/changes",
    status_code=201,
    response_model=ChangeAccepted,
    responses={403: {}, 409: {}, 422: {}},
)
async def make_change(
    body: ChangeRequest,
    ctx: Ctx,
    who: Client,
    correlation_id: Annotated[
        str | None,
        Header(alias="X-Correlation-Id", max_length=100, pattern=NO_CONTROL_PATTERN),
    ] = None,
) -> ChangeAccepted:
    """Add, rename or close a union, or set a union's targets. Accepted at once by intake and
    published as ``reference.changed.v1``; refused (409) when it contradicts the current data,
    with the reason."""
    try:
        accepted = await accept_change(ctx, who, body.reason, body.change, correlation_id)
    except NotAllowed as refusal:
        raise ApiError(403, "change", FORBIDDEN, str(refusal)) from refusal
    except ChangeRefused as refusal:
        raise ApiError(409, "change", "change_refused", str(refusal)) from refusal
    except Contended as busy:
        raise ApiError(409, "change", "contended", str(busy)) from busy
    [event] = accepted.events
    return ChangeAccepted(
        **ChangeView.of(event).model_dump(), flags=[Flag.of(f) for f in accepted.flags]
    )
