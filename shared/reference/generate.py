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

from shared.reference.calendar import Program, load_program
from shared.reference.catalog import PROGRAM_FILE, TARGET_FILES, UNION_FILES
from shared.reference.targets import PROGRAM_SCOPE, Target, load_targets
from shared.reference.unions import COLUMNS, Union, UnionTree, read_union_rows
from shared.settings import REPO_ROOT

SEED = 20210901
GRASSROOTS_TOTAL = 130_000
CENTRAL_SHARE = 0.12
# Unions given program targets by the generator; the first two get phase targets too.
TARGETED_LEVELS = frozenset({"province", "central_sector", "district"})
PHASED_LEVELS = frozenset({"province", "central_sector"})

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


def apportion(total: int, weights: list[int]) -> list[int]:
    """Share ``total`` among ``weights`` exactly, in whole numbers (largest remainders, ties to
    the first), at least one each; a total below the number of shares still gives each one."""
    if not any(weights):
        weights = [1] * len(weights)
    spare, scale = max(total - len(weights), 0), sum(weights)
    shares = [spare * w // scale for w in weights]
    by_remainder = sorted(range(len(weights)), key=lambda i: (-(spare * weights[i] % scale), i))
    for i in by_remainder[: spare - sum(shares)]:
        shares[i] += 1
    return [1 + share for share in shares]


def generate_targets(
    top: list[Union], lower: list[Union], known: dict[tuple[str, str], Target], program: Program
) -> list[tuple[str, str, int]]:
    """Program targets for provinces, central sectors and districts, and phase targets for the
    first two, that agree with the known ones (``shared.reference.consistency``): each union's
    effective program target is shared among its targeted children by size (the known ones
    kept), and their phase targets follow (``_phase_targets``)."""
    units = [*top, *lower]
    parents = {u.code: u.parent_code for u in units}
    grassroots_below: Counter[str] = Counter()
    for unit in lower:
        if unit.level == "grassroots":
            code = unit.parent_code
            while code is not None:
                grassroots_below[code] += 1
                code = parents[code]
    children: dict[str, list[Union]] = {}
    for unit in units:
        if unit.parent_code is not None and unit.level in TARGETED_LEVELS:
            children.setdefault(unit.parent_code, []).append(unit)
    assigned = {code: t.assigned for (code, scope), t in known.items() if scope == PROGRAM_SCOPE}
    effective = {code: t.effective for (code, scope), t in known.items() if scope == PROGRAM_SCOPE}
    generated: dict[tuple[str, str], int] = {}
    for unit in units:  # the file lists every union after its parent
        below = children.get(unit.code, [])
        if unit.code not in effective or not below:
            continue
        fixed = sum(assigned[c.code] for c in below if c.code in assigned)
        rest = [c for c in below if c.code not in assigned]
        weights = [grassroots_below[c.code] for c in rest]
        for child, share in zip(
            rest, apportion(effective[unit.code] - fixed, weights), strict=True
        ):
            generated[(child.code, PROGRAM_SCOPE)] = assigned[child.code] = share
            effective[child.code] = share
    generated |= _phase_targets(units, children, known, assigned, program)
    scopes = [PROGRAM_SCOPE, *(p.code for p in program.phases)]
    return [
        (unit.code, scope, generated[(unit.code, scope)])
        for unit in units
        for scope in scopes
        if (unit.code, scope) in generated
    ]


def _phase_targets(
    units: list[Union],
    children: dict[str, list[Union]],
    known: dict[tuple[str, str], Target],
    assigned: dict[str, int],
    program: Program,
) -> dict[tuple[str, str], int]:
    """Phase targets for the phased children of every union: a phase's target of the parent
    (else the national plan's share of their program targets) is shared among the children by
    their program targets, the known ones kept; each child's last open phase takes what its
    program target leaves, so its phases add up to it."""
    generated: dict[tuple[str, str], int] = {}
    for parent in units:
        kids = [c for c in children.get(parent.code, []) if c.level in PHASED_LEVELS]
        if not kids:
            continue
        total = sum(assigned[c.code] for c in kids)
        open_phases = {
            c.code: [p.code for p in program.phases if (c.code, p.code) not in known] for c in kids
        }
        for phase in program.phases:
            own = known.get((parent.code, phase.code))
            whole = (
                own.assigned
                if own is not None
                else round(total * phase.national_target / program.national_target)
            )
            fixed = sum(
                known[(c.code, phase.code)].assigned for c in kids if (c.code, phase.code) in known
            )
            takers = [c for c in kids if open_phases[c.code][-1:] == [phase.code]]
            for child in takers:
                earlier = sum(
                    known[key].assigned if key in known else generated[key]
                    for p in program.phases
                    if (key := (child.code, p.code)) != (child.code, phase.code)
                )
                generated[(child.code, phase.code)] = assigned[child.code] - earlier
            sharing = [c for c in kids if phase.code in open_phases[c.code][:-1]]
            left = whole - fixed - sum(generated[(c.code, phase.code)] for c in takers)
            weights = [assigned[c.code] for c in sharing]
            for child, share in zip(sharing, apportion(left, weights), strict=True):
                generated[(child.code, phase.code)] = share
    return generated


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
    program = load_program(folder / PROGRAM_FILE)
    known = load_targets([folder / TARGET_FILES[0]], UnionTree([*top, *lower]), program)
    return render_lower_tree(lower), render_targets(generate_targets(top, lower, known, program))


def main(folder: Path = REPO_ROOT / "reference", seed: int = SEED) -> None:
    """Rewrite the generated reference files in ``folder``."""
    tree, targets = build(folder, seed)
    (folder / UNION_FILES[1]).write_bytes(tree)
    (folder / TARGET_FILES[1]).write_text(targets, encoding="utf-8")
    typer.echo(f"wrote {folder / UNION_FILES[1]} and {folder / TARGET_FILES[1]}")


if __name__ == "__main__":
    typer.run(main)
