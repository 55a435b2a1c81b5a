"""What the open progress API shows of small unions (small-cell disclosure).

A grassroots union can have a handful of members. Its ``counted`` figure is the campaign's
public achievement (targets, percent, milestones and leaderboards are about it), but the rest
would tell things about named colleagues: ``received`` minus ``counted``, ``flagged`` and
``excluded`` say that someone's initiative was judged a copy or refused; a benefit sum of three
members is one person's claim; ``distinct_authors`` says how many of them filed. So below the
district level the open API withholds those figures (``null``), and ranks only by counted and
percent. The union's own reviewers see the details through the submission service's review API,
with their keys. From the district level up a union's figures sum many grassroots unions.
"""

from __future__ import annotations

from dataclasses import asdict

from services.aggregation.counting import Figures as Counted
from shared.contracts.progress import Figures

WITHHELD_LEVELS = frozenset({"grassroots"})


def withholds(level: str) -> bool:
    """Whether the open API withholds all but ``counted`` of a union at ``level``."""
    return level in WITHHELD_LEVELS


def shown(level: str, name: str, value: int) -> int | None:
    """Figure ``name`` of a union at ``level`` as the open API shows it."""
    return value if name == "counted" or not withholds(level) else None


def open_figures(figures: Figures, level: str) -> dict[str, int | None]:
    """Every figure of a union at ``level`` as the open API shows it."""
    return {name: shown(level, name, value) for name, value in figures.model_dump().items()}


def filed_figures(figures: Counted, level: str) -> dict[str, int | None]:
    """Figures counted as filed as the open API shows them: distinct authors are only counted
    as of now (``null``)."""
    shown_figures = {name: shown(level, name, value) for name, value in asdict(figures).items()}
    return shown_figures | {"distinct_authors": None}
