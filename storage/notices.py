"""Messages for schools and officers, queued here and delivered by the channel adapters."""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, event, exists, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, aliased

from storage.models import Delivery, Notice, Window

_WAKES = "notices.wake dispatcher"  # session.info key
_NOTICES = Notice.__table__
# Officers' notices that say which state an EOI is in. Only the newest matters: a later one supersedes any
# earlier one about the same EOI not yet sent, so a school changing its mind ten times in a minute is at most a
# message or two, not forty ("changing", "resubmitted", "changing"... while the first still waits its turn).
EOI_STATE_KINDS = ("submitted", "resubmitted", "changing", "restarted", "withdrawn")
# A delivery not sent because a newer notice about the same EOI replaced it; one held for an officer's daily
# digest; one sent inside a digest.
SUPERSEDED, DIGEST, IN_DIGEST = "superseded", "digest", "in digest"
# The audience of a notice for one address outside chat (its `recipient`, "email:office@school.org").
ADDRESS = "address"


def _is_state(notice: type[Notice] | Notice) -> ColumnElement[bool]:
    return and_(notice.audience == "officers", notice.kind.in_(EOI_STATE_KINDS))


def superseded(notice: type[Notice] = Notice) -> ColumnElement[bool]:
    """True for an officers' state notice about an EOI that a newer one about the same EOI replaces."""
    newer = aliased(Notice)
    return and_(
        _is_state(notice),
        exists().where(_is_state(newer), newer.eoi_id == notice.eoi_id, newer.id > notice.id),
    )


async def is_superseded(session: AsyncSession, notice: Notice) -> bool:
    if notice.eoi_id is None or not (notice.audience == "officers" and notice.kind in EOI_STATE_KINDS):
        return False
    return bool(await session.scalar(select(superseded()).where(Notice.id == notice.id)))


async def supersede_unsent(session: AsyncSession, notice: Notice) -> int:
    """When `notice` (an officers' state notice) is planned: the earlier ones about its EOI still waiting to be
    sent (or held for a digest) won't be. Returns how many deliveries that stopped."""
    if notice.eoi_id is None or not (notice.audience == "officers" and notice.kind in EOI_STATE_KINDS):
        return 0
    older = select(Notice.id).where(_is_state(Notice), Notice.eoi_id == notice.eoi_id, Notice.id < notice.id)
    stopped = await session.execute(
        update(Delivery)
        .where(Delivery.notice_id.in_(older), Delivery.status.in_(("pending", DIGEST)))
        .values(status=SUPERSEDED)
        .execution_options(synchronize_session=False)
    )
    return stopped.rowcount or 0


@event.listens_for(Session, "before_flush")
def _note_what_the_dispatcher_acts_on(session: Session, _context: object, _instances: object) -> None:
    # A window changed (its announcements may now be due) wakes the dispatcher when the turn commits, as a
    # planned notice does (`plan`); a turn that only saved an answer leaves it asleep (it still looks every few
    # seconds).
    if any(isinstance(o, Window) for o in session.new) or any(isinstance(o, Window) for o in session.dirty):
        session.info[_WAKES] = True


def wake_dispatcher(session: AsyncSession) -> bool:
    """Whether this session queued a notice or changed a window: the dispatcher has something to do."""
    return bool(session.info.get(_WAKES))


# A notice's words, given as a function when they cost queries to write: called only for a notice not planned before.
Words = Callable[[], Awaitable[dict[str, Any]]]


async def plan(
    session: AsyncSession,
    *,
    key: str | None,
    audience: str,
    kind: str,
    body: dict[str, Any] | Words,
    now: datetime,
    school_urn: str | None = None,
    recipient: str = "",
    eoi_id: int | None = None,
    window_id: int | None = None,
) -> int | None:
    """The one way a message is planned: a Notice for its `audience` ("school": `school_urn`'s destinations;
    "officers"; "person": `recipient`, "platform:user_id"; "address": `recipient`, "email:someone@…"), which the
    dispatcher (bot/delivery.py) delivers once to each destination. A turn's notice has no key (the turn itself
    happens once). A scheduled one has a `key` naming what it is about ("announce:3:114000", "milestone-due:7"):
    the unique key is the one "only once" rule, an insert that does nothing when the key is already recorded (an
    earlier round, a restart, another replica), on SQLite and PostgreSQL alike. Returns the new notice's id, or
    None when its key was recorded before; words given as a function (`Words`) are written only then."""
    write = None if isinstance(body, dict) else body
    row = {
        "key": key,
        "audience": audience,
        "kind": kind,
        "body": {} if write else body,
        "created_at": now,
        "school_urn": school_urn,
        "recipient": recipient,
        "eoi_id": eoi_id,
        "window_id": window_id,
    }
    await session.flush()  # the school, EOI or window it names is written first, as a flush of the turn would
    insert = pg_insert if session.bind and session.bind.dialect.name == "postgresql" else sqlite_insert
    statement = insert(_NOTICES).values(row)
    if key is not None:
        statement = statement.on_conflict_do_nothing(index_elements=["key"])
    notice_id: int | None = await session.scalar(statement.returning(_NOTICES.c.id))
    if notice_id is None:
        return None
    if write is not None:
        # The row is this transaction's until it commits: nobody reads it before its words are written.
        await session.execute(update(_NOTICES).where(_NOTICES.c.id == notice_id).values(body=await write()))
    session.info[_WAKES] = True
    return notice_id


