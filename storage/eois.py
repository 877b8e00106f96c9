"""The life of an EOI (docs/ARCHITECTURE.md): drafts, answers, the allowed transitions, discussions and decisions."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, bindparam, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit, discussions
from storage.db import hold
from storage.lifecycle import (  # noqa: F401  (the states, re-exported: storage.eois.DRAFT reads well)
    APPROVED,
    DECLINED,
    DRAFT,
    EITHER,
    FINISHED,
    MAY_HAVE_A_DISCUSSION,
    NOT_SHORTLISTED,
    OFFICER,
    OPENED,
    SCHEDULED,
    SHORTLISTED,
    STATES,
    SUBMITTED,
    UNDER_CONSIDERATION,
    WITHDRAWN,
    LifeStep,
    Moment,
    NotAllowed,
    Refused,
    Verdict,
    choices,
    judge,
    phase_of,
    step,
)
from storage.models import EOI, Decision, Discussion, FollowUp, School, Window
from storage.transitions import transition
from storage.windows import current_or_next, open_window_id, window_code

PAGE_SIZE = 10


def can(event: str, status: str, by: str | None = None) -> bool:
    """Whether the table has `event` from `status` (for `by`, when given), whatever the moment: a quick "is
    there such a step at all"; what is allowed now is `allowed` / `verdicts`."""
    found = step(event, status)
    return found is not None and (by is None or found.by in (by, EITHER))


def _for_this_turn(query: Select[tuple[EOI]]) -> Select[tuple[EOI]]:
    """One turn per EOI at a time: the row stays locked until the turn commits (SELECT ... FOR UPDATE), so a
    second turn on the same EOI (a double click, another member of staff, another replica) waits, then sees
    what the first did. PostgreSQL needs this; SQLite's writers take turns anyway and it ignores FOR UPDATE."""
    return query.with_for_update().execution_options(populate_existing=True)


# Built once: nearly every turn runs it (school_eois).
_SCHOOL_EOIS = _for_this_turn(select(EOI).where(EOI.school_urn == bindparam("urn")).order_by(EOI.created_at, EOI.id))
# The commonest case in one statement: the school's EOIs, each with the window open now. No rows when no window is
# open or the school has no EOI yet; then the window and the EOIs are read one after the other. Only the EOIs are
# locked (FOR UPDATE OF eois), as _for_this_turn locks them.
_SCHOOL_EOIS_AND_OPEN_WINDOW = (
    select(EOI, Window)
    .join(Window, Window.id == open_window_id())
    .where(EOI.school_urn == bindparam("urn"))
    .order_by(EOI.created_at, EOI.id)
    .with_for_update(of=EOI)
    .execution_options(populate_existing=True)
)


async def by_id(session: AsyncSession, eoi_id: int) -> EOI | None:
    """The EOI, locked for this turn as every turn's EOI is (a double click on a button waits, then sees what the
    first did)."""
    return await session.scalar(_for_this_turn(select(EOI).where(EOI.id == eoi_id)))


async def by_ref(session: AsyncSession, ref: str) -> EOI | None:
    return await session.scalar(_for_this_turn(select(EOI).where(func.upper(EOI.ref) == ref.strip().upper())))


async def _assign_ref(session: AsyncSession, eoi: EOI, window: Window) -> None:
    # One atomic increment per window: two officers' schools starting at once never share a number.
    number = await session.scalar(
        update(Window)
        .where(Window.id == window.id)
        .values(eoi_counter=Window.eoi_counter + 1)
        .returning(Window.eoi_counter)
    )
    eoi.window_id, eoi.ref = window.id, f"EOI-{window_code(window)}-{number:03d}"


@dataclass(frozen=True)
class Carried:
    """A draft left in a window that closed (or started before any window), moved to the window open or planned
    next under that window's reference: the turn that moved it tells the school (`take_carried`)."""

    eoi: EOI
    school: School
    old_ref: str  # "" for a draft that had no window, so no reference, yet
    window: Window


_CARRIED = "eois.carried"  # session.info key: what this turn moved, for the dialog to word


