"""What a subscriber receives, in Vietnamese: one milestone, or a digest of several.

The same notice is rendered as a webhook's JSON, and as an e-mail in plain text and HTML.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from datetime import date

from services.notify.revisions import reason_for
from shared.contracts.milestone import MilestoneKind, RevisionReason

SUBJECT_PREFIX = "[01 triệu sáng kiến]"


@dataclass(frozen=True, slots=True)
class Correction:
    """What changed about a milestone the subscriber was told of, and why."""

    number: int
    reason: RevisionReason
    previous_reached_on: date | None
    previous_days_ahead: int | None


@dataclass(frozen=True, slots=True)
class Milestone:
    """A reached milestone with the names a reader needs; with ``correction``, a change to one
    told before (``reached_on`` is then the new day, or the day last told if ``withdrawn``)."""

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
    withdrawn: bool = False
    correction: Correction | None = None

    @property
    def order(self) -> tuple[date, int]:
        """Where it goes in a digest: by the day reached, then by the count it stands for."""
        if self.kind is MilestoneKind.PERCENT_OF_TARGET and self.target:
            return self.reached_on, -(-self.threshold * self.target // 100)
        if self.kind is MilestoneKind.TARGET_REACHED and self.target:
            return self.reached_on, self.target
        return self.reached_on, self.threshold


REASONS = {
    RevisionReason.EARLIER: "các sáng kiến gửi muộn, có ngày nộp sớm hơn, đã được ghi nhận",
    RevisionReason.LATER: "một số sáng kiến đã bị loại khỏi số được tính sau khi xét duyệt",
    RevisionReason.WITHDRAWN: "số sáng kiến được tính đã giảm xuống dưới mốc sau khi xét duyệt",
    RevisionReason.RESTORED: "số sáng kiến được tính đã trở lại mốc",
}


def number(value: int) -> str:
    """A count the Vietnamese way: 1.000.000."""
    return f"{value:,}".replace(",", ".")


def milestone_name(m: Milestone) -> str:
    """What the milestone is, without figures: "… đạt 50% chỉ tiêu toàn chương trình"."""
    if m.kind is MilestoneKind.NATIONAL_COUNT:
        return f"Toàn quốc đạt mốc {number(m.threshold)} sáng kiến"
    if m.kind is MilestoneKind.TARGET_REACHED:
        return f"{m.union_name} hoàn thành chỉ tiêu {m.scope_name}"
    return f"{m.union_name} đạt {m.threshold}% chỉ tiêu {m.scope_name}"


def headline(milestone: Milestone) -> str:
    """One sentence saying what was reached."""
    m = milestone
    against = f"{number(m.counted)}/{number(m.target)} sáng kiến" if m.target else ""
    if m.kind is MilestoneKind.NATIONAL_COUNT:
        return f"{milestone_name(m)} ({number(m.counted)} sáng kiến được ghi nhận)"
    if m.kind is MilestoneKind.TARGET_REACHED:
        when = f", sớm {m.days_ahead} ngày" if m.days_ahead and m.days_ahead > 0 else ", đúng hạn"
        return f"{milestone_name(m)}: {against}{when}"
    return f"{milestone_name(m)}: {against}"


def _told(day: date | None, ahead: int | None, kind: MilestoneKind) -> str:
    if day is None:
        return "chưa đạt"
    early = ""
    if kind is MilestoneKind.TARGET_REACHED:
        early = f", sớm {ahead} ngày" if ahead and ahead > 0 else ", đúng hạn"
    return f"ngày {day:%d/%m/%Y}{early}"


def line(milestone: Milestone) -> str:
    """One item of a notice: what was reached and on which day, or what a correction changes."""
    m, fix = milestone, milestone.correction
    if fix is None:
        return f"{headline(m)} (ngày {m.reached_on:%d/%m/%Y})"
    now = None if m.withdrawn else m.reached_on
    was = _told(fix.previous_reached_on, fix.previous_days_ahead, m.kind)
    if m.withdrawn:
        change = f"nay chưa còn đạt mốc (đã báo đạt {was})"
    else:
        change = f"nay là {_told(now, m.days_ahead, m.kind)} (đã báo: {was})"
    return f"Đính chính: {milestone_name(m)}: {change}, vì {REASONS[fix.reason]}"


def one_per_milestone(items: Sequence[Milestone]) -> list[Milestone]:
    """One item per milestone in a notice. A first notice tells the milestone's facts as they
    are now, so corrections of it beside it are dropped; several corrections of one milestone
    become one, from what was told before the first to the facts of the last (none at all if
    they cancel out)."""
    firsts = {m.milestone_id for m in items if m.correction is None}
    chains: dict[str, list[Milestone]] = {}
    for m in items:
        if m.correction is not None and m.milestone_id not in firsts:
            chains.setdefault(m.milestone_id, []).append(m)
    kept = [m for m in items if m.correction is None]
    for chain in chains.values():
        chain.sort(key=lambda m: m.correction.number if m.correction else 0)
        first, last = chain[0].correction, chain[-1]
        assert first is not None and last.correction is not None
        now = None if last.withdrawn else last.reached_on
        reason = reason_for(
            first.previous_reached_on, first.previous_days_ahead, now, last.days_ahead
        )
        if reason is not None:
            net = replace(
                last.correction,
                reason=reason,
                previous_reached_on=first.previous_reached_on,
                previous_days_ahead=first.previous_days_ahead,
            )
            kept.append(replace(last, correction=net))
    return kept


def subject(milestones: Sequence[Milestone]) -> str:
    """The e-mail subject: the milestone, or how many a digest holds."""
    fixes = sum(m.correction is not None for m in milestones)
    if len(milestones) == 1:
        return f"{SUBJECT_PREFIX} {line(milestones[0]) if fixes else headline(milestones[0])}"
    if fixes == len(milestones):
        return f"{SUBJECT_PREFIX} {fixes} đính chính về các mốc đã báo"
    if fixes:
        return f"{SUBJECT_PREFIX} {len(milestones) - fixes} mốc mới và {fixes} đính chính"
    return f"{SUBJECT_PREFIX} {len(milestones)} mốc mới đã đạt được"


def plain_text(milestones: Sequence[Milestone]) -> str:
    """The e-mail's plain-text body."""
    lines = ["Kính gửi công đoàn,", "", f"{_opening(milestones)}:"]
    lines += [f"- {line(m)}" for m in milestones]
    lines += ["", "Trân trọng,", "Hệ thống theo dõi phong trào 01 triệu sáng kiến"]
    return "\n".join(lines) + "\n"


