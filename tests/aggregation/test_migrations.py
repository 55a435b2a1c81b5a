"""Migration 0002 rebuilds the SQLite counter tables clustered by key, keeping their rows."""

from __future__ import annotations

from pathlib import Path

from services.aggregation.context import MIGRATIONS
from shared.db import make_engine, migrate

CLUSTERED = ("submissions", "tallies", "daily", "author_tallies", "dirty")


async def test_counter_tables_become_without_rowid_and_keep_their_rows(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'aggregation.sqlite3'}")
    try:
        await migrate(engine, MIGRATIONS, "0001")
        async with engine.begin() as connection:
            await connection.exec_driver_sql(
                "INSERT INTO daily (union_code, local_date, counted) VALUES ('vn', '2026-03-01', 7)"
            )
        await migrate(engine, MIGRATIONS)
        async with engine.begin() as connection:
            found = await connection.exec_driver_sql(
                "SELECT name, sql FROM sqlite_master WHERE type = 'table'"
            )
            definitions: dict[str, str] = {row.name: row.sql for row in found}
            rows = (await connection.exec_driver_sql("SELECT * FROM daily")).all()
    finally:
        await engine.dispose()
    for table in CLUSTERED:
        assert definitions[table].endswith("WITHOUT ROWID"), table
        assert f"{table}_with_rowid" not in definitions
    assert [tuple(row) for row in rows] == [("vn", "2026-03-01", 7)]