def take_carried(session: AsyncSession) -> list[Carried]:
    """The drafts this turn carried forward (each reported once)."""
    return session.info.pop(_CARRIED, [])


async def latest_eoi(session: AsyncSession, school: School) -> EOI | None:
    """The school's newest EOI in any window."""
    return await session.scalar(
        _for_this_turn(
            select(EOI).where(EOI.school_urn == school.urn).order_by(EOI.created_at.desc(), EOI.id.desc()).limit(1)
        )
    )


# States in which something is still ahead for an EOI, whatever its window: a decision to come, or (approved) its
# implementation until the provision opens.
STILL_AHEAD = (SUBMITTED, SHORTLISTED, SCHEDULED, UNDER_CONSIDERATION, APPROVED)


async def still_ahead(session: AsyncSession, school: School, besides: Iterable[int]) -> list[EOI]:
    """The school's EOIs other than `besides` that still have something ahead (a decision, implementation, or a
    follow-up agreed at a discussion still open), oldest first: `status` shows each, whatever its window."""
    open_follow_up = select(FollowUp.id).where(FollowUp.eoi_id == EOI.id, FollowUp.status == "open").exists()
    return list(
        await session.scalars(
            select(EOI)
            .where(
                EOI.school_urn == school.urn,
                EOI.id.notin_(list(besides)),
                or_(EOI.status.in_(STILL_AHEAD), open_follow_up),
            )
            .order_by(EOI.created_at, EOI.id)
        )
    )


async def counts_ahead(session: AsyncSession, now: datetime) -> tuple[dict[str, int], int, int]:
    """Across every window: how many EOIs are in each state that still has something ahead, how many
    discussions are still to come, and how many follow-ups agreed at discussions are still open (officers'
    `status`: finished is not forgotten)."""
    rows = await session.execute(
        select(EOI.status, func.count()).where(EOI.status.in_(STILL_AHEAD)).group_by(EOI.status)
    )
    by_state = {state: count for state, count in rows}
    to_come = await session.scalar(
        select(func.count(Discussion.id))
        .join(EOI, EOI.id == Discussion.eoi_id)
        .where(
            Discussion.starts_at > now,
            Discussion.response.notin_(discussions.GONE),
            EOI.status.in_(MAY_HAVE_A_DISCUSSION),
        )
    )
    follow_ups = await session.scalar(select(func.count(FollowUp.id)).where(FollowUp.status == "open"))
    return by_state, to_come or 0, follow_ups or 0


async def school_eois(session: AsyncSession, school: School, now: datetime) -> list[EOI]:
    """The school's EOIs that `start` and `status` are about, oldest first: those in the window open now (or
    planned next), at most one per provision type. A draft left in an earlier window, or started before any
    window, is carried forward to that window under a new reference (audited; `take_carried` says so to the turn),
    unless the school already has an EOI there for the same provision. A school whose EOI in an earlier window was
    submitted or finished has none here: `start` begins a new one. With no window open or planned, its draft, if
    it has one."""
    # Every EOI of the school in one query (a turn's commonest): those in the window, oldest first, and the
    # newest for each provision (and the newest not yet saying which), so a draft among them still elsewhere
    # comes here.
    rows = (await session.execute(_SCHOOL_EOIS_AND_OPEN_WINDOW, {"urn": school.urn, "now": now})).all()
    if rows:
        window = rows[0][1]
        hold(session, window)  # a turn looks it up again by id (session.get), as current_or_next holds it
        every: Iterable[EOI] = [eoi for eoi, _ in rows]
    else:
        found = await current_or_next(session, now)
        if found is None:
            latest = await latest_eoi(session, school)
            return [latest] if latest is not None and latest.status == DRAFT else []
        window, every = found, await session.scalars(_SCHOOL_EOIS, {"urn": school.urn})
    here: list[EOI] = []
    newest: dict[str, EOI] = {}
    for eoi in every:
        newest[eoi.offer] = eoi
        if eoi.window_id == window.id:
            here.append(eoi)
    taken = {eoi.offer for eoi in here}
    for offer, eoi in newest.items():
        if eoi.status == DRAFT and eoi.window_id != window.id and offer not in taken:
            await _carry_forward(session, school, eoi, window, now)
            here.append(eoi)
    return here


