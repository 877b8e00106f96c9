"""What the bot says unprompted, and when (docs/ARCHITECTURE.md, "Scheduled messages").

Three tables say it: a window's steps (a week before it opens, when it opens, 7 and 1 days before it closes, two days
before its information session, when it closes), an implementation milestone's (before it is due, once it is late) and a
discussion follow-up's (before it is due, once it is overdue). Each row says when, relative to its window, milestone or
follow-up, who hears, and the words. `plan_due` plans every message due now with `storage.notices.plan`, each under a
key naming what it is about, so each goes once whoever plans it (an earlier round, a restart, another replica); the
dispatcher (bot/delivery.py) then delivers them. bot/ only runs it: every few seconds inside `eoi-bot serve`, or from
cron as `eoi-bot announce`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from dialogs import announcements, discussion_outcomes, information_session
from dialogs import implementation as milestone_words
from dialogs.replies import Reply
from storage import audiences, discussions, eois, implementation, notices, people
from storage.models import EOI, FollowUp, Milestone, School, Window
from storage.windows import LONDON, eois_in, need_for, schools_in_scope, window_after, window_name

# Officers hear this long before a window opens how many schools are in scope and which nothing reaches, in time
# to link staff or fix the register.
BEFORE_OPENING = timedelta(days=7)
OWNER, OFFICERS = "owner", "officers"  # who hears of a milestone or follow-up: whoever owns it, or the officers


@dataclass
class Planned:
    """What a round planned: a line for the log per step, and how many notices it recorded."""

    lines: list[str] = field(default_factory=list)
    notices: int = 0


@dataclass
class Round:
    """One run of the scheduler: where it plans, when, and where a school would hear (`reach`, the dispatcher's
    senders; without it the schools nothing reaches are not counted)."""

    session: AsyncSession
    now: datetime
    reach: audiences.Reach | None
    planned: Planned

    async def plan(self, **notice: Any) -> bool:
        """Plan one notice (storage.notices.plan); True when it is new, False when its key was planned before."""
        found = await notices.plan(self.session, now=self.now, **notice)
        self.planned.notices += found is not None
        return found is not None


# A window ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WindowStep:
    """One row of a window's schedule. `flag` is the window's record that the step ran (doctor and the
    scheduler-lag metric read it); a step without one (the heads-up before opening) is recorded by its notice's
    key alone. `plan` plans its notices and says whether the step ran."""

    what: str  # "before opening", "announce", "remind", "session reminder", "summary"
    due: Callable[[Window], datetime]
    until: Callable[[Window], datetime] | None  # not at or after this: an announcement after the close would mislead
    flag: str | None
    hears: str  # in words: who is told
    plan: Callable[[Round, Window], Awaitable[bool]]
    days: int = 0  # a reminder: days before the close
    applies: Callable[[Window], bool] = lambda _window: True  # a window without an information session has no reminder


@dataclass(frozen=True)
class ScheduledStep:
    """A window's step still to come, and when it is due (those with `due <= now` are due now)."""

    window: Window
    what: str
    due: datetime
    days: int = 0


def _missed_line(missed: list[School]) -> str:
    if not missed:
        return ""
    named = ", ".join(s.urn for s in missed[: announcements.NAMED_AT_MOST])
    more = f" and {len(missed) - announcements.NAMED_AT_MOST} more" if len(missed) > announcements.NAMED_AT_MOST else ""
    return f"; {len(missed)} of them have no working destination and are not told (URN {named}{more})"


async def _before_opening(r: Round, window: Window) -> bool:
    """Officers hear who is in scope and who would hear nothing (with `reach`); or, while no need is imported,
    that it would announce to nobody. Each once per window (its key): a window warned of having no need still
    gets the count once its need is imported."""
    if window.announced_at is not None:
        return False
    if not await need_for(r.session, window):

        async def no_need() -> dict[str, Any]:
            r.planned.lines.append(
                f"{window_name(window)} opens soon with no identified need imported: it tells nobody"
            )
            return announcements.no_need_before_opening(window, r.now).to_dict()

        await r.plan(key=f"no-need:{window.id}", audience="officers", window_id=window.id, kind="no need", body=no_need)
        return True
    reach = r.reach
    if reach is None:
        return False

    async def in_scope_and_missed() -> dict[str, Any]:
        in_scope = [school for school, _ in await schools_in_scope(r.session, window)]
        missed = await audiences.without_destination(r.session, in_scope, reach)
        r.planned.lines.append(
            f"{window_name(window)} opens soon: {len(in_scope)} schools in scope" + _missed_line(missed)
        )
        return announcements.before_opening(window, len(in_scope), missed).to_dict()

    key = f"before:{window.id}"
    await r.plan(key=key, audience="officers", window_id=window.id, kind="before opening", body=in_scope_and_missed)
    return True


