"""The live campaign view of the run command: national count, phases, leaders, milestones, rates.

Figures come from the aggregation API (as a user would read them); rates, dedup flags and
milestones from a private queue on the events exchange that counts what passes and keeps only the
last few milestones.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

import httpx
from rich.console import Group
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from pipeline.tap import Delivery

RECEIVED = "submission.received.v1"
SCREENED = "submission.screened.v1"
MILESTONE = "milestone.reached.v1"
WATCHED = (RECEIVED, SCREENED, MILESTONE)
RATE_WINDOW = 10.0  # seconds over which rates are averaged


@dataclass
class EventCounts:
    """What the dashboard remembers of the events: counts, recent arrivals, last milestones."""

    counts: Counter[str] = field(default_factory=Counter)
    verdicts: Counter[str] = field(default_factory=Counter)
    milestones: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=8))
    arrivals: deque[tuple[float, str]] = field(default_factory=deque)

    def record(self, delivery: Delivery) -> None:
        """Count one event (its body is not kept, except a milestone's)."""
        now = time.monotonic()
        self.counts[delivery.routing_key] += 1
        self.arrivals.append((now, delivery.routing_key))
        while self.arrivals and self.arrivals[0][0] < now - RATE_WINDOW:
            self.arrivals.popleft()
        if delivery.routing_key == SCREENED:
            self.verdicts[str(delivery.body.get("verdict"))] += 1
        elif delivery.routing_key == MILESTONE:
            self.milestones.appendleft(delivery.body)

    def rate(self, routing_key: str) -> float:
        """Events of ``routing_key`` per second over the last ``RATE_WINDOW`` seconds."""
        horizon = time.monotonic() - RATE_WINDOW
        return sum(1 for at, key in self.arrivals if key == routing_key and at >= horizon) / (
            RATE_WINDOW
        )


@dataclass
class Figures:
    """What the aggregation API says: the national node per scope and the leading provinces;
    ``problem`` says why they may be stale."""

    national: dict[str, dict[str, Any]] = field(default_factory=dict)
    leaders: list[dict[str, Any]] = field(default_factory=list)
    problem: str | None = None


async def read_figures(client: httpx.AsyncClient, scopes: tuple[str, ...]) -> Figures:
    """The national progress for each scope and the five leading provinces (whole program)."""
    figures = Figures()
    for scope in scopes:
        answer = await client.get("/v1/unions/vn/progress", params={"scope": scope})
        if answer.status_code == 200:
            figures.national[scope] = answer.json()
    board = await client.get("/v1/leaderboards/levels/province", params={"limit": 5})
    if board.status_code == 200:
        figures.leaders = board.json()["items"]
    return figures


def _number(value: int) -> str:
    return f"{value:,}".replace(",", ".")


def _scope_line(progress: dict[str, Any]) -> Table:
    target = (progress.get("target") or {}).get("effective")
    counted = progress["subtree"]["counted"]
    row = Table.grid(padding=(0, 2))
    row.add_column(width=14)
    row.add_column(width=40)
    row.add_column()
    row.add_row(
        progress["scope"],
        ProgressBar(total=target or max(counted, 1), completed=counted, width=40),
        f"{_number(counted)} / {_number(target) if target else '—'}"
        f" ({progress['percent'] or 0:.2f} %)",
    )
    return row


def render(
    figures: Figures,
    events: EventCounts,
    sent: int,
    planned: int,
    notices: list[str],
    board_url: str,
) -> Group:
    """The whole view; ``notices``: the last ones the run's webhook receiver verified;
    ``board_url``: the progress board, which shows the same figures in a browser."""
    parts: list[Any] = []
    program = figures.national.get("program")
    if program is not None:
        subtree = program["subtree"]
        parts.append(
            Text.from_markup(
                f"[bold]Cả nước[/]: {_number(subtree['counted'])} sáng kiến counted of "
                f"{_number((program.get('target') or {}).get('effective') or 0)} · received "
                f"{_number(subtree['received'])} · flagged {_number(subtree['flagged'])} · "
                f"excluded {_number(subtree['excluded'])} · benefit "
                f"{_number(subtree['benefit_vnd'])} ₫"
            )
        )
    parts.extend(_scope_line(p) for p in figures.national.values())
    if figures.problem is not None:
        parts.append(Text(figures.problem, style="red"))
    parts.append(
        Text(
            f"simulator {_number(sent)}/{_number(planned)} sent · "
            f"received {events.rate(RECEIVED):.0f}/s · screened {events.rate(SCREENED):.0f}/s · "
            f"dedup: {_number(events.verdicts['near_duplicate'])} near, "
            f"{_number(events.verdicts['exact_duplicate'])} exact duplicates of "
            f"{_number(events.counts[SCREENED])} screened"
        )
    )
    leaders = Table(title="Leading provinces (program)", expand=True)
    for column in ("rank", "union", "counted", "target", "%"):
        leaders.add_column(column, justify="left" if column == "union" else "right")
    for item in figures.leaders:
        leaders.add_row(
            str(item["rank"]),
            item["name"],
            _number(item["counted"]),
            _number(item["target"]) if item["target"] else "",
            f"{item['percent']:.1f}" if item["percent"] is not None else "",
        )
    milestones = Table(title=f"Milestones ({events.counts[MILESTONE]} fired)", expand=True)
    for column in ("reached on", "union", "scope", "rule", "counted"):
        milestones.add_column(column)
    for body in events.milestones:
        milestones.add_row(
            str(body.get("reached_on")),
            str(body.get("union_name") or body.get("union_code")),
            str(body.get("scope")),
            str(body.get("rule_id")),
            _number(int(body.get("counted") or 0)),
        )
    received = Table(
        title="Notices received by the run's webhook receiver (signature verified)", expand=True
    )
    received.add_column("notice")
    for notice in notices or ["(none yet: the first comes at 10.000 sáng kiến nationally)"]:
        received.add_row(notice)
    parts.append(Text(f"The same, live in a browser: {board_url}", style="bold"))
    parts.extend([leaders, milestones, received])
    return Group(Panel(Group(*parts[:-3]), title="01 triệu sáng kiến — live"), *parts[-3:])
