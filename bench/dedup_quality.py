"""Quality of near-duplicate matching on labelled pairs of realistic Vietnamese initiatives.

    .venv/bin/python -m bench.dedup_quality [--pairs 200] [--threshold 0.45 --shingle-size 3]

Every positive class of ``docs/design.md``, "Semantics" (a perturbed copy of an indexed
initiative), and two classes of hard negatives (another initiative of the same field; the same
title over other content). Each query is screened against an index holding every pair's first
member, as the service does; a positive counts when it is flagged with its original as the best
match. Beside the chosen method, the same LSH without normalisation (plain MinHash LSH on raw
words) is measured in the same run.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from pipeline.perturb import PREAMBLE_UNIT, combine, positive_classes, truncate, with_preamble
from pipeline.texts import Initiative, initiative, preamble
from services.dedup.matching import (
    Index,
    MatchingParameters,
    document_text,
    score_pair,
    shingles,
)

NEGATIVE_CLASSES = (
    "hard negative: same field",
    "hard negative: same title, other content",
    "hard negative: other initiatives, same preamble",
)


@dataclass
class Tally:
    """Outcomes of one class."""

    pairs: int = 0
    found: int = 0  # positive flagged with the right original
    flagged: int = 0  # flagged (for negatives: flagged as a copy of its partner, a false positive)
    scores: list[float] = field(default_factory=list)  # exact score against the partner

    def score_at(self, share: float) -> float:
        """The score below which ``share`` of this class's pairs fall."""
        ordered = sorted(self.scores)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def build_pairs(seed: int, per_class: int) -> list[tuple[str, Initiative, Initiative]]:
    """(class, indexed initiative, query) for every class."""
    rng = random.Random(seed)
    pairs = []
    # One unit's preamble, before its different initiatives and before a re-filing of one.
    template = preamble(rng, PREAMBLE_UNIT)
    for name, perturb in positive_classes(rng, template).items():
        for _ in range(per_class):
            original = initiative(rng)
            pairs.append((name, original, perturb(original)))
    for _ in range(per_class):
        first = initiative(rng)
        pairs.append((NEGATIVE_CLASSES[0], first, initiative(rng, first.field)))
        second = initiative(rng, first.field)
        pairs.append((NEGATIVE_CLASSES[1], replace(second, title=first.title), first))
        # Short filings (about 95 words) after the unit's 200 words: the preamble is most of
        # each text.
        pasted = combine(truncate(0.4), with_preamble(template))
        pairs.append((NEGATIVE_CLASSES[2], pasted(initiative(rng)), pasted(initiative(rng))))
    return pairs


def evaluate(
    pairs: list[tuple[str, Initiative, Initiative]],
    params: MatchingParameters,
    key: Callable[[Initiative], str],
) -> dict[str, Tally]:
    """Screen every query against an index of every first member."""
    texts: dict[str, str] = {}
    index = Index(params)
    for number, (_, first, _) in enumerate(pairs):
        texts[f"o{number}"] = key(first)
        index.add(f"o{number}", index.probe(texts[f"o{number}"]))
    tallies: dict[str, Tally] = {}
    for number, (name, _, query) in enumerate(pairs):
        tally = tallies.setdefault(name, Tally())
        probe = index.probe(key(query))
        match = index.screen(f"q{number}", probe, texts)
        theirs = shingles(texts[f"o{number}"], params.shingle_size)
        scored = score_pair(probe.sequence, probe.shingles, theirs, params)
        tally.scores.append(scored.score)
        tally.pairs += 1
        # A negative is a false positive when flagged as a copy of its partner; one after the
        # unit's preamble, when flagged as a copy of anything (nothing indexed is its original).
        tally.flagged += match.best_match is not None and (
            name not in NEGATIVE_CLASSES
            or name == NEGATIVE_CLASSES[2]
            or match.best_match == f"o{number}"
        )
        tally.found += match.best_match == f"o{number}"
    return tallies


def table(title: str, tallies: dict[str, Tally]) -> Table:
    """Per-class and overall precision, recall, F1."""
    out = Table(title=title)
    for column in ("class", "pairs", "precision", "recall", "F1", "score p5 / p95"):
        out.add_column(column, justify="left" if column == "class" else "right")
    false_positives = sum(t.flagged for n, t in tallies.items() if n in NEGATIVE_CLASSES)
    total = Tally()
    for name, tally in tallies.items():
        if name in NEGATIVE_CLASSES:
            rate = tally.flagged / tally.pairs
            out.add_row(
                name,
                str(tally.pairs),
                f"false pos. {rate:.3f}",
                "",
                "",
                f"p95 {tally.score_at(0.95):.2f}",
            )
            continue
        wrong = tally.flagged - tally.found
        precision = tally.found / max(1, tally.found + wrong)
        recall = tally.found / tally.pairs
        out.add_row(
            name,
            str(tally.pairs),
            f"{precision:.3f}",
            f"{recall:.3f}",
            f"{_f1(precision, recall):.3f}",
            f"p5 {tally.score_at(0.05):.2f}",
        )
        total.pairs += tally.pairs
        total.found += tally.found
        total.flagged += tally.flagged
    wrong = total.flagged - total.found + false_positives
    precision = total.found / max(1, total.found + wrong)
    recall = total.found / max(1, total.pairs)
    out.add_row(
        "overall (positives + hard negatives)",
        str(total.pairs),
        f"{precision:.3f}",
        f"{recall:.3f}",
        f"{_f1(precision, recall):.3f}",
        style="bold",
    )
    return out


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def main(
    pairs: Annotated[int, typer.Option(help="Pairs per class.")] = 200,
    seed: Annotated[int, typer.Option()] = 7,
    threshold: Annotated[float, typer.Option()] = MatchingParameters.threshold,
    shingle_size: Annotated[int, typer.Option()] = MatchingParameters.shingle_size,
    containment_weight: Annotated[float, typer.Option()] = MatchingParameters.containment_weight,
) -> None:
    """Measure and print the tables."""
    labelled = build_pairs(seed, pairs)
    chosen = MatchingParameters(
        threshold=threshold, shingle_size=shingle_size, containment_weight=containment_weight
    )
    console = Console()
    console.print(
        table(
            f"Chosen method {chosen.version}",
            evaluate(labelled, chosen, lambda i: document_text(i.title, *i.content())),
        )
    )
    untemplated = replace(chosen, template_run=0)
    console.print(
        table(
            "The same without its template handling (preambles decide matches)",
            evaluate(labelled, untemplated, lambda i: document_text(i.title, *i.content())),
        )
    )
    plain = MatchingParameters(
        shingle_size=1, containment_weight=0.0, threshold=threshold, template_run=0
    )
    console.print(
        table(
            "Baseline: plain MinHash LSH on raw words (no normalisation, no shingles)",
            evaluate(labelled, plain, lambda i: " ".join([i.title, *i.content()])),
        )
    )


if __name__ == "__main__":
    typer.run(main)
