"""Exports of a union subtree's submissions for a federation's report, as CSV or XLSX.

Rows are read in keyset-paged chunks (by union path, then filing time), each in its own short
session, so neither the database nor this process ever holds the whole export: CSV goes out to the
client chunk by chunk; XLSX is written by xlsxwriter in constant-memory mode to a temporary file
(a zip needs its directory at the end) in a worker thread, then streamed from that file.

Every text a submitter typed is written as text, never as something a spreadsheet acts on: in
XLSX as a string cell (xlsxwriter would otherwise turn "=…" into a formula and "http://…" into a
live link); in CSV with a leading apostrophe when it begins like a formula (``= + - @``, tab or
carriage return), as OWASP advises, since spreadsheets evaluate such cells on opening. An XLSX
sheet holds at most 1,048,575 rows under its header: a larger export continues on further
sheets ("Hà Nội (2)", …) rather than losing rows.
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
XLSX_MAX_ROWS = 1_048_575  # data rows per sheet: Excel's 1,048,576 rows, less the header
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

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


def csv_cell(value: Any) -> Any:
    """A value as a CSV cell: dates as ISO text, text that a spreadsheet would evaluate
    neutralised with a leading apostrophe."""
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


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
        writer.writerows([[csv_cell(v) for v in row] for row in chunk])
        yield buffer.getvalue().encode()


class _Workbook:
    """An export's sheets, written row by row in constant memory, a new sheet when one is full."""

    def __init__(self, path: Path, title: str, header: list[str], max_rows: int) -> None:
        # Belt and braces: no string is ever read as a formula, a link or a number.
        options = {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
        }
        self.book = xlsxwriter.Workbook(str(path), options)
        self.title = title
        self.header = header
        self.max_rows = max_rows
        self.date_format = self.book.add_format({"num_format": "yyyy-mm-dd"})
        self.time_format = self.book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
        self.bold = self.book.add_format({"bold": True})
        self.rows = 0
        self.sheets = 0
        self._new_sheet()

    def _new_sheet(self) -> None:
        self.sheets += 1
        suffix = f" ({self.sheets})" if self.sheets > 1 else ""
        # Excel limits a sheet's name to 31 characters.
        self.sheet = self.book.add_worksheet(self.title[: 31 - len(suffix)] + suffix)
        self.sheet.write_row(0, 0, self.header, self.bold)
        self.sheet.freeze_panes(1, 0)
        self.next_row = 1

    def write(self, chunk: list[list[Any]]) -> None:
        for row in chunk:
            if self.next_row > self.max_rows:
                self._new_sheet()
            for col, value in enumerate(row):
                self._cell(col, value)
            self.next_row += 1
            self.rows += 1

    def _cell(self, col: int, value: Any) -> None:
        at = (self.next_row, col)
        if value is None:
            return
        if isinstance(value, datetime):
            # Excel has no time zones: a report reads Vietnamese local time.
            local = value.astimezone(LOCAL_ZONE).replace(tzinfo=None)
            self.sheet.write_datetime(*at, local, self.time_format)
        elif isinstance(value, date):
            self.sheet.write_datetime(*at, value, self.date_format)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            self.sheet.write_number(*at, value)
        else:
            self.sheet.write_string(*at, str(value))


async def write_xlsx(
    chunks: AsyncIterator[list[list[Any]]],
    header: list[str],
    path: Path,
    title: str,
    max_rows: int = XLSX_MAX_ROWS,
) -> int:
    """Write the export to ``path`` as XLSX (further sheets past ``max_rows`` rows each), off
    the event loop; returns the number of rows."""
    book = await asyncio.to_thread(_Workbook, path, title, header, max_rows)
    async for chunk in chunks:
        await asyncio.to_thread(book.write, chunk)
    await asyncio.to_thread(book.book.close)
    return book.rows


async def file_stream(path: Path, block: int = 1 << 16) -> AsyncIterator[bytes]:
    """A file's bytes, a block at a time, read off the event loop."""
    with path.open("rb") as handle:
        while data := await asyncio.to_thread(handle.read, block):
            yield data
