"""A discussion after shortlisting, beyond booking it (storage.eois.schedule_discussion): the school's answer,
calling it off whatever else happens to the EOI, its outcome per agenda topic, and the follow-up actions agreed.
Every change is audited."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit
from storage.lifecycle import MAY_HAVE_A_DISCUSSION, SCHEDULED
from storage.models import EOI, Discussion, DiscussionOutcome, FollowUp

INVITED, ACCEPTED, ANOTHER_TIME = "invited", "accepted", "another time requested"
REPLACED, CANCELLED = "replaced", "cancelled"
GONE = (REPLACED, CANCELLED)  # a discussion that no longer stands: moved to another time, or called off
AGREED, FOLLOW_UP = "agreed", "follow up"
RESULTS = (AGREED, FOLLOW_UP)
SCHOOL, ECC = "school", "ecc"  # who owns a follow-up
OPEN, DONE, DROPPED = "open", "done", "dropped"  # a follow-up's status; dropped: its topic was recorded again


def new_calendar_uid() -> str:
    """A calendar event's UID (RFC 5545): unique everywhere, kept while the discussion is moved."""
    return f"eoi-discussion-{uuid.uuid4()}@eoi-bot"


async def current(session: AsyncSession, eoi_id: int) -> Discussion | None:
    """The EOI's discussion that still stands (invited, accepted or asked to move), if any."""
    return await session.scalar(
        select(Discussion)
        .where(Discussion.eoi_id == eoi_id, Discussion.response.notin_(GONE))
        .order_by(Discussion.scheduled_at.desc(), Discussion.id.desc())
        .limit(1)
    )


async def standing(session: AsyncSession, eoi_ids: list[int]) -> dict[int, Discussion]:
    """Each EOI's discussion that still stands (as `current`), in one query (the export's discussion columns)."""
    rows = await session.scalars(
        select(Discussion)
        .where(Discussion.eoi_id.in_(eoi_ids), Discussion.response.notin_(GONE))
        .order_by(Discussion.scheduled_at, Discussion.id)
    )
    return {d.eoi_id: d for d in rows}  # later rows replace earlier ones


async def cancel_discussion(
    session: AsyncSession, eoi: EOI, *, by: str, reason: str, now: datetime
) -> Discussion | None:
    """Call off the EOI's pending discussion, whatever happens to the EOI itself (an officer cancelling it, the
    school withdrawing, a decline): it is marked cancelled, its calendar SEQUENCE grows (the .ics CANCEL must be
    newer than the last REQUEST) and the audit log records it with the reason. Returns the discussion, or None
    when none was pending. The caller tells the school and officers (dialogs.discussion_notices.called_off).
    A discussion whose time has come is not called off: it took place (or was due to), and its calendar event
    stands as the record of it."""
    discussion = await current(session, eoi.id)
    if discussion is None or discussion.starts_at <= now:
        return None
    discussion.response = CANCELLED
    discussion.sequence += 1
    audit.record(
        session,
        at=now,
        actor=by,
        action="discussion cancelled",
        eoi_id=eoi.id,
        note=f"{discussion.starts_at.isoformat()}" + (f": {reason}" if reason else ""),
    )
    return discussion


LONGEST = timedelta(hours=8)  # the longest discussion `schedule` books: how far back one may start and still run on


async def clashing(
    session: AsyncSession, *, officer: str, starts_at: datetime, minutes: int, eoi_id: int
) -> list[tuple[Discussion, EOI]]:
    """The officer's other discussions still standing that would overlap one at `starts_at` for `minutes`
    (booked by them: `scheduled_by`), earliest first."""
    ends = starts_at + timedelta(minutes=minutes)
    rows = await session.execute(
        select(Discussion, EOI)
        .join(EOI, EOI.id == Discussion.eoi_id)
        .where(
            Discussion.scheduled_by == officer,
            Discussion.eoi_id != eoi_id,
            Discussion.response.notin_(GONE),
            EOI.status.in_(MAY_HAVE_A_DISCUSSION),
            Discussion.starts_at < ends,
            Discussion.starts_at > starts_at - LONGEST,
        )
        .order_by(Discussion.starts_at)
    )
    return [(d, e) for d, e in rows if d.starts_at + timedelta(minutes=d.duration_minutes) > starts_at]


async def scheduled_for(session: AsyncSession, school_urns: list[str]) -> list[EOI]:
    """These schools' EOIs with a discussion booked, oldest first: what an unnamed `accept` is about."""
    if not school_urns:
        return []
    return list(
        await session.scalars(
            select(EOI).where(EOI.school_urn.in_(school_urns), EOI.status == SCHEDULED).order_by(EOI.created_at, EOI.id)
        )
    )


def answer(session: AsyncSession, discussion: Discussion, *, response: str, by: str, now: datetime) -> None:
    """The school's answer to its invitation: accepted, or another time requested (proposals kept separately)."""
    discussion.response = response
    audit.record(session, at=now, actor=by, action=f"discussion {response}", eoi_id=discussion.eoi_id)


