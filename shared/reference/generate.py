"""Generate the lower union tree and its targets, deterministically from a seed.

The curated top of the tree (``unions_top.csv``) names the national node, the 63 provincial
federations and the central sector unions. Below them this generator grows a tree of realistic
size: district federations and provincial sector unions, then about 130,000 grassroots unions
(enterprises, schools, hospitals, communes), each grouped into an emulation cluster.

    python -m shared.reference.generate            # rewrite the files in reference/
"""

from __future__ import annotations

import csv
import gzip
import io
import random
from collections import Counter
from pathlib import Path

import typer

from shared.reference.catalog import TARGET_FILES, UNION_FILES
from shared.reference.unions import COLUMNS, Union, read_union_rows
from shared.settings import REPO_ROOT

SEED = 20210901
GRASSROOTS_TOTAL = 130_000
CENTRAL_SHARE = 0.12
INITIATIVES_PER_GRASSROOTS = 7.7  # ≈ 1,000,000 national target / 130,000 grassroots unions

PLACE = [
    "An",
    "Bình",
    "Hòa",
    "Phú",
    "Thạnh",
    "Tân",
    "Long",
    "Hưng",
    "Đông",
    "Tây",
    "Nam",
    "Bắc",
    "Xuân",
    "Thuận",
    "Lộc",
    "Phước",
    "Sơn",
    "Thủy",
    "Minh",
    "Quang",
    "Trung",
    "Vĩnh",
    "Hải",
    "Lâm",
    "Thành",
    "Gia",
    "Kim",
    "Ngọc",
    "Hồng",
    "Mỹ",
    "Hiệp",
    "Khánh",
    "Định",
    "Yên",
    "Cẩm",
    "Đức",
    "Thái",
    "Hà",
    "Lạc",
]
INDUSTRY = [
    "Dệt may",
    "Cơ khí",
    "Xây dựng",
    "Điện tử",
    "Thực phẩm",
    "Vận tải",
    "Thương mại",
    "Dược phẩm",
    "Giày da",
    "Nhựa",
    "Thép",
    "Chế biến gỗ",
    "Bao bì",
    "Chế biến thủy sản",
    "Logistics",
    "Phần mềm",
    "Cao su",
    "Xi măng",
    "Điện lực",
    "May mặc",
]
COMPANY_FORM = ("Công ty TNHH", "Công ty Cổ phần", "Công ty TNHH MTV")
PUBLIC_UNITS = (
    "Trường Mầm non",
    "Trường Tiểu học",
    "Trường THCS",
    "Trường THPT",
    "Trạm Y tế",
    "Bệnh viện Đa khoa",
    "Ủy ban nhân dân xã",
    "Ủy ban nhân dân phường",
)
DISTRICT_KIND = ("huyện", "quận", "thị xã", "thành phố")
PROVINCE_SECTORS = (
    ("kcn", "Công đoàn các Khu công nghiệp"),
    ("cdvc", "Công đoàn Viên chức"),
    ("gd", "Công đoàn ngành Giáo dục"),
    ("yt", "Công đoàn ngành Y tế"),
)
HEAVY = {
    "ldld-ho-chi-minh": 14.0,
    "ldld-ha-noi": 11.0,
    "ldld-binh-duong": 6.0,
    "ldld-dong-nai": 5.0,
}


def _place(rng: random.Random) -> str:
    return f"{rng.choice(PLACE)} {rng.choice(PLACE)}"


def _grassroots(rng: random.Random, parent: str, count: int) -> list[Union]:
    units = []
    for index in range(1, count + 1):
        if rng.random() < 0.6:
            name = (
                f"Công đoàn cơ sở {rng.choice(COMPANY_FORM)} {rng.choice(INDUSTRY)} {_place(rng)}"
            )
            cluster = f"{parent}.cum-doanh-nghiep"
        else:
            name = f"Công đoàn cơ sở {rng.choice(PUBLIC_UNITS)} {_place(rng)}"
            cluster = f"{parent}.cum-hanh-chinh-su-nghiep"
        units.append(Union(f"{parent}.cs{index:04d}", name, "grassroots", parent, cluster))
    return units


def _below(
    rng: random.Random, middles: list[Union], grassroots: int, existing: set[str]
) -> list[Union]:
    """The new middle unions and ``grassroots`` grassroots unions shared out below them."""
    grown = [m for m in middles if m.code not in existing]
    for middle, count in zip(middles, _split(rng, grassroots, [1.0] * len(middles)), strict=True):
        grown.extend(_grassroots(rng, middle.code, count))
    return grown


def _split(rng: random.Random, total: int, weights: list[float]) -> list[int]:
    """Share ``total`` among ``weights``; every share gets at least one."""
    scale = sum(weights)
    return [max(1, round(total * w / scale * rng.uniform(0.85, 1.15))) for w in weights]


