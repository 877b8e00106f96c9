"""The one way an EOI's status changes (docs/ARCHITECTURE.md): where it stands now (`moment`), what the life table
(storage.lifecycle.LIFE) allows from there (`allowed`, `verdicts`), and the audited move (`transition`). Below
storage.eois, storage.implementation and storage.panel, which all move EOIs, so none of them imports another to
do it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit, discussions
from storage.lifecycle import (
    APPROVED,
    DECLINED,
    MAY_HAVE_A_DISCUSSION,
    LifeStep,
    Moment,
    NotAllowed,
    Refused,
    Verdict,
    choices,
    judge,
    phase_of,
)
from storage.models import EOI, AuditEntry, Decision, Window
from storage.windows import open_window


async def moment(session: AsyncSession, eoi: EOI, now: datetime) -> Moment:
    """Where the EOI stands at `now`, as the life table judges it: its state, its window's phase (and whether a
    later window is open), its last change, and its discussion still to come."""
    window = await session.get(Window, eoi.window_id) if eoi.window_id else None
    opens, closes = (window.opens_at, window.closes_at) if window is not None else (None, None)
    if window is not None and window.cancelled_at is not None:
        opens = closes = None  # a cancelled window never opens: its drafts wait for the next, as if planned
    later_open = False
    if closes is not None and now >= closes:
        found = await open_window(session, now)
        later_open = found is not None and found.id != eoi.window_id
    to_come = None
    if eoi.status in MAY_HAVE_A_DISCUSSION:
        discussion = await discussions.current(session, eoi.id)
        if discussion is not None and discussion.starts_at > now:
            to_come = discussion.starts_at
    changed = eoi.updated_at
    if eoi.status in (APPROVED, DECLINED):
        # The reopen period runs from the decision itself, not from an opening undone since (which leaves the
        # EOI approved again, but decided long ago).
        decided = await session.scalar(
            select(Decision.decided_at).where(Decision.eoi_id == eoi.id).order_by(Decision.id.desc()).limit(1)
        )
        changed = decided or changed
    return Moment(
        state=eoi.status,
        phase=phase_of(opens, closes, now, later_open=later_open),
        now=now,
        changed_at=changed,
        opens_at=opens,
        closes_at=closes,
        discussion_at=to_come,
    )


async def verdicts(session: AsyncSession, eoi: EOI, *, by: str, now: datetime) -> list[Verdict]:
    """What `by` may do with the EOI now (the table's `choices`): what buttons and promises are made from."""
    return choices(await moment(session, eoi, now), by)


async def allowed(session: AsyncSession, eoi: EOI, event: str, *, by: str, now: datetime) -> LifeStep:
    """The step the table (storage.lifecycle.LIFE) allows now, or NotAllowed saying why not: the one check
    behind every status change, and behind offering one (a button shown only when it would work)."""
    at = await moment(session, eoi, now)
    verdict = judge(event, at, by)
    if verdict.refused:
        raise NotAllowed(eoi.ref or "", eoi.status, event, verdict.refused, at.phase, at, by)
    assert verdict.step is not None
    return verdict.step


@dataclass(frozen=True)
class ChangeLimit:
    """How often one person may open an EOI for changes again: each time, officers are told (and told again at
    the resubmission), so without a limit one person could flood them. Submitting and withdrawing are never
    limited: a school can always finish what it started."""

    events: tuple[str, ...]
    most: int
    per: timedelta


CHANGE_LIMIT = ChangeLimit(events=("amend", "restart"), most=4, per=timedelta(hours=1))


class TooManyChanges(Refused):
    """One person reopened EOIs for changes `limit.most` times within `limit.per`; `again_at`: when they can."""

    def __init__(self, limit: ChangeLimit, again_at: datetime) -> None:
        super().__init__(f"at most {limit.most} changes per {limit.per}")
        self.limit, self.again_at = limit, again_at


async def _within_change_limit(session: AsyncSession, event: str, actor: str, now: datetime) -> None:
    limit = CHANGE_LIMIT
    if event not in limit.events:
        return
    recent = list(
        await session.scalars(
            select(AuditEntry.at)
            .where(AuditEntry.actor == actor, AuditEntry.action.in_(limit.events), AuditEntry.at > now - limit.per)
            .order_by(AuditEntry.at.desc())
            .limit(limit.most)
        )
    )
    if len(recent) >= limit.most:
        raise TooManyChanges(limit, recent[-1] + limit.per)


async def transition(
    session: AsyncSession, eoi: EOI, event: str, *, by: str, actor: str, now: datetime, note: str = ""
) -> LifeStep:
    """Move the EOI as the table says (`allowed`), or raise NotAllowed saying why not (TooManyChanges when this
    person has reopened EOIs for changes too often lately). Audited."""
    found = await allowed(session, eoi, event, by=by, now=now)
    await _within_change_limit(session, event, actor, now)
    before = eoi.status
    eoi.status, eoi.updated_at = found.target, now
    if event == "submit":
        eoi.submitted_at = now
    audit.record(
        session,
        at=now,
        actor=actor,
        action=found.audit,
        eoi_id=eoi.id,
        from_status=before,
        to_status=found.target,
        note=note,
    )
    return found
