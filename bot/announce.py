"""The window scheduler: announce when a window opens, remind 7 days and 1 day before it closes, and
summarise for officers when it closes. Each step records notices under unique keys, in one transaction
with the window's flag, so a crash, a restart or a second replica never skips or repeats a school; the
Dispatcher then delivers them within the platforms' limits."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.service import Service
from dialogs import announcements
from storage import eois
from storage.db import insert_new
from storage.models import EOI, Notice, School, Window
from storage.windows import eois_in, need_for, schools_in_scope, window_after, window_name

REMINDERS = ((7, "reminded_7_at"), (1, "reminded_1_at"))


@dataclass
class Planned:
    lines: list[str] = field(default_factory=list)
    notices: int = 0


def _school_notice(
    key: str, window: Window, school: School, kind: str, body: dict[str, Any], now: datetime
) -> dict[str, Any]:
    return {
        "key": key,
        "audience": "school",
        "school_urn": school.urn,
        "window_id": window.id,
        "kind": kind,
        "body": body,
        "created_at": now,
    }


def _officer_notice(key: str, window: Window, kind: str, body: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {"key": key, "audience": "officers", "window_id": window.id, "kind": kind, "body": body, "created_at": now}


@dataclass(frozen=True)
class Step:
    """One thing the scheduler will do for a window, and when: the announcement, a reminder, the close summary."""

    window: Window
    what: str  # "announce", "remind", "summary"
    due: datetime
    days: int = 0  # a reminder: days before the close


def steps_to_come(window: Window, now: datetime) -> list[Step]:
    """The steps not yet done for this window, in the order they run; those with `due <= now` are due now. The
    scheduler (plan_due), `eoi-bot doctor` and the scheduler-lag metric all read this one list."""
    if window.cancelled_at is not None:
        return []
    steps: list[Step] = []
    if window.announced_at is None and now < window.closes_at:
        steps.append(Step(window, "announce", window.opens_at))
    for days, flag in REMINDERS:
        if getattr(window, flag) is None and now < window.closes_at:
            # Never before the announcement: in a window shorter than the reminder, both go when it opens.
            due = max(window.closes_at - timedelta(days=days), window.opens_at)
            steps.append(Step(window, "remind", due, days))
    if window.summarised_at is None:
        steps.append(Step(window, "summary", window.closes_at))
    return steps


async def plan_due(session: AsyncSession, now: datetime, *, dry_run: bool = False) -> Planned:
    planned = Planned()
    windows = list(
        await session.scalars(
            select(Window)
            .where(Window.cancelled_at.is_(None))
            .order_by(Window.opens_at)
            .with_for_update(skip_locked=True)
        )
    )
    for window in windows:
        rows: list[dict[str, Any]] = []
        due = {(step.what, step.days) for step in steps_to_come(window, now) if step.due <= now}
        if ("announce", 0) in due:
            for school, needs in await schools_in_scope(session, window):
                rows.append(
                    _school_notice(
                        f"announce:{window.id}:{school.urn}",
                        window,
                        school,
                        "announcement",
                        announcements.announcement(window, school, needs).to_dict(),
                        now,
                    )
                )
            planned.lines.append(f"{window_name(window)} opened: announcing to {len(rows)} schools in scope")
            body = announcements.opened_for_officers(window, len(rows)).to_dict()
            rows.append(_officer_notice(f"opened:{window.id}", window, "window opened", body, now))
            window.announced_at = now
        for days, flag in REMINDERS:
            if ("remind", days) in due and window.announced_at:
                reminded = await _remind(session, window, days, now)
                rows += reminded
                planned.lines.append(
                    f"{window_name(window)} closes in {days} day{'s' if days > 1 else ''}: "
                    f"reminding {len(reminded)} schools"
                )
                setattr(window, flag, now)
        if ("summary", 0) in due:
            found = await eois_in(session, window)
            body = announcements.closing_summary(window, found, await need_for(session, window)).to_dict()
            rows.append(_officer_notice(f"summary:{window.id}", window, "closing summary", body, now))
            planned.lines.append(f"{window_name(window)} closed: summary to officers")
            window.summarised_at = now
        planned.notices += len(rows)
        if not dry_run:
            await insert_new(session, Notice, rows)
    if dry_run:
        await session.rollback()
    else:
        await session.commit()
    return planned


async def _remind(session: AsyncSession, window: Window, days: int, now: datetime) -> list[dict[str, Any]]:
    """Schools in scope that haven't put anything forward, and any school holding a draft in this window; a
    draft's reminder says where it goes if it isn't submitted in time (the window after this one)."""
    held: dict[str, list[EOI]] = {}
    schools: dict[str, School] = {}
    for eoi, school in await eois_in(session, window):
        held.setdefault(school.urn, []).append(eoi)
        schools[school.urn] = school
    drafts = {urn: [e for e in found if e.status == eois.DRAFT] for urn, found in held.items()}
    targets = {urn: schools[urn] for urn, found in drafts.items() if found}
    for school, _ in await schools_in_scope(session, window):
        if school.urn not in held:
            targets[school.urn] = school
    after = await window_after(session, window)
    return [
        _school_notice(
            f"remind{days}:{window.id}:{urn}",
            window,
            school,
            "reminder",
            announcements.reminder(window, school, days=days, drafts=drafts.get(urn, []), after=after).to_dict(),
            now,
        )
        for urn, school in sorted(targets.items())
    ]


async def run_once(service: Service, dry_run: bool = False) -> int:
    """`eoi-bot announce`: plan what is due, then deliver it (for cron; the server does this continuously)."""
    async with service.db.session() as session:
        planned = await plan_due(session, service.clock.now(), dry_run=dry_run)
    for line in planned.lines or ["Nothing is due."]:
        print(("(dry run) " if dry_run else "") + line)
    if dry_run:
        return 0
    while await service.dispatcher.plan_notices():  # 500 notices a call: a whole register is several calls
        pass
    stats = await service.dispatcher.run_due()
    print(f"Delivered {stats.sent}, failed {stats.failed}, retried {stats.retries}.")
    return 0
