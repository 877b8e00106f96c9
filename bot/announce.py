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

from bot.milestones import milestone_notices
from bot.service import Service
from dialogs import announcements, discussion_outcomes
from storage import audiences, discussions, eois, notices, people
from storage.db import insert_new
from storage.models import EOI, Notice, School, Window
from storage.windows import LONDON, eois_in, need_for, schools_in_scope, window_after, window_name

REMINDERS = ((7, "reminded_7_at"), (1, "reminded_1_at"))
# Officers hear this long before a window opens how many schools are in scope and which nothing reaches, in time
# to link staff or fix the register (once per window: the notice's key).
BEFORE_OPENING = timedelta(days=7)


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


def _missed_line(missed: list[School]) -> str:
    if not missed:
        return ""
    named = ", ".join(s.urn for s in missed[: announcements.NAMED_AT_MOST])
    more = f" and {len(missed) - announcements.NAMED_AT_MOST} more" if len(missed) > announcements.NAMED_AT_MOST else ""
    return f"; {len(missed)} of them have no working destination and are not told (URN {named}{more})"


async def plan_due(
    session: AsyncSession, now: datetime, *, dry_run: bool = False, reach: audiences.Reach | None = None
) -> Planned:
    """`reach` says where a school would hear (the dispatcher's senders): with it, the schools nothing reaches
    are counted and named, to the log and to officers."""
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
        if window.announced_at is None and now < window.opens_at <= now + BEFORE_OPENING:
            rows += await _before_opening(session, window, now, reach, planned)
        due = {(step.what, step.days) for step in steps_to_come(window, now) if step.due <= now}
        if ("announce", 0) in due:
            in_scope = await schools_in_scope(session, window)
            missed = None
            if reach is not None:
                missed = await audiences.without_destination(session, [s for s, _ in in_scope], reach)
            for school, needs in in_scope:
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
            planned.lines.append(
                f"{window_name(window)} opened: announcing to {len(rows)} schools in scope" + _missed_line(missed or [])
            )
            window.announced_at = now
            need = bool(in_scope) or bool(await need_for(session, window))
            body = announcements.opened_for_officers(window, len(rows), missed, need=need).to_dict()
            rows.append(_officer_notice(f"opened:{window.id}", window, "window opened", body, now))
        for days, flag in REMINDERS:
            if ("remind", days) in due and window.announced_at:
                reminded, targets = await _remind(session, window, days, now)
                rows += reminded
                missed = await audiences.without_destination(session, targets, reach) if reach else []
                planned.lines.append(
                    f"{window_name(window)} closes in {days} day{'s' if days > 1 else ''}: "
                    f"reminding {len(reminded)} schools" + _missed_line(missed)
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
    reminders, lines = await milestone_notices(session, now)
    if not dry_run:
        await insert_new(session, Notice, reminders)  # a key already recorded is kept: each goes once
    planned.notices += len(reminders)
    planned.lines += lines
    rows = await _follow_up_reminders(session, now, planned)
    planned.notices += len(rows)
    if not dry_run:
        await insert_new(session, Notice, rows)
    if dry_run:
        await session.rollback()
    else:
        await session.commit()
    return planned


async def _follow_up_reminders(session: AsyncSession, now: datetime, planned: Planned) -> list[dict[str, Any]]:
    """Follow-ups from discussions (dialogs.discussion_outcomes): the owner is reminded REMIND_DAYS before the
    due date (the school for its own, officers for ECC's), and officers are told of one still open after it.
    Each notice's key names the follow-up and its date, so each is sent once, whoever plans it."""
    today = now.astimezone(LONDON).date()
    # Due within REMIND_DAYS: the reminder day (discussion_outcomes.reminded_on, which the promise reads) has come.
    found = await discussions.open_due_by(session, today + timedelta(days=discussion_outcomes.REMIND_DAYS))
    names = await people.names_of(session, {a.owner_officer for a, _ in found if a.owner_officer})
    rows: list[dict[str, Any]] = []
    for follow_up, eoi in found:
        school = await session.get(School, eoi.school_urn)
        assert school is not None
        late = follow_up.due_on < today
        body = discussion_outcomes.reminder(
            follow_up, eoi, school, owner_name=names.get(follow_up.owner_officer, ""), late=late
        ).to_dict()
        key = f"follow-up:{follow_up.id}:{follow_up.due_on.isoformat()}:{'late' if late else 'due'}"
        to_school = follow_up.owner == discussions.SCHOOL and not late
        rows.append(
            {
                "key": key,
                "audience": "school" if to_school else "officers",
                "school_urn": school.urn,
                "eoi_id": eoi.id,
                "window_id": eoi.window_id,
                "kind": "follow-up overdue" if late else "follow-up reminder",
                "body": body,
                "created_at": now,
            }
        )
    # Only those not planned before, so the count says what this run adds.
    sent = await notices.recorded_keys(session, [row["key"] for row in rows])
    rows = [row for row in rows if row["key"] not in sent]
    if rows:
        planned.lines.append(f"Follow-ups from discussions: {len(rows)} reminders or overdue notices")
    return rows


async def _before_opening(
    session: AsyncSession, window: Window, now: datetime, reach: audiences.Reach | None, planned: Planned
) -> list[dict[str, Any]]:
    """The officers' heads-up before a window opens: who is in scope, and who would hear nothing (with `reach`);
    or, while no need is imported, that it would announce to nobody. Each once per window (its key): a window
    warned of having no need still gets the count once its need is imported."""
    if not await need_for(session, window):
        key = f"no-need:{window.id}"
        if await session.scalar(select(Notice.id).where(Notice.key == key)) is not None:
            return []
        planned.lines.append(f"{window_name(window)} opens soon with no identified need imported: it tells nobody")
        return [
            _officer_notice(key, window, "no need", announcements.no_need_before_opening(window, now).to_dict(), now)
        ]
    key = f"before:{window.id}"
    if reach is None or await session.scalar(select(Notice.id).where(Notice.key == key)) is not None:
        return []
    in_scope = [school for school, _ in await schools_in_scope(session, window)]
    missed = await audiences.without_destination(session, in_scope, reach)
    planned.lines.append(f"{window_name(window)} opens soon: {len(in_scope)} schools in scope" + _missed_line(missed))
    body = announcements.before_opening(window, len(in_scope), missed).to_dict()
    return [_officer_notice(key, window, "before opening", body, now)]


async def _remind(
    session: AsyncSession, window: Window, days: int, now: datetime
) -> tuple[list[dict[str, Any]], list[School]]:
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
    notices = [
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
    return notices, [school for _, school in sorted(targets.items())]


async def run_once(service: Service, dry_run: bool = False) -> int:
    """`eoi-bot announce`: plan what is due, then deliver it (for cron; the server does this continuously)."""
    async with service.db.session() as session:
        planned = await plan_due(
            session, service.clock.now(), dry_run=dry_run, reach=service.dispatcher.school_destinations
        )
    for line in planned.lines or ["Nothing is due."]:
        print(("(dry run) " if dry_run else "") + line)
    if dry_run:
        return 0
    while await service.dispatcher.plan_notices():  # 500 notices a call: a whole register is several calls
        pass
    stats = await service.dispatcher.run_due()
    print(f"Delivered {stats.sent}, failed {stats.failed}, retried {stats.retries}.")
    return 0
