"""What a subscriber receives, in Vietnamese: one milestone, or a digest of several.

The same notice is rendered as a webhook's JSON, and as an e-mail in plain text and HTML.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date

from shared.contracts.milestone import MilestoneKind

SUBJECT_PREFIX = "[01 triệu sáng kiến]"


@dataclass(frozen=True, slots=True)
class Milestone:
    """A reached milestone with the names a reader needs."""

    milestone_id: str
    union_code: str
    union_name: str
    scope: str
    scope_name: str
    rule_id: str
    kind: MilestoneKind
    threshold: int
    counted: int
    target: int | None
    reached_on: date
    days_ahead: int | None


def number(value: int) -> str:
    """A count the Vietnamese way: 1.000.000."""
    return f"{value:,}".replace(",", ".")


def headline(milestone: Milestone) -> str:
    """One sentence saying what was reached."""
    m = milestone
    against = f"{number(m.counted)}/{number(m.target)} sáng kiến" if m.target else ""
    if m.kind is MilestoneKind.NATIONAL_COUNT:
        return (
            f"Toàn quốc đạt mốc {number(m.threshold)} sáng kiến "
            f"({number(m.counted)} sáng kiến được ghi nhận)"
        )
    if m.kind is MilestoneKind.TARGET_REACHED:
        when = f", sớm {m.days_ahead} ngày" if m.days_ahead and m.days_ahead > 0 else ", đúng hạn"
        return f"{m.union_name} hoàn thành chỉ tiêu {m.scope_name}: {against}{when}"
    return f"{m.union_name} đạt {m.threshold}% chỉ tiêu {m.scope_name}: {against}"


def subject(milestones: Sequence[Milestone]) -> str:
    """The e-mail subject: the milestone, or how many a digest holds."""
    if len(milestones) == 1:
        return f"{SUBJECT_PREFIX} {headline(milestones[0])}"
    return f"{SUBJECT_PREFIX} {len(milestones)} mốc mới đã đạt được"


def plain_text(milestones: Sequence[Milestone]) -> str:
    """The e-mail's plain-text body."""
    lines = ["Kính gửi công đoàn,", ""]
    lines.append(
        "Phong trào thi đua đã ghi nhận mốc mới:"
        if len(milestones) == 1
        else f"Phong trào thi đua đã ghi nhận {len(milestones)} mốc mới:"
    )
    lines += [f"- {headline(m)} (ngày {m.reached_on:%d/%m/%Y})" for m in milestones]
    lines += ["", "Trân trọng,", "Hệ thống theo dõi phong trào 01 triệu sáng kiến"]
    return "\n".join(lines) + "\n"


def html_body(milestones: Sequence[Milestone]) -> str:
    """The e-mail's HTML body."""
    items = "".join(
        f"<li>{html.escape(headline(m))} <small>(ngày {m.reached_on:%d/%m/%Y})</small></li>"
        for m in milestones
    )
    return (
        '<!doctype html><html lang="vi"><meta charset="utf-8">'
        "<body><p>Kính gửi công đoàn,</p>"
        f"<p>Phong trào thi đua đã ghi nhận {len(milestones)} mốc mới:</p><ul>{items}</ul>"
        "<p>Trân trọng,<br>Hệ thống theo dõi phong trào 01 triệu sáng kiến</p></body></html>"
    )


def webhook_body(
    notification_id: str, subscription_id: str, milestones: Sequence[Milestone]
) -> bytes:
    """The webhook's JSON: the notice's ids and each milestone with its headline."""
    return json.dumps(
        {
            "notification_id": notification_id,
            "subscription_id": subscription_id,
            "digest": len(milestones) > 1,
            "milestones": [
                {**asdict(m), "reached_on": m.reached_on.isoformat(), "headline": headline(m)}
                for m in milestones
            ],
        },
        ensure_ascii=False,
    ).encode()