def html_body(milestones: Sequence[Milestone]) -> str:
    """The e-mail's HTML body."""
    items = "".join(f"<li>{html.escape(line(m))}</li>" for m in milestones)
    return (
        '<!doctype html><html lang="vi"><meta charset="utf-8">'
        "<body><p>Kính gửi công đoàn,</p>"
        f"<p>{html.escape(_opening(milestones))}:</p><ul>{items}</ul>"
        "<p>Trân trọng,<br>Hệ thống theo dõi phong trào 01 triệu sáng kiến</p></body></html>"
    )


def _opening(milestones: Sequence[Milestone]) -> str:
    fixes = sum(m.correction is not None for m in milestones)
    new = len(milestones) - fixes
    parts = []
    if new:
        parts.append("mốc mới" if new == 1 else f"{new} mốc mới")
    if fixes:
        parts.append("đính chính về mốc đã báo" if fixes == 1 else f"{fixes} đính chính")
    return "Phong trào thi đua đã ghi nhận " + " và ".join(parts)


def webhook_body(
    notification_id: str, subscription_id: str, milestones: Sequence[Milestone]
) -> bytes:
    """The webhook's JSON: the notice's ids and each milestone with its headline."""
    return json.dumps(
        {
            "notification_id": notification_id,
            "subscription_id": subscription_id,
            "digest": len(milestones) > 1,
            "milestones": [_item(m) for m in milestones],
        },
        ensure_ascii=False,
    ).encode()


def _item(m: Milestone) -> dict[str, object]:
    item = asdict(m)
    item |= {"reached_on": m.reached_on.isoformat(), "headline": headline(m), "text": line(m)}
    fix = m.correction
    if fix is not None:
        item["correction"] = {
            "revision": fix.number,
            "reason": fix.reason.value,
            "why": REASONS[fix.reason],
            "previous_reached_on": fix.previous_reached_on and fix.previous_reached_on.isoformat(),
            "previous_days_ahead": fix.previous_days_ahead,
        }
    return item