async def to_school(
    session: AsyncSession,
    *,
    school_urn: str,
    kind: str,
    body: dict[str, Any],
    now: datetime,
    eoi_id: int | None = None,
) -> int:
    """A turn's message for a school (its register channels, linked staff, else its register email)."""
    return _planned(
        await plan(
            session, key=None, audience="school", school_urn=school_urn, eoi_id=eoi_id, kind=kind, body=body, now=now
        )
    )


async def to_officers(
    session: AsyncSession,
    *,
    kind: str,
    body: dict[str, Any],
    now: datetime,
    eoi_id: int | None = None,
    school_urn: str | None = None,
) -> int:
    """A turn's message for the officers."""
    return _planned(
        await plan(
            session, key=None, audience="officers", school_urn=school_urn, eoi_id=eoi_id, kind=kind, body=body, now=now
        )
    )


async def to_person(
    session: AsyncSession, *, recipient: str, kind: str, body: dict[str, Any], now: datetime, eoi_id: int | None = None
) -> int:
    """A message for one person ("platform:user_id"), in their direct messages: a decision panel's stakeholder."""
    return _planned(
        await plan(
            session, key=None, audience="person", recipient=recipient, eoi_id=eoi_id, kind=kind, body=body, now=now
        )
    )


async def to_address(
    session: AsyncSession,
    *,
    recipient: str,
    kind: str,
    body: dict[str, Any],
    now: datetime,
    school_urn: str | None = None,
    eoi_id: int | None = None,
) -> int:
    """A message for one address outside chat ("email:office@school.org"): a school's copy of its EOI, to the
    contact email its answers give. Delivered once, retried and recorded like any notice; none when nothing enabled
    can reach the address (no email configured)."""
    return _planned(
        await plan(
            session,
            key=None,
            audience=ADDRESS,
            recipient=recipient,
            school_urn=school_urn,
            eoi_id=eoi_id,
            kind=kind,
            body=body,
            now=now,
        )
    )


def _planned(notice_id: int | None) -> int:
    assert notice_id is not None, "a notice without a key is always recorded"
    return notice_id


async def undelivered(
    session: AsyncSession,
    *,
    destination: str,
    audience: str,
    school_urn: str | None,
    after_id: int = 0,
    recipient: str = "",
) -> list[Notice]:
    """Notices for this audience not yet delivered to this destination, oldest first; with `recipient`, those
    for that one person too."""
    delivered = select(Delivery.notice_id).where(Delivery.destination == destination, Delivery.notice_id.is_not(None))
    for_them = and_(Notice.audience == "person", Notice.recipient == recipient)
    mine = Notice.audience == audience
    if school_urn is not None:
        mine = and_(mine, Notice.school_urn == school_urn)
    if audience == "person":
        mine = for_them
    elif recipient:
        mine = or_(mine, for_them)
    query = select(Notice).where(mine, Notice.id > after_id, Notice.id.not_in(delivered), ~superseded())
    return list(await session.scalars(query.order_by(Notice.id)))


def mark_delivered(session: AsyncSession, notice: Notice, *, destination: str, now: datetime) -> None:
    session.add(
        Delivery(
            key=f"notice:{notice.id}:{destination}",
            notice_id=notice.id,
            school_urn=notice.school_urn,
            destination=destination,
            status="sent",
            payload=notice.body,
            attempts=1,
            created_at=now,
            sent_at=now,
        )
    )


async def delivery_counts(session: AsyncSession, *, window_id: int) -> Counter[str]:
    """How many deliveries of the window's notices are in each status ("sent", "pending", "sending", "failed")."""
    rows = await session.execute(
        select(Delivery.status, func.count())
        .join(Notice, Notice.id == Delivery.notice_id)
        .where(Notice.window_id == window_id)
        .group_by(Delivery.status)
    )
    return Counter({status: n for status, n in rows.all()})


async def failed_deliveries(session: AsyncSession, *, window_id: int, limit: int = 40) -> list[Delivery]:
    """The window's deliveries that failed for good, by school."""
    return list(
        await session.scalars(
            select(Delivery)
            .join(Notice, Notice.id == Delivery.notice_id)
            .where(Notice.window_id == window_id, Delivery.status == "failed")
            .order_by(Delivery.school_urn)
            .limit(limit)
        )
    )
