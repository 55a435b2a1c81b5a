"""Accepting a change to the reference data: who may make it, and recording it once.

The submission service owns reference data (``docs/reference.md``): it holds the keys and their
union subtrees, and intake must follow the tree the moment a change is accepted. A change is
checked against the newest version, stored with the next version number and published through
the outbox in one transaction; two replicas accepting a change at once cannot both take a
version (its primary key): the second checks again against the first's change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.submission.auth import ApiClient
from services.submission.context import SubmissionContext
from services.submission.store import follow_moves, follow_phases
from shared.contracts.envelope import derived_message_id, utc_now
from shared.contracts.reference import (
    Change,
    PhaseAdded,
    PhasesRedated,
    ReferenceChangedV1,
    TargetsSet,
    UnionAdded,
    UnionMerged,
    UnionMoved,
)
from shared.messaging.outbox import add_to_outbox
from shared.reference.catalog import ReferenceData
from shared.reference.changes import apply_changes
from shared.reference.consistency import Finding
from shared.reference.live import record_change

ATTEMPTS = 3


class NotAllowed(PermissionError):
    """The key may not make this change; the message says which union's key may."""


class VersionTaken(RuntimeError):
    """Another writer recorded one of the versions a change was given: check it again."""


class Contended(RuntimeError):
    """Other replicas took every version this change tried: the caller may try again."""


def deciding_union(reference: ReferenceData, change: Change) -> str | None:
    """The union whose key may make ``change``: the parent of a union added, renamed, closed
    or given an assigned target; the union itself for its self-set target alone; the national
    union for its own assigned targets (it has no parent) and for phases added or redated;
    for a move, the nearest union above both the old and the new parent; for a merge, the
    nearest above both unions. None for an unknown union (the change is refused)."""
    if isinstance(change, UnionAdded):
        return change.parent_code
    if isinstance(change, PhaseAdded | PhasesRedated):
        return reference.tree.root.code
    if isinstance(change, UnionMoved | UnionMerged):
        other = change.parent_code if isinstance(change, UnionMoved) else change.into_code
        moved, there = reference.tree.get(change.code), reference.tree.get(other)
        if moved is None or there is None or moved.parent_code is None:
            return None
        old = moved.parent_code if isinstance(change, UnionMoved) else moved.code
        return _nearest_above_both(reference, old, there.code)
    code = change.union_code if isinstance(change, TargetsSet) else change.code
    union = reference.tree.get(code)
    if union is None:
        return None
    if isinstance(change, TargetsSet) and not _assigned_changes(reference, change):
        return code
    return union.parent_code or code


def _nearest_above_both(reference: ReferenceData, one: str, other: str) -> str:
    """The lowest union whose subtree holds both ``one`` and ``other``."""
    above_other = set(reference.tree.path(other))
    return [a for a in reference.tree.path(one) if a in above_other][-1]


def _assigned_changes(reference: ReferenceData, change: TargetsSet) -> bool:
    held = reference.targets
    return any(
        (t := held.get((change.union_code, value.scope))) is None or t.assigned != value.assigned
        for value in change.targets
    )


def check_allowed(who: ApiClient, reference: ReferenceData, change: Change) -> None:
    """Raise ``NotAllowed`` unless ``who`` may make ``change``."""
    if not who.can_manage_reference:
        raise NotAllowed("this key may not change reference data")
    union = deciding_union(reference, change)
    if union is not None and not who.covers(reference.tree, union):
        raise NotAllowed(f"only a key covering {union!r} may make this change")


@dataclass(frozen=True)
class Accepted:
    """Changes as recorded and published, and what they flag."""

    events: list[ReferenceChangedV1]
    flags: list[Finding]


async def record_changes(
    session: AsyncSession,
    reference: ReferenceData,
    changes: Sequence[Change],
    *,
    changed_by: str,
    reason: str,
    correlation_id: str | None = None,
) -> Accepted:
    """Check ``changes`` in order against ``reference``, then record them with the next
    versions and queue them for publication, in the caller's transaction. Raises
    ``ChangeRefused`` (``changes.apply_changes``) before anything is written, and
    ``VersionTaken`` (or the database's IntegrityError) when another writer took one of these
    versions. Stored submissions follow a move, a merge or redated phases in the same
    transaction."""
    changed, flags = apply_changes(reference, changes)
    if any(isinstance(change, UnionMoved | UnionMerged) for change in changes):
        await follow_moves(session, changed.placing)
    if any(isinstance(change, PhasesRedated) for change in changes):
        await follow_phases(session, changed.program)
    events = []
    for version, change in enumerate(changes, start=reference.version + 1):
        message_id = derived_message_id(ReferenceChangedV1.NAME, str(version))
        events.append(
            ReferenceChangedV1(
                message_id=message_id,
                correlation_id=correlation_id or message_id,
                occurred_at=utc_now(),
                version=version,
                changed_by=changed_by[:100],
                reason=reason,
                change=change,
            )
        )
    for event in events:
        if not await record_change(session, event):
            raise VersionTaken(f"version {event.version} was recorded meanwhile")
    await add_to_outbox(session, *events)
    return Accepted(events, flags)


async def accept_change(
    ctx: SubmissionContext, who: ApiClient, reason: str, change: Change, correlation_id: str | None
) -> Accepted:
    """Check ``change`` against the newest reference data, record it with the next version and
    publish it; raises ``NotAllowed``, ``ChangeRefused`` or ``Contended``."""
    for _ in range(ATTEMPTS):
        await ctx.live.refresh()
        check_allowed(who, ctx.reference, change)
        try:
            async with ctx.runtime.sessions() as session, session.begin():
                accepted = await record_changes(
                    session,
                    ctx.reference,
                    [change],
                    changed_by=f"{who.key_id} {who.name}",
                    reason=reason,
                    correlation_id=correlation_id,
                )
        except (IntegrityError, VersionTaken):
            continue  # another replica recorded this version meanwhile
        ctx.runtime.relay.wake()
        await ctx.live.refresh()
        return accepted
    raise Contended("reference data changed meanwhile, again and again")
