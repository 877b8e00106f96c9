"""Messages for schools and officers, queued here and delivered by the channel adapters."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, event, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, aliased

from storage.models import Delivery, Notice, Window

_WAKES = "notices.wake dispatcher"  # session.info key
# Officers' notices that say which state an EOI is in. Only the newest matters: a later one supersedes any
# earlier one about the same EOI not yet sent, so a school changing its mind ten times in a minute is at most a
# message or two, not forty ("changing", "resubmitted", "changing"... while the first still waits its turn).
EOI_STATE_KINDS = ("submitted", "resubmitted", "changing", "restarted", "withdrawn")
# A delivery not sent because a newer notice about the same EOI replaced it; one held for an officer's daily
# digest; one sent inside a digest.
SUPERSEDED, DIGEST, IN_DIGEST = "superseded", "digest", "in digest"


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
    # A notice to deliver, or a window changed (its announcements may now be due), wakes the dispatcher when
    # the turn commits; a turn that only saved an answer leaves it asleep (it still looks every few seconds).
    if any(isinstance(o, Notice | Window) for o in session.new) or any(isinstance(o, Window) for o in session.dirty):
        session.info[_WAKES] = True


def wake_dispatcher(session: AsyncSession) -> bool:
    """Whether this session queued a notice or changed a window: the dispatcher has something to do."""
    return bool(session.info.get(_WAKES))


def to_school(
    session: AsyncSession,
    *,
    school_urn: str,
    kind: str,
    body: dict[str, Any],
    now: datetime,
    eoi_id: int | None = None,
) -> Notice:
    notice = Notice(audience="school", school_urn=school_urn, eoi_id=eoi_id, kind=kind, body=body, created_at=now)
    session.add(notice)
    return notice


def to_officers(
    session: AsyncSession,
    *,
    kind: str,
    body: dict[str, Any],
    now: datetime,
    eoi_id: int | None = None,
    school_urn: str | None = None,
) -> Notice:
    notice = Notice(audience="officers", school_urn=school_urn, eoi_id=eoi_id, kind=kind, body=body, created_at=now)
    session.add(notice)
    return notice


def to_person(
    session: AsyncSession, *, recipient: str, kind: str, body: dict[str, Any], now: datetime, eoi_id: int | None = None
) -> Notice:
    """A message for one person ("platform:user_id"), in their direct messages: a decision panel's stakeholder."""
    notice = Notice(audience="person", recipient=recipient, eoi_id=eoi_id, kind=kind, body=body, created_at=now)
    session.add(notice)
    return notice


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


async def recorded_keys(session: AsyncSession, keys: list[str]) -> set[str]:
    """Which of these notice keys are already recorded (by an earlier round or another replica): a scheduler
    plans each notice once, so those are neither planned nor counted again."""
    if not keys:
        return set()
    return set(await session.scalars(select(Notice.key).where(Notice.key.in_(keys))))
