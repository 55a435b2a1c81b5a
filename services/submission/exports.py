"""Exports of a union subtree's submissions for a federation's report, as CSV or XLSX.

Rows are read in keyset-paged chunks (by union path, then filing time), each in its own short
session, so neither the database nor this process ever holds the whole export: CSV goes out to the
client chunk by chunk; XLSX is written by xlsxwriter in constant-memory mode to a temporary file
(a zip needs its directory at the end) in a worker thread, then streamed from that file.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import xlsxwriter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.submission.store import in_subtree, submissions
from shared.reference.calendar import LOCAL_ZONE
from shared.reference.unions import UnionTree

CHUNK_ROWS = 2000
PATH_SEPARATOR = " › "

Column = tuple[str, Callable[[sa.Row], Any]]

REPORT_COLUMNS: tuple[Column, ...] = (
    ("submission_id", lambda r: r.id),
    ("client_key", lambda r: r.client_key),
    ("union_code", lambda r: r.union_code),
    ("title", lambda r: r.title),
    ("field", lambda r: r.field),
    ("benefit_vnd", lambda r: r.benefit_vnd),
    ("recognition_kind", lambda r: r.recognition_kind),
    ("decision_number", lambda r: r.decision_number),
    ("decision_date", lambda r: r.decision_date),
    ("phase", lambda r: r.phase),
    ("submitted_on", lambda r: r.local_date),
    ("verdict", lambda r: r.verdict),
    ("verdict_score", lambda r: r.verdict_score),
    ("best_match_id", lambda r: r.best_match_id),
    ("review_state", lambda r: r.review_state),
    ("reviewed_at", lambda r: r.reviewed_at),
    ("author_name", lambda r: r.author_name),
)
CONTACT_COLUMNS: tuple[Column, ...] = (
    ("author_member_id", lambda r: r.author_member_id),
    ("author_phone", lambda r: r.author_phone),
    ("author_email", lambda r: r.author_email),
)


@dataclass(frozen=True)
class ExportScope:
    """What to export: a subtree, a phase (None: the whole program), with contacts or not."""

    path: Sequence[str]
    phase: str | None
    with_contacts: bool


class UnionNames:
    """Names of unions and of their paths, worked out once per union."""

    def __init__(self, tree: UnionTree) -> None:
        self._tree = tree
        self._paths: dict[str, str] = {}

    def name(self, code: str) -> str:
        """The union's name, or its code when the reference no longer knows it."""
        union = self._tree.get(code)
        return union.name if union is not None else code

    def path(self, code: str) -> str:
        """Names from the national node down to the union, joined by " › "."""
        names = self._paths.get(code)
        if names is None:
            codes = self._tree.path(code) if code in self._tree else (code,)
            names = self._paths[code] = PATH_SEPARATOR.join(self.name(c) for c in codes)
        return names


def headers(scope: ExportScope) -> list[str]:
    """Column names of an export, in order."""
    columns = _columns(scope)
    return ["union_path", "union_name", *(name for name, _ in columns)]


def _columns(scope: ExportScope) -> tuple[Column, ...]:
    return REPORT_COLUMNS + CONTACT_COLUMNS if scope.with_contacts else REPORT_COLUMNS


async def export_chunks(
    sessions: async_sessionmaker[AsyncSession],
    tree: UnionTree,
    scope: ExportScope,
    chunk_rows: int = CHUNK_ROWS,
) -> AsyncIterator[list[list[Any]]]:
    """The export's rows (values in ``headers`` order), a chunk at a time."""
    names = UnionNames(tree)
    columns = _columns(scope)
    conditions = [in_subtree(scope.path)]
    if scope.phase is not None:
        conditions.append(submissions.c.phase == scope.phase)
    order = (submissions.c.union_path, submissions.c.created_at, submissions.c.id)
    last: tuple[Any, ...] | None = None
    while True:
        query = sa.select(submissions).where(*conditions).order_by(*order).limit(chunk_rows)
        if last is not None:
            query = query.where(
                sa.tuple_(*order)
                > sa.tuple_(*(sa.literal(v, c.type) for v, c in zip(last, order, strict=True)))
            )
        async with sessions() as session:
            rows = (await session.execute(query)).all()
        if not rows:
            return
        yield [
            [names.path(r.union_code), names.name(r.union_code), *(get(r) for _, get in columns)]
            for r in rows
        ]
        end = rows[-1]
        last = (end.union_path, end.created_at, end.id)


def _text(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


async def csv_stream(
    chunks: AsyncIterator[list[list[Any]]], header: list[str]
) -> AsyncIterator[bytes]:
    """CSV in UTF-8 with a byte-order mark (Excel reads Vietnamese right), chunk by chunk."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    yield ("\ufeff" + buffer.getvalue()).encode()
    async for chunk in chunks:
        buffer.seek(0)
        buffer.truncate()
        writer.writerows([[_text(v) for v in row] for row in chunk])
        yield buffer.getvalue().encode()


class _Sheet:
    """One worksheet written row by row in constant memory."""

    def __init__(self, path: Path, title: str, header: list[str]) -> None:
        self.book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
        self.sheet = self.book.add_worksheet(title[:31])
        self.date_format = self.book.add_format({"num_format": "yyyy-mm-dd"})
        self.time_format = self.book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
        self.sheet.write_row(0, 0, header, self.book.add_format({"bold": True}))
        self.sheet.freeze_panes(1, 0)
        self.next_row = 1

    def write(self, chunk: list[list[Any]]) -> None:
        for row in chunk:
            for col, value in enumerate(row):
                if isinstance(value, datetime):
                    # Excel has no time zones: a report reads Vietnamese local time.
                    local = value.astimezone(LOCAL_ZONE).replace(tzinfo=None)
                    self.sheet.write_datetime(self.next_row, col, local, self.time_format)
                elif isinstance(value, date):
                    self.sheet.write_datetime(self.next_row, col, value, self.date_format)
                else:
                    self.sheet.write(self.next_row, col, value)
            self.next_row += 1


async def write_xlsx(
    chunks: AsyncIterator[list[list[Any]]], header: list[str], path: Path, title: str
) -> int:
    """Write the export to ``path`` as XLSX, off the event loop; returns the number of rows."""
    sheet = await asyncio.to_thread(_Sheet, path, title, header)
    async for chunk in chunks:
        await asyncio.to_thread(sheet.write, chunk)
    await asyncio.to_thread(sheet.book.close)
    return sheet.next_row - 1


async def file_stream(path: Path, block: int = 1 << 16) -> AsyncIterator[bytes]:
    """A file's bytes, a block at a time, read off the event loop."""
    with path.open("rb") as handle:
        while data := await asyncio.to_thread(handle.read, block):
            yield data
