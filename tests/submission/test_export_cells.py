"""What an export cell holds: text that no spreadsheet evaluates, and every row however many."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import openpyxl
import pytest

from services.submission.exports import csv_cell, write_xlsx


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("=1+1", "'=1+1"),
        ("+84 912", "'+84 912"),
        ("-giảm 30%", "'-giảm 30%"),
        ("@cmd", "'@cmd"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("Cải tiến = tốt hơn", "Cải tiến = tốt hơn"),
        (-5, -5),
        (None, None),
    ],
)
def test_csv_cells_that_a_spreadsheet_would_evaluate_are_neutralised(
    value: object, cell: object
) -> None:
    assert csv_cell(value) == cell


async def test_an_export_longer_than_a_sheet_continues_on_further_sheets(tmp_path: Path) -> None:
    async def chunks() -> AsyncIterator[list[list[object]]]:
        for start in (0, 4):
            yield [[f"row {n}", n] for n in range(start, min(start + 4, 7))]

    path = tmp_path / "export.xlsx"
    written = await write_xlsx(chunks(), ["name", "n"], path, "Liên đoàn Lao động Hà Nội", 3)
    book = openpyxl.load_workbook(path, read_only=True)
    sheets = {sheet.title: [row for row in sheet.iter_rows(values_only=True)] for sheet in book}
    assert written == 7
    assert list(sheets) == [
        "Liên đoàn Lao động Hà Nội",
        "Liên đoàn Lao động Hà Nội (2)",
        "Liên đoàn Lao động Hà Nội (3)",
    ]
    assert all(rows[0] == ("name", "n") for rows in sheets.values())
    assert [row[1] for rows in sheets.values() for row in rows[1:]] == list(range(7))