async def _session_calendar(r: Round, window: Window) -> dict[str, Any]:
    """The .ics of the window's information session as it stands, as a notice's body."""
    assert window.session_at is not None
    sequence = await information_session.sequence(r.session, window)
    return information_session.calendar_reply(
        window, at=window.session_at, where=window.session_where, sequence=sequence, now=r.now
    ).to_dict()


async def _announce(r: Round, window: Window) -> bool:
    """Each school in scope hears the window is open, with its own priority needs and the information session
    still to come (its .ics first, so the announcement with its button is the last thing the school sees);
    officers hear how many did."""
    in_scope = await schools_in_scope(r.session, window)
    missed = None
    if r.reach is not None:
        missed = await audiences.without_destination(r.session, [s for s, _ in in_scope], r.reach)
    session = window.session_at is not None and information_session.in_announcement(window, r.now) is not None
    calendar = await _session_calendar(r, window) if session else None
    for school, needs in in_scope:
        if calendar is not None:
            await r.plan(
                key=f"announce-session:{window.id}:{school.urn}",
                audience="school",
                school_urn=school.urn,
                window_id=window.id,
                kind="calendar",
                body=calendar,
            )
        await r.plan(
            key=f"announce:{window.id}:{school.urn}",
            audience="school",
            school_urn=school.urn,
            window_id=window.id,
            kind="announcement",
            body=announcements.announcement(window, school, needs, now=r.now).to_dict(),
        )
    r.planned.lines.append(
        f"{window_name(window)} opened: announcing to {len(in_scope)} schools in scope" + _missed_line(missed or [])
    )
    window.announced_at = r.now  # before the officers' words, which say what was done ("nobody was told")
    if session and window.session_at is not None and window.session_at - information_session.SESSION_REMINDER <= r.now:
        window.session_reminded_at = r.now  # announced this close to the session: that is its reminder
    need = bool(in_scope) or bool(await need_for(r.session, window))
    body = announcements.opened_for_officers(window, len(in_scope), missed, need=need).to_dict()
    await r.plan(key=f"opened:{window.id}", audience="officers", window_id=window.id, kind="window opened", body=body)
    return True


def _remind(days: int) -> Callable[[Round, Window], Awaitable[bool]]:
    async def remind(r: Round, window: Window) -> bool:
        """Schools in scope that haven't put anything forward, and any school holding a draft in this window; a
        draft's reminder says where it goes if it isn't submitted in time (the window after this one)."""
        if not window.announced_at:
            return False
        held: dict[str, list[EOI]] = {}
        schools: dict[str, School] = {}
        for eoi, school in await eois_in(r.session, window):
            held.setdefault(school.urn, []).append(eoi)
            schools[school.urn] = school
        drafts = {urn: [e for e in found if e.status == eois.DRAFT] for urn, found in held.items()}
        targets = {urn: schools[urn] for urn, found in drafts.items() if found}
        for school, _ in await schools_in_scope(r.session, window):
            if school.urn not in held:
                targets[school.urn] = school
        after = await window_after(r.session, window)
        for urn, school in sorted(targets.items()):
            await r.plan(
                key=f"remind{days}:{window.id}:{urn}",
                audience="school",
                school_urn=urn,
                window_id=window.id,
                kind="reminder",
                body=announcements.reminder(
                    window, school, days=days, drafts=drafts.get(urn, []), after=after
                ).to_dict(),
            )
        told = [school for _, school in sorted(targets.items())]
        missed = await audiences.without_destination(r.session, told, r.reach) if r.reach else []
        r.planned.lines.append(
            f"{window_name(window)} closes in {days} day{'s' if days > 1 else ''}: "
            f"reminding {len(told)} schools" + _missed_line(missed)
        )
        return True

    return remind


async def _remind_of_session(r: Round, window: Window) -> bool:
    """Two days before the window's information session, each school in scope is reminded, with its .ics; once
    (the step's flag, session_reminded_at, and a key naming the session's time). A session the announcement still to
    go will name waits for it, and so does one with no school in scope yet."""
    at = window.session_at
    if at is None or window.session_reminded_at is not None:
        return False
    if information_session.carried_by_announcement(window, at):
        return False
    in_scope = [school for school, _ in await schools_in_scope(r.session, window)]
    if not in_scope:
        return False  # no need imported yet: those it puts in scope are reminded once it is, until the session
    calendar = await _session_calendar(r, window)
    words = information_session.reminder(window, r.now).to_dict()
    stamp = f"{at:%Y%m%dT%H%M}"
    for school in in_scope:
        for kind, body in (("calendar", calendar), ("information session", words)):
            await r.plan(
                key=f"session-{'ics' if kind == 'calendar' else 'reminder'}:{window.id}:{stamp}:{school.urn}",
                audience="school",
                school_urn=school.urn,
                window_id=window.id,
                kind=kind,
                body=body,
            )
    missed = await audiences.without_destination(r.session, in_scope, r.reach) if r.reach else []
    r.planned.lines.append(
        f"{window_name(window)}: information session in two days: reminding {len(in_scope)} schools"
        + _missed_line(missed)
    )
    return True