def generate_lower_tree(top: list[Union], seed: int = SEED) -> list[Union]:
    """The generated part of the tree below the curated top."""
    rng = random.Random(seed)
    existing = {u.code for u in top}
    lower: list[Union] = []
    provinces = [u for u in top if u.level == "province"]
    weights = [HEAVY.get(p.code, rng.uniform(0.6, 2.4)) for p in provinces]
    per_province = _split(rng, round(GRASSROOTS_TOTAL * (1 - CENTRAL_SHARE)), weights)
    for province, grassroots in zip(provinces, per_province, strict=True):
        middles: list[Union] = [u for u in top if u.parent_code == province.code]
        for suffix, label in PROVINCE_SECTORS[: rng.randint(2, 4)]:
            code = f"{province.code}.{suffix}"
            if code not in existing:
                middles.append(
                    Union(
                        code,
                        f"{label} {province.name.split(' ', 4)[-1]}",
                        "sector",
                        province.code,
                        f"{province.code}.cum-nganh",
                    )
                )
        for index in range(1, max(6, grassroots // 180) + 1):
            middles.append(
                Union(
                    f"{province.code}.h{index:02d}",
                    f"Liên đoàn Lao động {rng.choice(DISTRICT_KIND)} {_place(rng)}",
                    "district",
                    province.code,
                    f"{province.code}.cum-huyen",
                )
            )
        lower.extend(_below(rng, middles, grassroots, existing))
    centrals = [u for u in top if u.level == "central_sector"]
    per_central = _split(rng, round(GRASSROOTS_TOTAL * CENTRAL_SHARE), [1.0] * len(centrals))
    for central, grassroots in zip(centrals, per_central, strict=True):
        middles = [u for u in top if u.parent_code == central.code]
        for index in range(1, rng.randint(3, 8) + 1):
            middles.append(
                Union(
                    f"{central.code}.tct{index:02d}",
                    f"Công đoàn Tổng Công ty {rng.choice(INDUSTRY)} {_place(rng)}",
                    "sector",
                    central.code,
                    f"{central.code}.cum-tong-cong-ty",
                )
            )
        lower.extend(_below(rng, middles, grassroots, existing))
    return lower


def generate_targets(
    top: list[Union], lower: list[Union], known: set[tuple[str, str]]
) -> list[tuple[str, str, int]]:
    """Program and phase targets for provinces, central sectors and districts, from their size."""
    parents = {u.code: u.parent_code for u in (*top, *lower)}
    grassroots_below: Counter[str] = Counter()
    for unit in lower:
        if unit.level == "grassroots":
            code = unit.parent_code
            while code is not None:
                grassroots_below[code] += 1
                code = parents[code]
    rows: list[tuple[str, str, int]] = []
    for unit in (*top, *lower):
        if unit.level not in {"province", "central_sector", "district"}:
            continue
        program = max(10, int(round(grassroots_below[unit.code] * INITIATIVES_PER_GRASSROOTS, -1)))
        shares = {
            "program": program,
            "phase-1": round(program * 0.3),
            "phase-2": round(program * 0.7),
        }
        if unit.level == "district":
            shares = {"program": program}
        rows.extend(
            (unit.code, scope, max(1, value))
            for scope, value in shares.items()
            if (unit.code, scope) not in known
        )
    return rows


def render_lower_tree(lower: list[Union]) -> bytes:
    """The lower tree as gzip'd CSV, byte-for-byte reproducible."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(COLUMNS)
    for unit in lower:
        writer.writerow(
            [unit.code, unit.name, unit.level, unit.parent_code or "", unit.cluster or ""]
        )
    return gzip.compress(text.getvalue().encode("utf-8"), mtime=0)


def render_targets(rows: list[tuple[str, str, int]]) -> str:
    """Generated targets as CSV text."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["union_code", "scope", "assigned", "self_set"])
    writer.writerows((code, scope, value, "") for code, scope, value in rows)
    return text.getvalue()


def build(folder: Path, seed: int = SEED) -> tuple[bytes, str]:
    """Both generated files' contents, from the curated files in ``folder``."""
    top = [u for _, u in read_union_rows(folder / UNION_FILES[0])]
    lower = generate_lower_tree(top, seed)
    with open(folder / TARGET_FILES[0], encoding="utf-8", newline="") as handle:
        known = {(r["union_code"], r["scope"]) for r in csv.DictReader(handle)}
    return render_lower_tree(lower), render_targets(generate_targets(top, lower, known))


def main(folder: Path = REPO_ROOT / "reference", seed: int = SEED) -> None:
    """Rewrite the generated reference files in ``folder``."""
    tree, targets = build(folder, seed)
    (folder / UNION_FILES[1]).write_bytes(tree)
    (folder / TARGET_FILES[1]).write_text(targets, encoding="utf-8")
    typer.echo(f"wrote {folder / UNION_FILES[1]} and {folder / TARGET_FILES[1]}")


if __name__ == "__main__":
    typer.run(main)