async def _carry_forward(session: AsyncSession, school: School, eoi: EOI, window: Window, now: datetime) -> None:
    old_ref = eoi.ref or ""
    await _assign_ref(session, eoi, window)
    eoi.updated_at, eoi.submitted_at = now, None  # an amended draft is a new EOI in the new window
    audit.record(
        session,
        at=now,
        actor="system",
        action="carry forward",
        eoi_id=eoi.id,
        from_status=DRAFT,
        to_status=DRAFT,
        note=f"{old_ref or 'draft without a window'} -> {eoi.ref}",
    )
    session.info.setdefault(_CARRIED, []).append(Carried(eoi, school, old_ref, window))


async def school_eoi(session: AsyncSession, school: School, now: datetime, *, current: int | None = None) -> EOI | None:
    """The one of `school_eois` a turn is about: `current` (the EOI this person was last working on) when it is
    one of them, else the newest draft, else the newest."""
    found = await school_eois(session, school, now)
    chosen = next((eoi for eoi in found if eoi.id == current), None)
    drafts = [eoi for eoi in found if eoi.status == DRAFT]
    return chosen or (drafts[-1] if drafts else found[-1] if found else None)


class OfferTaken(Refused):
    """The school already has an EOI for this provision in this window (`eoi`): one per provision per window."""

    def __init__(self, eoi: EOI) -> None:
        super().__init__(f"{eoi.ref} already offers {eoi.offer} in this window")
        self.eoi = eoi


async def _lock_school(session: AsyncSession, school: School) -> None:
    # Staff of one school take turns on the school's row when they begin an EOI or say which provision it offers.
    # FOR NO KEY UPDATE, not FOR UPDATE: a notice recorded for the school meanwhile (its foreign key takes a KEY
    # SHARE lock) must not wait on us, or an officer changing the window deadlocks with a head starting an EOI.
    await session.execute(select(School.urn).where(School.urn == school.urn).with_for_update(key_share=True))


async def offer_taken(session: AsyncSession, eoi: EOI, offer: str) -> EOI | None:
    """The school's other EOI in `eoi`'s window offering `offer` ("": not yet saying which), if it has one."""
    if eoi.window_id is None:
        return None
    school = await session.get(School, eoi.school_urn)
    assert school is not None
    await _lock_school(session, school)
    return await session.scalar(
        select(EOI).where(
            EOI.school_urn == eoi.school_urn, EOI.window_id == eoi.window_id, EOI.offer == offer, EOI.id != eoi.id
        )
    )


async def start_draft(
    session: AsyncSession,
    school: School,
    *,
    actor: str,
    now: datetime,
    offer: str = "",
    answers: dict[str, Any] | None = None,
) -> EOI:
    """A new draft for the open (or next) window, offering `offer` ("" until the first question is answered, then
    `answers` hold that answer); with no window planned, a draft without a window yet. OfferTaken if the school
    already has an EOI for that provision in that window (one not yet saying which is continued instead).

    Staff of one school starting at once take turns on the school's row (there is no EOI row to lock yet):
    the second finds the first's draft and continues it."""
    await _lock_school(session, school)
    found = await school_eois(session, school, now)
    window = await current_or_next(session, now)
    if window is None and found:
        return found[0]  # no window yet: the one draft there is waits for one
    same = next((eoi for eoi in found if eoi.offer == offer), None)
    if same is not None:
        if offer:
            raise OfferTaken(same)
        return same
    if offer:
        blank = next((eoi for eoi in found if eoi.offer == "" and eoi.status == DRAFT), None)
        if blank is not None:  # a draft not yet saying which provision becomes this one
            blank.offer, blank.answers, blank.updated_at = offer, {**blank.answers, **(answers or {})}, now
            return blank
    eoi = EOI(
        school_urn=school.urn,
        status=DRAFT,
        offer=offer,
        answers=dict(answers or {}),
        started_by=actor,
        created_at=now,
        updated_at=now,
    )
    if window:
        await _assign_ref(session, eoi, window)
    session.add(eoi)
    await session.flush()
    audit.record(session, at=now, actor=actor, action="start", eoi_id=eoi.id, to_status=DRAFT, note=offer)
    return eoi


