"""Importing a whole union tree: the diff against the current tree (pure), refusals that name
each union, and the command's dry run and apply on a real database."""

from __future__ import annotations

import asyncio
import csv
import gzip
from pathlib import Path

import pytest
from typer.testing import CliRunner

from services.submission.__main__ import cli
from services.submission.tree_import import tree_changes
from shared.db import make_engine, make_sessionmaker
from shared.reference.changes import ChangeRefused
from shared.reference.live import stored_changes
from shared.reference.unions import Union, UnionTree
from shared.settings import REPO_ROOT

REFERENCE = REPO_ROOT / "reference"

CURRENT = UnionTree(
    [
        Union("vn", "Tổng LĐLĐ", "national", None, None),
        Union("p", "LĐLĐ tỉnh P", "province", "vn", None),
        Union("p.d", "LĐLĐ huyện D", "district", "p", None),
        Union("p.d.a", "CĐCS A", "grassroots", "p.d", "c"),
        Union("p.d.b", "CĐCS B", "grassroots", "p.d", "c"),
        Union("p.s", "CĐ ngành S", "sector", "p", None),
    ]
)


def tree(*changes: tuple[str, Union | None]) -> UnionTree:
    unions = {u.code: u for u in CURRENT}
    for code, union in changes:
        if union is None:
            del unions[code]
        else:
            unions[code] = union
    return UnionTree(unions.values())


def test_the_diff_adds_parents_first_renames_and_closes_children_first() -> None:
    wanted = tree(
        ("p.d2.x", Union("p.d2.x", "CĐCS X", "grassroots", "p.d2", None)),
        ("p.d2", Union("p.d2", "LĐLĐ huyện D2", "district", "p", None)),
        ("p.d.a", Union("p.d.a", "CĐCS A (tên mới)", "grassroots", "p.d", "c")),
        ("p.s", None),
    )
    changes = tree_changes(CURRENT, wanted)
    assert [(c.kind, c.model_dump().get("code")) for c in changes] == [
        ("union_added", "p.d2"),
        ("union_added", "p.d2.x"),
        ("union_renamed", "p.d.a"),
        ("union_closed", "p.s"),
    ]
    assert tree_changes(CURRENT, CURRENT) == []


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (("p.d.a", Union("p.d.a", "CĐCS A", "grassroots", "p.s", "c")), "moves from p.d to p.s"),
        (("p.d.a", Union("p.d.a", "CĐCS A", "sector", "p.d", "c")), "level grassroots becomes"),
        (("p.d.a", Union("p.d.a", "CĐCS A", "grassroots", "p.d", "k")), "cluster c becomes k"),
        (("p.x", Union("p.x", "X", "grassroots", "vn", None)), "a grassroots union below a nat"),
    ],
)
def test_what_an_import_cannot_decide_is_refused_naming_the_union(
    edit: tuple[str, Union], reason: str
) -> None:
    with pytest.raises(ChangeRefused, match=reason):
        tree_changes(CURRENT, tree(edit))


def write_tree(
    path: Path, drop: str | None = None, rename: str | None = None, add: list[str] | None = None
) -> None:
    """The repository's whole tree as one CSV file, with one union dropped, one renamed and
    one added."""
    top = (REFERENCE / "unions_top.csv").read_text(encoding="utf-8").splitlines()
    lower = gzip.decompress((REFERENCE / "unions_lower.csv.gz").read_bytes()).decode()
    header, *rows = list(csv.reader([*top, *lower.splitlines()[1:]]))
    kept = [[r[0], "Tên mới", *r[2:]] if r[0] == rename else r for r in rows if r[0] != drop]
    with open(path, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows([header, *kept, *([add] if add else [])])


def test_the_command_shows_the_diff_then_applies_it_as_versions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / "submission.sqlite3"
    monkeypatch.setenv("SANGKIEN_DATABASE_URL", f"sqlite+aiosqlite:///{database}")
    monkeypatch.setenv("SANGKIEN_DEVELOPMENT", "true")
    district = "ldld-lai-chau.h01"
    new = [f"{district}.moi01", "CĐCS Công ty Mới", "grassroots", district, ""]
    wanted = tmp_path / "tree.csv"
    write_tree(wanted, drop=f"{district}.cs0002", rename=f"{district}.cs0003", add=new)
    runner = CliRunner()
    command = ["reference", "import", str(wanted), "--reason", "Cập nhật tháng 11"]

    shown = runner.invoke(cli, command)
    assert shown.exit_code == 0, shown.output
    assert "1 union(s) to add, 1 to rename, 1 to close" in shown.output
    assert "dry run: nothing changed" in shown.output
    assert asyncio.run(kept_versions(database)) == []

    applied = runner.invoke(cli, [*command, "--apply"])
    assert applied.exit_code == 0, applied.output
    assert "applied as versions 1 to 3" in applied.output
    assert asyncio.run(kept_versions(database)) == [
        (1, "union_added"),
        (2, "union_renamed"),
        (3, "union_closed"),
    ]
    again = runner.invoke(cli, command)
    assert "version 3: 0 union(s) to add, 0 to rename, 0 to close" in again.output

    original = tmp_path / "original.csv"
    write_tree(original)
    back = runner.invoke(cli, ["reference", "import", str(original), "--reason", "x"])
    assert back.exit_code == 2
    assert "closed, it cannot come back" in " ".join(back.output.split())


async def kept_versions(database: Path) -> list[tuple[int, str]]:
    engine = make_engine(f"sqlite+aiosqlite:///{database}")
    try:
        async with make_sessionmaker(engine)() as session:
            return [(e.version, e.change.kind) for e in await stored_changes(session, 0)]
    finally:
        await engine.dispose()