def _session_due(window: Window) -> datetime:
    # A window without a session has nothing due: its closing is as good as never (the step lapses then).
    return window.session_at - information_session.SESSION_REMINDER if window.session_at else window.closes_at


async def _summary(r: Round, window: Window) -> bool:
    """Officers hear what came in: the close-of-window summary."""
    found = await eois_in(r.session, window)
    body = announcements.closing_summary(window, found, await need_for(r.session, window)).to_dict()
    await r.plan(
        key=f"summary:{window.id}", audience="officers", window_id=window.id, kind="closing summary", body=body
    )
    r.planned.lines.append(f"{window_name(window)} closed: summary to officers")
    return True


def _before_close(days: int) -> Callable[[Window], datetime]:
    # Never before the announcement: in a window shorter than the reminder, both go when it opens.
    return lambda window: max(window.closes_at - timedelta(days=days), window.opens_at)


WINDOW_STEPS: tuple[WindowStep, ...] = (
    WindowStep(
        "before opening",
        due=lambda w: w.opens_at - BEFORE_OPENING,
        until=lambda w: w.opens_at,
        flag=None,
        hears="officers: how many schools are in scope and which nothing reaches (or that no need is imported)",
        plan=_before_opening,
    ),
    WindowStep(
        "announce",
        due=lambda w: w.opens_at,
        until=lambda w: w.closes_at,
        flag="announced_at",
        hears="each school in scope, with its priority needs; then officers, how many were told",
        plan=_announce,
    ),
    WindowStep(
        "remind",
        days=7,
        due=_before_close(7),
        until=lambda w: w.closes_at,
        flag="reminded_7_at",
        hears="schools in scope that put nothing forward, and any school with a draft in the window",
        plan=_remind(7),
    ),
    WindowStep(
        "remind",
        days=1,
        due=_before_close(1),
        until=lambda w: w.closes_at,
        flag="reminded_1_at",
        hears="schools in scope that put nothing forward, and any school with a draft in the window",
        plan=_remind(1),
    ),
    WindowStep(
        "session reminder",
        due=_session_due,
        until=lambda w: w.session_at or w.closes_at,
        flag="session_reminded_at",  # cleared when the session moves: the new time is reminded of
        hears="each school in scope: the information session in two days, with its .ics",
        plan=_remind_of_session,
        applies=lambda w: w.session_at is not None,
    ),
    WindowStep(
        "summary",
        due=lambda w: w.closes_at,
        until=None,
        flag="summarised_at",
        hears="officers: the close-of-window summary",
        plan=_summary,
    ),
)


def _to_come(row: WindowStep, window: Window, now: datetime) -> bool:
    """Whether the row is still to come for the window: not recorded as run, and not lapsed."""
    recorded = row.flag is not None and getattr(window, row.flag) is not None
    return row.applies(window) and not recorded and (row.until is None or now < row.until(window))


def steps_to_come(window: Window, now: datetime) -> list[ScheduledStep]:
    """The steps the window records (`flag`) not yet done, in the order they run; those with `due <= now` are due
    now. The scheduler (plan_due), `eoi-bot doctor` and the scheduler-lag metric all read this one list."""
    if window.cancelled_at is not None:
        return []
    return [
        ScheduledStep(window, row.what, row.due(window), row.days)
        for row in WINDOW_STEPS
        if row.flag is not None and _to_come(row, window, now)
    ]


# A milestone or a follow-up ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DueStep:
    """One row of a milestone's or a follow-up's schedule: the reminder before its due date (within the plan's
    reminder period, or a follow-up's REMIND_DAYS), or the notice once it is late. `key` names the thing (and a
    follow-up's due date, so a follow-up moved to a later date is reminded again)."""

    kind: str  # the notice's kind
    late: bool  # due once the date has passed; else before it
    hears: str  # OWNER or OFFICERS
    key: str  # formatted with the thing's id and due date
    said: str = ""  # a milestone's line for the log, formatted with ref, title and who hears (follow-ups: one count)
    # A milestone's words (session, milestone, EOI, school, now); a follow-up's are discussion_outcomes.reminder.
    words: Callable[[AsyncSession, Milestone, EOI, School, datetime], Awaitable[Reply]] | None = None


