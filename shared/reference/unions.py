"""The union tree: national → province / central sector → district / sector → grassroots."""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from shared.reference import ReferenceDataError

LEVELS = ("national", "province", "central_sector", "district", "sector", "grassroots")
# Members file an initiative with their grassroots union or the union directly above it;
# the federations above only aggregate.
SUBMITTING_LEVELS = frozenset({"district", "sector", "grassroots"})
COLUMNS = ("code", "name", "level", "parent_code", "cluster")


@dataclass(frozen=True, slots=True)
class Union:
    """One union of the tree."""

    code: str
    name: str
    level: str
    parent_code: str | None
    cluster: str | None
    closed: bool = False  # dissolved: it takes no more submissions, what it counted stays
    merged_into: str | None = None  # closed by merging into this union

    @property
    def accepts_submissions(self) -> bool:
        """Whether members may file initiatives with this union."""
        return self.level in SUBMITTING_LEVELS and not self.closed


class UnionTree:
    """The validated tree, with ancestor paths computed once."""

    def __init__(self, unions: Iterable[Union]) -> None:
        self._unions: dict[str, Union] = {u.code: u for u in unions}
        self._paths: dict[str, tuple[str, ...]] = {}
        self._children: dict[str, list[str]] = {}
        for union in self._unions.values():
            if union.parent_code is not None:
                self._children.setdefault(union.parent_code, []).append(union.code)

    def __contains__(self, code: object) -> bool:
        return code in self._unions

    def __len__(self) -> int:
        return len(self._unions)

    def __iter__(self) -> Iterator[Union]:
        return iter(self._unions.values())

    def __getitem__(self, code: str) -> Union:
        return self._unions[code]

    @property
    def root(self) -> Union:
        """The national union, the one without a parent."""
        return next(u for u in self._unions.values() if u.parent_code is None)

    def get(self, code: str) -> Union | None:
        """The union with ``code``, or None."""
        return self._unions.get(code)

    def children(self, code: str) -> list[str]:
        """Codes of the unions directly below ``code``."""
        return self._children.get(code, [])

    def path(self, code: str) -> tuple[str, ...]:
        """Codes from the national node down to ``code`` inclusive."""
        cached = self._paths.get(code)
        if cached is not None:
            return cached
        union = self._unions[code]
        path = (code,) if union.parent_code is None else (*self.path(union.parent_code), code)
        self._paths[code] = path
        return path

    def is_within(self, code: str, ancestor: str) -> bool:
        """Whether ``code`` is ``ancestor`` or lies in its subtree."""
        return code in self._unions and ancestor in self.path(code)


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def read_union_rows(path: Path) -> Iterator[tuple[int, Union]]:
    """Rows of a union file with their line numbers; a malformed row is an error naming it."""
    with _open_text(path) as handle:
        reader = csv.DictReader(handle)
        missing = set(COLUMNS[:4]) - set(reader.fieldnames or ())
        if missing:
            raise ReferenceDataError(f"{path}:1: missing columns {sorted(missing)}")
        for row in reader:
            line = reader.line_num
            code = (row.get("code") or "").strip()
            level = (row.get("level") or "").strip()
            if not code:
                raise ReferenceDataError(f"{path}:{line}: empty code")
            if level not in LEVELS:
                raise ReferenceDataError(f"{path}:{line}: unknown level {level!r} for {code}")
            yield (
                line,
                Union(
                    code=code,
                    name=(row.get("name") or "").strip(),
                    level=level,
                    parent_code=(row.get("parent_code") or "").strip() or None,
                    cluster=(row.get("cluster") or "").strip() or None,
                ),
            )


def load_union_tree(paths: Iterable[Path]) -> UnionTree:
    """Load and validate the tree: one root, no duplicate code, known parents, no cycle."""
    seen: dict[str, tuple[Path, int, Union]] = {}
    for path in paths:
        for line, union in read_union_rows(path):
            if union.code in seen:
                first = seen[union.code]
                raise ReferenceDataError(
                    f"{path}:{line}: duplicate code {union.code!r} (first at {first[0]}:{first[1]})"
                )
            seen[union.code] = (path, line, union)
    roots = [where for where in seen.values() if where[2].parent_code is None]
    if len(roots) != 1:
        named = ", ".join(f"{p}:{n}" for p, n, _ in roots) or "none"
        raise ReferenceDataError(f"the tree needs exactly one root, found: {named}")
    for path, line, union in seen.values():
        if union.parent_code is not None and union.parent_code not in seen:
            raise ReferenceDataError(
                f"{path}:{line}: unknown parent {union.parent_code!r} of {union.code!r}"
            )
    _reject_cycles(seen)
    return UnionTree(u for _, _, u in seen.values())


def _reject_cycles(seen: dict[str, tuple[Path, int, Union]]) -> None:
    reaches_root: set[str] = set()
    for start in seen:
        trail: list[str] = []
        code: str | None = start
        while code is not None and code not in reaches_root:
            if code in trail:
                path, line, _ = seen[code]
                cycle = " → ".join([*trail[trail.index(code) :], code])
                raise ReferenceDataError(f"{path}:{line}: cycle {cycle}")
            trail.append(code)
            code = seen[code][2].parent_code
        reaches_root.update(trail)
