"""Distinct authors per union and scope, kept exact while submissions move in and out of the count.

The store keeps, per (author, scope), how many counted submissions the author has in each union
they filed with. An author is "in" a union's own figures when they have a counted submission filed
with that union, and "in" its subtree figures when that is so for any union below it. So when an
author's per-union tallies change, the unions whose distinct-author figure changes are exactly the
ones whose coverage differs before and after: a pure set difference, whatever order the
submissions came in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from services.aggregation.counting import Changes, Reach

PathOf = Callable[[str], tuple[str, ...]]


def covered(unions_with_counted: set[str], path_of: PathOf) -> set[tuple[str, Reach]]:
    """The (union, reach) rows an author appears in, given the unions they filed with where
    they count (``path_of`` says where each union's submissions count now)."""
    rows: set[tuple[str, Reach]] = set()
    for union in unions_with_counted:
        path = path_of(union)
        rows.add((path[-1], Reach.OWN))
        rows.update((ancestor, Reach.SUBTREE) for ancestor in path)
    return rows


def coverage_changes(
    tallies_before: Mapping[tuple[str, str], dict[str, int]],
    changes: Changes,
    path_of: PathOf,
) -> dict[tuple[str, str, str], int]:
    """Record in ``changes`` how distinct-author figures move, and return the new per-union tallies.

    ``tallies_before`` maps (author, scope) → {union: counted submissions} as stored before the
    batch; ``changes.authors`` holds the batch's changes of those numbers.
    """
    after: dict[tuple[str, str], dict[str, int]] = {}
    new_rows: dict[tuple[str, str, str], int] = {}
    for (author, scope, union), change in changes.authors.items():
        unions = after.get((author, scope))
        if unions is None:
            unions = after[(author, scope)] = dict(tallies_before.get((author, scope), {}))
        unions[union] = unions.get(union, 0) + change
        new_rows[(author, scope, union)] = unions[union]
    for (author, scope), unions in after.items():
        was_in = {u for u, n in tallies_before.get((author, scope), {}).items() if n > 0}
        now_in = {u for u, n in unions.items() if n > 0}
        if was_in != now_in:
            _record(changes, scope, covered(was_in, path_of), covered(now_in, path_of))
    return new_rows


def coverage_moves(
    tallies: Mapping[tuple[str, str], dict[str, int]],
    changes: Changes,
    before: PathOf,
    after: PathOf,
) -> None:
    """Record in ``changes`` how distinct-author figures move when the unions' submissions
    count where ``after`` puts them instead of ``before`` (a union moved or merged); the
    per-union tallies themselves stay as they are."""
    for (_, scope), unions in tallies.items():
        counting = {u for u, n in unions.items() if n > 0}
        _record(changes, scope, covered(counting, before), covered(counting, after))


def _record(
    changes: Changes, scope: str, was: set[tuple[str, Reach]], now: set[tuple[str, Reach]]
) -> None:
    for union, reach in now ^ was:
        changes.add_distinct_authors((union, scope, reach), +1 if (union, reach) in now else -1)