def save_answers(eoi: EOI, answers: dict[str, Any], *, now: datetime, primary_need: str, offer: str) -> None:
    """Store the answers, and what officers filter on: the primary need, and the provision offered (checked first
    with `offer_taken`: the database keeps one EOI per provision per school and window)."""
    eoi.answers = dict(answers)  # a new dict, so the JSON column sees the change
    eoi.updated_at, eoi.primary_need, eoi.offer = now, primary_need, offer


class SubmissionsClosed(Refused):
    """No window is open to submit in; `upcoming` is the next one, if any is planned (the dialog words it)."""

    def __init__(self, upcoming: Window | None) -> None:
        super().__init__("submissions are closed: no window is open")
        self.upcoming = upcoming


async def ensure_window_for_submit(session: AsyncSession, eoi: EOI, now: datetime) -> Window:
    from storage.windows import is_open, next_window

    window = await session.get(Window, eoi.window_id) if eoi.window_id else None
    if window and is_open(window, now):
        return window
    raise SubmissionsClosed(await next_window(session, now))


@dataclass(frozen=True)
class Filters:
    window_id: int | None = None
    status: str | None = None
    quadrant: str | None = None
    district: str | None = None
    need_type: str | None = None
    phase: str | None = None
    offer: str | None = None  # "resourced" | "partnership"


def _filtered(filters: Filters) -> Select[Any]:
    query = select(EOI, School).join(School, School.urn == EOI.school_urn)
    if filters.window_id is not None:
        query = query.where(EOI.window_id == filters.window_id)
    if filters.status:
        query = query.where(EOI.status == filters.status)
    if filters.quadrant:
        query = query.where(School.quadrant == filters.quadrant)
    if filters.district:
        query = query.where(School.district == filters.district)
    if filters.phase:
        query = query.where(School.phase == filters.phase)
    if filters.need_type:
        query = query.where(EOI.primary_need == filters.need_type)
    if filters.offer:
        query = query.where(EOI.offer == filters.offer)
    return query


async def list_eois(
    session: AsyncSession, filters: Filters, *, page: int = 1, page_size: int = PAGE_SIZE
) -> tuple[list[tuple[EOI, School]], int]:
    query = _filtered(filters)
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.execute(
        query.order_by(EOI.ref.is_(None), EOI.ref, EOI.id).offset((page - 1) * page_size).limit(page_size)
    )
    return [(eoi, school) for eoi, school in rows], total


async def of_schools_named(session: AsyncSession, wanted: str, *, limit: int = 50) -> tuple[list[School], list[EOI]]:
    """Schools whose URN is `wanted` or whose name contains it (any case), and their EOIs, newest first: how
    officers find an EOI when they know the school, not the reference."""
    folded = " ".join(wanted.split()).casefold()
    schools = list(
        await session.scalars(
            select(School)
            .where(or_(School.urn == wanted.strip(), func.lower(School.name).contains(folded)))
            .order_by(School.name)
            .limit(limit)
        )
    )
    if not schools:
        return [], []
    found = await session.scalars(
        select(EOI)
        .where(EOI.school_urn.in_([s.urn for s in schools]), EOI.ref.is_not(None))
        .order_by(EOI.created_at.desc(), EOI.id.desc())
    )
    return schools, list(found)


async def all_for_export(session: AsyncSession, filters: Filters) -> list[tuple[EOI, School]]:
    rows = await session.execute(_filtered(filters).order_by(EOI.ref, EOI.id))
    return [(eoi, school) for eoi, school in rows]


# A discussion that no longer stands: moved to another time, or called off.
REPLACED, CANCELLED, GONE = discussions.REPLACED, discussions.CANCELLED, discussions.GONE


async def current_discussion(session: AsyncSession, eoi_id: int) -> Discussion | None:
    return await discussions.current(session, eoi_id)


