"""Reference data: the committed files load; broken files fail naming the line."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from shared.reference import ReferenceDataError
from shared.reference.calendar import load_program, local_date
from shared.reference.catalog import load_reference
from shared.reference.generate import build
from shared.reference.unions import load_union_tree
from shared.settings import REPO_ROOT

REFERENCE = REPO_ROOT / "reference"
HEADER = "code,name,level,parent_code,cluster\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_committed_reference_data_loads() -> None:
    reference = load_reference(REFERENCE)
    grassroots = [u for u in reference.tree if u.level == "grassroots"]
    assert 120_000 <= len(grassroots) <= 140_000
    assert reference.tree.path("ldld-lai-chau-cdvc") == (
        "vn",
        "ldld-lai-chau",
        "ldld-lai-chau-cdvc",
    )
    assert reference.targets[("ldld-ha-noi", "program")].effective == 130_000
    assert reference.targets[("vn", "program")].assigned == 1_000_000
    assert all(u.cluster for u in grassroots)
    assert [p.code for p in reference.program.phases] == ["phase-1", "phase-2"]


def test_generated_files_are_reproducible() -> None:
    tree, targets = build(REFERENCE)
    assert gzip.decompress(tree) == gzip.decompress(
        (REFERENCE / "unions_lower.csv.gz").read_bytes()
    )
    assert targets == (REFERENCE / "targets_generated.csv").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("vn,N,national,,\na,A,province,zz,\n", "unions.csv:3: unknown parent 'zz'"),
        (
            "vn,N,national,,\na,A,province,vn,\na,B,district,a,\n",
            "unions.csv:4: duplicate code 'a'",
        ),
        ("vn,N,national,,\na,A,province,b,\nb,B,district,a,\n", "cycle"),
        ("vn,N,national,,\na,A,county,vn,\n", "unions.csv:3: unknown level 'county'"),
        ("vn,N,national,,\nx,X,national,,\n", "exactly one root"),
    ],
)
def test_broken_union_files_name_the_problem(tmp_path: Path, rows: str, message: str) -> None:
    path = write(tmp_path, "unions.csv", HEADER + rows)
    with pytest.raises(ReferenceDataError, match=message.replace("(", r"\(")):
        load_union_tree([path])


CALENDAR = """code: p
name: P
national_target: 10
phases:
  - code: a
    name: A
    starts_on: 2021-09-01
    ends_on: {a_end}
    national_target: 5
  - code: b
    name: B
    starts_on: 2022-06-01
    ends_on: 2023-09-01
    national_target: 5
"""


def test_overlapping_phases_are_refused_with_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "program.yaml", CALENDAR.format(a_end="2022-06-15"))
    with pytest.raises(ReferenceDataError, match=r"program.yaml:10: phase b overlaps phase a"):
        load_program(path)


def test_phase_lookup_uses_the_local_date(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    program = load_program(write(tmp_path, "program.yaml", CALENDAR.format(a_end="2022-05-31")))
    # 2022-05-31 17:30 UTC is 2022-06-01 00:30 in Hà Nội: phase b, not a.
    moment = datetime(2022, 5, 31, 17, 30, tzinfo=UTC)
    assert local_date(moment).isoformat() == "2022-06-01"
    assert program.phase_on(local_date(moment)).code == "b"  # type: ignore[union-attr]
    assert program.phase_on(local_date(datetime(2022, 5, 31, 16, 30, tzinfo=UTC))).code == "a"  # type: ignore[union-attr]
    assert program.phase_on(local_date(datetime(2021, 8, 31, 16, 59, tzinfo=UTC))) is None