def propose(
    session: AsyncSession, discussion: Discussion, *, times: list[tuple[datetime, str]], by: str, now: datetime
) -> None:
    """The times the school suggests instead (each as read, and as typed); the officer books one or another."""
    discussion.response = ANOTHER_TIME
    discussion.proposals = [{"at": at.isoformat(), "words": words} for at, words in times]
    audit.record(
        session,
        at=now,
        actor=by,
        action="discussion times proposed",
        eoi_id=discussion.eoi_id,
        note="; ".join(at.isoformat() for at, _ in times),
    )


async def outcomes(session: AsyncSession, discussion_id: int) -> dict[str, DiscussionOutcome]:
    rows = await session.scalars(select(DiscussionOutcome).where(DiscussionOutcome.discussion_id == discussion_id))
    return {row.topic: row for row in rows}


async def record_outcome(
    session: AsyncSession,
    discussion: Discussion,
    *,
    topic: str,
    result: str,
    note: str,
    by: str,
    now: datetime,
    follow_up: tuple[str, str, date] | None = None,  # (owner, owner_officer, due) when result is FOLLOW_UP
) -> tuple[DiscussionOutcome, FollowUp | None]:
    """One agenda topic's outcome. Recording a topic again replaces its outcome, and an open follow-up from the
    earlier one is dropped (the new outcome says what stands). Audited either way."""
    if result not in RESULTS:
        raise ValueError(f"an outcome is one of {RESULTS}")
    found = (await outcomes(session, discussion.id)).get(topic)
    if found is None:
        found = DiscussionOutcome(eoi_id=discussion.eoi_id, discussion_id=discussion.id, topic=topic)
        session.add(found)
    found.result, found.note, found.recorded_by, found.recorded_at = result, note, by, now
    for earlier in await session.scalars(
        select(FollowUp).where(
            FollowUp.discussion_id == discussion.id, FollowUp.topic == topic, FollowUp.status == OPEN
        )
    ):
        earlier.status, earlier.done_by, earlier.done_at = DROPPED, by, now
    action = None
    if result == FOLLOW_UP:
        assert follow_up is not None, "a follow-up needs its owner and due date"
        owner, officer, due = follow_up
        action = FollowUp(
            eoi_id=discussion.eoi_id,
            discussion_id=discussion.id,
            topic=topic,
            what=note,
            owner=owner,
            owner_officer=officer,
            due_on=due,
            status=OPEN,
            created_by=by,
            created_at=now,
        )
        session.add(action)
    detail = f" ({owner}{' ' + officer if officer else ''}, due {due.isoformat()})" if follow_up else ""
    audit.record(
        session,
        at=now,
        actor=by,
        action="discussion outcome",
        eoi_id=discussion.eoi_id,
        note=f"{topic}: {result}{detail}" + (f": {note}" if note else ""),
    )
    await session.flush()
    return found, action


async def follow_ups(session: AsyncSession, eoi_id: int, *, open_only: bool = False) -> list[FollowUp]:
    """The EOI's follow-up actions, soonest due first (dropped ones left out)."""
    query = select(FollowUp).where(FollowUp.eoi_id == eoi_id, FollowUp.status != DROPPED)
    if open_only:
        query = query.where(FollowUp.status == OPEN)
    return list(await session.scalars(query.order_by(FollowUp.due_on, FollowUp.id)))


async def eois_with_open_follow_ups(session: AsyncSession, school_urn: str) -> list[EOI]:
    """The school's EOIs with a follow-up still open (a school typing `follow-up 1 done` means its only one)."""
    return list(
        await session.scalars(
            select(EOI)
            .where(EOI.school_urn == school_urn)
            .where(EOI.id.in_(select(FollowUp.eoi_id).where(FollowUp.status == OPEN)))
            .order_by(EOI.id)
        )
    )


def mark_done(session: AsyncSession, action: FollowUp, *, by: str, now: datetime, note: str = "") -> None:
    action.status, action.done_by, action.done_at = DONE, by, now
    audit.record(
        session,
        at=now,
        actor=by,
        action="follow-up done",
        eoi_id=action.eoi_id,
        note=f"{action.topic}: {action.what}" + (f" ({note})" if note else ""),
    )


async def open_due_by(session: AsyncSession, day: date) -> list[tuple[FollowUp, EOI]]:
    """Open follow-ups due on or before `day`, with their EOIs: what the scheduler reminds about."""
    rows = await session.execute(
        select(FollowUp, EOI)
        .join(EOI, EOI.id == FollowUp.eoi_id)
        .where(FollowUp.status == OPEN, FollowUp.due_on <= day)
        .order_by(FollowUp.due_on, FollowUp.id)
    )
    return [(action, eoi) for action, eoi in rows]