async def schedule_discussion(
    session: AsyncSession,
    eoi: EOI,
    *,
    starts_at: datetime,
    minutes: int,
    place: str,
    actor: str,
    now: datetime,
    attendees: list[str] | None = None,
) -> tuple[Discussion, list[tuple[Discussion, EOI]]]:
    """Returns the discussion and any other discussions within the hour (for a warning). A discussion moved
    keeps its calendar UID with a higher SEQUENCE (calendars move the event); a new one gets a new UID."""
    previous = await current_discussion(session, eoi.id)
    await transition(
        session,
        eoi,
        "schedule",
        by=OFFICER,
        actor=actor,
        now=now,
        note=f"{starts_at.isoformat()} for {minutes} min" + (f" at {place}" if place else ""),
    )
    if previous:
        previous.response = REPLACED
    discussion = Discussion(
        eoi_id=eoi.id,
        starts_at=starts_at,
        duration_minutes=minutes,
        place=place,
        scheduled_by=actor,
        scheduled_at=now,
        response="invited",
        calendar_uid=previous.calendar_uid if previous and previous.calendar_uid else discussions.new_calendar_uid(),
        sequence=previous.sequence + 1 if previous else 0,
        attendees=list(attendees if attendees is not None else previous.attendees if previous else []),
    )
    session.add(discussion)
    await session.flush()
    nearby = await session.execute(
        select(Discussion, EOI)
        .join(EOI, EOI.id == Discussion.eoi_id)
        .where(
            Discussion.id != discussion.id,
            Discussion.response.notin_(GONE),
            EOI.status.in_(MAY_HAVE_A_DISCUSSION),
            Discussion.starts_at > starts_at - timedelta(hours=1),
            Discussion.starts_at < starts_at + timedelta(hours=1),
        )
    )
    return discussion, [(d, e) for d, e in nearby]


def same_discussion(discussion: Discussion | None, *, starts_at: datetime, minutes: int, place: str) -> bool:
    """Whether `discussion` is already this one (start, length and place): booking it again changes nothing."""
    return (
        discussion is not None
        and discussion.starts_at == starts_at
        and discussion.duration_minutes == minutes
        and discussion.place == place
    )


async def cancel_discussion(
    session: AsyncSession, eoi: EOI, *, reason: str, actor: str, now: datetime
) -> Discussion | None:
    """Call off the EOI's discussion: it is marked cancelled and the EOI is shortlisted again (the table's
    `cancel-discussion`, audited with the reason). Returns the discussion that was cancelled."""
    await transition(session, eoi, "cancel-discussion", by=OFFICER, actor=actor, now=now, note=reason)
    return await discussions.cancel_discussion(session, eoi, by=actor, reason=reason, now=now)


@dataclass(frozen=True)
class Decided:
    decision: Decision
    called_off: Discussion | None  # a discussion still pending that a decline cancelled
    planned: Any = None  # an approval's implementation plan (storage.implementation.Planned)

    @property
    def event(self) -> str:
        """The life table's event this decision was: "approve" or "decline"."""
        return "approve" if self.decision.outcome == APPROVED else "decline"


async def decide(session: AsyncSession, eoi: EOI, *, outcome: str, note: str, actor: str, now: datetime) -> Decided:
    """Record the decision (LIFE's approve or decline). The decision panel's recommendations, if one was asked,
    become the decision's record; a decline calls off any discussion still pending."""
    from storage import implementation, panel

    event = "approve" if outcome == "approve" else "decline"
    await transition(session, eoi, event, by=OFFICER, actor=actor, now=now, note=note)
    decision = Decision(
        eoi_id=eoi.id,
        outcome=APPROVED if outcome == "approve" else DECLINED,
        note=note,
        decided_by=actor,
        decided_at=now,
    )
    session.add(decision)
    await session.flush()
    for row in await panel.open_panel(session, eoi.id):
        row.decision_id = decision.id
    called_off = planned = None
    if decision.outcome == DECLINED:
        called_off = await discussions.cancel_discussion(session, eoi, by=actor, reason="declined", now=now)
    else:
        planned = await implementation.make_plan(session, eoi, approved_at=now)
    return Decided(decision, called_off, planned)