MILESTONE_STEPS: tuple[DueStep, ...] = (
    DueStep(
        "milestone due",
        late=False,
        hears=OWNER,
        key="milestone-due:{id}",
        said="{ref}: {title} due soon: {hears} reminded",
        words=milestone_words.reminder,
    ),
    DueStep(
        "milestone late",
        late=True,
        hears=OFFICERS,
        key="milestone-late:{id}",
        said="{ref}: {title} is late: officers told",
        words=milestone_words.slipped,
    ),
)
FOLLOW_UP_STEPS: tuple[DueStep, ...] = (
    DueStep("follow-up reminder", late=False, hears=OWNER, key="follow-up:{id}:{due}:due"),
    DueStep("follow-up overdue", late=True, hears=OFFICERS, key="follow-up:{id}:{due}:late"),
)


def _step(steps: tuple[DueStep, ...], late: bool) -> DueStep:
    return next(row for row in steps if row.late == late)


async def _milestones(r: Round) -> None:
    """Each milestone's owner is reminded once, `remind_days_before` its due date (storage/implementation_plan.yaml),
    and officers are told once when one slips past it."""
    for milestone, eoi, school in await implementation.due_soon_or_late(r.session, r.now):
        row = _step(MILESTONE_STEPS, milestone.due_at <= r.now)
        owned = "school" if milestone.owner == implementation.SCHOOL_OWNS else "officers"
        hears = owned if row.hears == OWNER else "officers"
        write = row.words
        assert write is not None

        async def words(m: Milestone = milestone, e: EOI = eoi, s: School = school, w: Any = write) -> dict[str, Any]:
            return (await w(r.session, m, e, s, r.now)).to_dict()

        key = row.key.format(id=milestone.id)
        if await r.plan(key=key, audience=hears, school_urn=school.urn, eoi_id=eoi.id, kind=row.kind, body=words):
            r.planned.lines.append(row.said.format(ref=eoi.ref, title=milestone.title, hears=hears))


async def _follow_ups(r: Round) -> None:
    """Follow-ups from discussions (dialogs.discussion_outcomes): the owner is reminded REMIND_DAYS before the due
    date (the school for its own, officers for ECC's; discussion_outcomes.reminded_on is the day, which the
    officer's confirmation promises), and officers are told of one still open after it."""
    today = r.now.astimezone(LONDON).date()
    found = await discussions.open_due_by(r.session, today + timedelta(days=discussion_outcomes.REMIND_DAYS))
    names = await people.names_of(r.session, {a.owner_officer for a, _ in found if a.owner_officer})
    planned = 0
    for follow_up, eoi in found:
        school = await r.session.get(School, eoi.school_urn)
        assert school is not None
        row = _step(FOLLOW_UP_STEPS, follow_up.due_on < today)
        hears = "school" if row.hears == OWNER and follow_up.owner == discussions.SCHOOL else "officers"

        async def words(
            f: FollowUp = follow_up, e: EOI = eoi, s: School = school, late: bool = row.late
        ) -> dict[str, Any]:
            owner_name = names.get(f.owner_officer, "")
            return discussion_outcomes.reminder(f, e, s, owner_name=owner_name, late=late).to_dict()

        planned += await r.plan(
            key=row.key.format(id=follow_up.id, due=follow_up.due_on.isoformat()),
            audience=hears,
            school_urn=school.urn,
            eoi_id=eoi.id,
            window_id=eoi.window_id,
            kind=row.kind,
            body=words,
        )
    if planned:
        r.planned.lines.append(f"Follow-ups from discussions: {planned} reminders or overdue notices")


# The planner ------------------------------------------------------------------------------------------------------


async def plan_due(
    session: AsyncSession, now: datetime, *, dry_run: bool = False, reach: audiences.Reach | None = None
) -> Planned:
    """Plan every message due now, then commit (a dry run says what it would plan and rolls back). `reach` says
    where a school would hear (the dispatcher's senders): with it, the schools nothing reaches are counted and
    named, to the log and to officers. Windows are taken FOR UPDATE SKIP LOCKED: a second replica planning at the
    same moment leaves a window being planned to the first."""
    r = Round(session, now, reach, Planned())
    windows = list(
        await session.scalars(
            select(Window)
            .where(Window.cancelled_at.is_(None))
            .order_by(Window.opens_at)
            .with_for_update(skip_locked=True)
        )
    )
    for window in windows:
        due = [row for row in WINDOW_STEPS if _to_come(row, window, now) and row.due(window) <= now]
        for row in due:
            if await row.plan(r, window) and row.flag is not None:
                setattr(window, row.flag, now)
    await _milestones(r)
    await _follow_ups(r)
    if dry_run:
        await session.rollback()
    else:
        await session.commit()
    return r.planned
