"""The program calendar: phases by local date in Asia/Ho_Chi_Minh."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from shared.reference import ReferenceDataError

LOCAL_ZONE = ZoneInfo("Asia/Ho_Chi_Minh")


def local_date(moment: datetime) -> date:
    """The campaign's local date of an aware datetime."""
    return moment.astimezone(LOCAL_ZONE).date()


@dataclass(frozen=True, slots=True)
class Phase:
    """A phase (giai đoạn): inclusive local-date range and national target."""

    code: str
    name: str
    starts_on: date
    ends_on: date
    national_target: int


@dataclass(frozen=True, slots=True)
class Program:
    """A campaign and its phases, in date order."""

    code: str
    name: str
    national_target: int
    phases: tuple[Phase, ...]

    @property
    def starts_on(self) -> date:
        """First local date of the program."""
        return self.phases[0].starts_on

    @property
    def ends_on(self) -> date:
        """Last local date of the program."""
        return self.phases[-1].ends_on

    def phase_on(self, day: date) -> Phase | None:
        """The phase whose range holds ``day``, or None outside every phase."""
        for phase in self.phases:
            if phase.starts_on <= day <= phase.ends_on:
                return phase
        return None

    def phase(self, code: str) -> Phase | None:
        """The phase named ``code``."""
        return next((p for p in self.phases if p.code == code), None)


def _line_of(text: str, needle: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    return 1


def load_program(path: Path) -> Program:
    """Load and validate the calendar: known fields, start ≤ end, no overlapping phases."""
    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.safe_load(text)
        phases = [
            Phase(
                code=str(p["code"]),
                name=str(p["name"]),
                starts_on=p["starts_on"],
                ends_on=p["ends_on"],
                national_target=int(p["national_target"]),
            )
            for p in data["phases"]
        ]
        program = Program(
            code=str(data["code"]),
            name=str(data["name"]),
            national_target=int(data["national_target"]),
            phases=tuple(sorted(phases, key=lambda p: p.starts_on)),
        )
    except (KeyError, TypeError, ValueError, yaml.YAMLError) as exc:
        raise ReferenceDataError(f"{path}: malformed calendar: {exc!r}") from exc
    codes: set[str] = set()
    for phase in program.phases:
        line = _line_of(text, f"code: {phase.code}")
        if not isinstance(phase.starts_on, date) or not isinstance(phase.ends_on, date):
            raise ReferenceDataError(f"{path}:{line}: phase {phase.code} needs ISO dates")
        if phase.code in codes:
            raise ReferenceDataError(f"{path}:{line}: duplicate phase code {phase.code!r}")
        if phase.ends_on < phase.starts_on:
            raise ReferenceDataError(f"{path}:{line}: phase {phase.code} ends before it starts")
        codes.add(phase.code)
    for before, after in zip(program.phases, program.phases[1:], strict=False):
        if after.starts_on <= before.ends_on:
            line = _line_of(text, f"code: {after.code}")
            raise ReferenceDataError(
                f"{path}:{line}: phase {after.code} overlaps phase {before.code}"
            )
    if "program" in codes:
        raise ReferenceDataError(f"{path}: 'program' is reserved for the whole-program scope")
    return program
