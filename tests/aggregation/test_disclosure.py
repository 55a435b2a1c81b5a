"""What the open API shows of small unions: a pure rule, and the tree it relies on."""

from __future__ import annotations

from services.aggregation.disclosure import open_figures
from shared.contracts.progress import Figures
from tests.support.events import reference

FIGURES = Figures(received=5, counted=3, flagged=1, excluded=1, benefit_vnd=70, distinct_authors=2)


def test_a_grassroots_union_shows_only_what_is_counted() -> None:
    assert open_figures(FIGURES, "grassroots") == {
        "received": None,
        "counted": 3,
        "flagged": None,
        "excluded": None,
        "benefit_vnd": None,
        "distinct_authors": None,
    }


def test_from_the_district_level_up_every_figure_is_shown() -> None:
    for level in ("district", "sector", "province", "central_sector", "national"):
        assert open_figures(FIGURES, level) == FIGURES.model_dump()


def test_no_union_above_grassroots_unions_has_only_one_of_them() -> None:
    """A district shows its own and its subtree's figures: with a single grassroots union below
    it, their difference would be that union's withheld figures."""
    tree = reference().tree
    level = {union.code: union.level for union in tree}
    lone = [
        code
        for code in level
        if level[code] != "grassroots"
        and sum(level[child] == "grassroots" for child in tree.children(code)) == 1
    ]
    assert lone == []
