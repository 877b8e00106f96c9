"""How long each kind of record is kept (UK GDPR storage limitation), and removing what has outlived it.

The rules are a table: each kind names which rows it covers, the time its age is measured from, the setting
that holds its period and the default. `apply` runs them in order inside one transaction, so a dry run is the
real run rolled back and shows exactly what the real one would remove.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, delete, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage import audit
from storage.eois import DECLINED, DRAFT, NOT_SHORTLISTED, WITHDRAWN
from storage.models import (
    EOI,
    AuditEntry,
    ConversationRef,
    Decision,
    Delivery,
    Discussion,
    DiscussionOutcome,
    EvidenceFile,
    FollowUp,
    Milestone,
    Notice,
    Person,
    Recommendation,
    SchoolLink,
    Window,
)

ACTOR = "retention"
# Deliveries still to be sent (or held for an officer's digest) are never removed: a message is sent or given up
# on before it is forgotten.
UNFINISHED = ("pending", "sending", "digest")


# What goes with a removed EOI, counted in the order its audit note and the outcome line name them.
WITH_AN_EOI = ("audit entries", "notices", "deliveries", "discussions", "decisions", "files")


@dataclass(frozen=True)
class Rule:
    kind: str  # the name people read in the output, and the key of its period in Settings.retention_days
    rows: str  # which rows, in words
    measured_from: str  # the time the age counts from, in words
    setting: str  # the environment variable holding the period in days
    default_days: int
    why: str  # the reasoning, shown in the README


RULES: tuple[Rule, ...] = (
    Rule(
        kind="drafts never submitted",
        rows="EOIs still in draft (with their files, discussions, decisions, notices, deliveries and audit entries)",
        measured_from="the later of the close of the draft's window and its last change",
        setting="EOI_RETAIN_DRAFTS_DAYS",
        default_days=365,
        why="a draft not submitted a year after its window closed will not be; a school that comes back "
        "sooner keeps its draft, carried to the next window",
    ),
    Rule(
        kind="unsuccessful EOIs",
        rows="EOIs declined, withdrawn or not shortlisted (with everything attached to them, as above)",
        measured_from="the decision or withdrawal (the EOI's last change)",
        setting="EOI_RETAIN_UNSUCCESSFUL_DAYS",
        default_days=730,
        why="councils keep unsuccessful applications for about one to two years: long enough for a complaint "
        "or a reapplication in the next round to be handled. Approved EOIs are the commissioning record "
        "and are never removed by retention",
    ),
    Rule(
        kind="audit entries",
        rows="entries in the audit log, about any EOI or none",
        measured_from="when the entry was recorded",
        setting="EOI_RETAIN_AUDIT_DAYS",
        default_days=2190,
        why="six years, the limitation period for a claim about a decision",
    ),
    Rule(
        kind="delivery log",
        rows="messages sent or given up on (deliveries), and notices with no message still to send",
        measured_from="when the message or notice was recorded",
        setting="EOI_RETAIN_DELIVERY_LOG_DAYS",
        default_days=90,
        why='enough to answer "did the school get the message?" for a term; a delivery that finally '
        "failed was reported to officers at the time",
    ),
    Rule(
        kind="people with no role",
        rows="people who are not an officer, act for no school and are named in no EOI, audit entry, panel or "
        "message still to send (with their personal chat references); and stored personal chat references of "
        "people the bot no longer knows",
        measured_from="their last message to the bot (the reference's last update)",
        setting="EOI_RETAIN_PEOPLE_DAYS",
        default_days=90,
        why="nothing is lost by removing them: a person with no role is made again, from what their platform "
        "says, at their next message. 90 days keeps them as long as the delivery log, so every message in the "
        "log can still be traced to who it went to",
    ),
)
BY_KIND = {rule.kind: rule for rule in RULES}


def parse_days(rule: Rule, raw: str | None) -> int:
    """The period from the environment: a whole number of days, at least 1 (empty: the default)."""
    if raw is None or not raw.strip():
        return rule.default_days
    text = raw.strip()
    if not text.isdecimal() or int(text) < 1:
        raise ValueError(f"{rule.setting}={raw!r} should be a whole number of days, at least 1")
    return int(text)


@dataclass
class Outcome:
    rule: Rule
    days: int
    cutoff: datetime
    counts: dict[str, int] = field(default_factory=dict)  # "EOIs", "audit entries", "notices", ...
    refs: list[str] = field(default_factory=list)  # the EOIs removed, by reference

    def line(self) -> str:
        counted = ", ".join(f"{n} {what}" for what, n in self.counts.items() if n) or "nothing"
        refs = f": {', '.join(self.refs)}" if self.refs else ""
        return (
            f"{self.rule.kind} ({self.rule.setting}={self.days} days from {self.rule.measured_from}; "
            f"before {self.cutoff.date().isoformat()}): {counted}{refs}"
        )


@dataclass
class RetentionReport:
    dry_run: bool
    outcomes: list[Outcome]

    @property
    def lines(self) -> list[str]:
        head = "Retention (dry run: nothing removed)" if self.dry_run else "Retention: removed"
        return [head, *(f"  {o.line()}" for o in self.outcomes)]


async def _count_delete(session: AsyncSession, model: type, where: ColumnElement[bool]) -> int:
    result = await session.execute(delete(model).where(where).execution_options(synchronize_session=False))
    return result.rowcount or 0


async def remove_eois(session: AsyncSession, ids: list[int]) -> dict[int, dict[str, int]]:
    """Delete these EOIs and everything that refers to them, children first so foreign keys hold on every
    database; returns what went with each EOI. In batches, so a first run over years of data stays quick."""
    counted: dict[int, dict[str, int]] = {i: dict.fromkeys(WITH_AN_EOI, 0) for i in ids}
    for start in range(0, len(ids), 500):
        batch = ids[start : start + 500]
        per_eoi = {
            "audit entries": select(AuditEntry.eoi_id, func.count()).where(AuditEntry.eoi_id.in_(batch)),
            "notices": select(Notice.eoi_id, func.count()).where(Notice.eoi_id.in_(batch)),
            "deliveries": select(Notice.eoi_id, func.count())
            .select_from(Delivery)
            .join(Notice, Notice.id == Delivery.notice_id)
            .where(Notice.eoi_id.in_(batch)),
            "discussions": select(Discussion.eoi_id, func.count()).where(Discussion.eoi_id.in_(batch)),
            "decisions": select(Decision.eoi_id, func.count()).where(Decision.eoi_id.in_(batch)),
            "files": select(EvidenceFile.eoi_id, func.count()).where(EvidenceFile.eoi_id.in_(batch)),
        }
        for what, query in per_eoi.items():
            for eoi_id, n in await session.execute(query.group_by(query.selected_columns[0])):
                counted[eoi_id][what] = n
        notices = select(Notice.id).where(Notice.eoi_id.in_(batch))
        await _count_delete(session, Delivery, Delivery.notice_id.in_(notices))
        # A panel's recommendations refer to its decision, so they go first; a discussion's outcomes and
        # follow-ups go before it. (Approved EOIs, the only ones with milestones, are never removed; the plan is
        # listed so that stays true if that rule changes.) The files would go with the EOI by its foreign key's
        # ON DELETE CASCADE (SQLite enforces it: foreign_keys=ON); deleted here all the same, to be counted.
        models = (
            Notice,
            DiscussionOutcome,
            FollowUp,
            Discussion,
            Recommendation,
            Milestone,
            Decision,
            AuditEntry,
            EvidenceFile,
        )
        for model in models:
            await _count_delete(session, model, model.eoi_id.in_(batch))
        await _count_delete(session, EOI, EOI.id.in_(batch))
    return counted


async def _remove_eois(session: AsyncSession, outcome: Outcome, query: ColumnElement[bool], now: datetime) -> None:
    found = (
        await session.execute(
            select(EOI.id, EOI.ref, EOI.school_urn, EOI.status)
            .outerjoin(Window, Window.id == EOI.window_id)
            .where(query)
            .order_by(EOI.ref, EOI.id)
        )
    ).all()
    counted = await remove_eois(session, [row.id for row in found])
    totals = {"EOIs": len(found), **dict.fromkeys(WITH_AN_EOI, 0)}
    for row in found:
        label = row.ref or f"an unreferenced draft of school {row.school_urn}"
        outcome.refs.append(label)
        for what, n in counted[row.id].items():
            totals[what] += n
        # What went, by reference and count only: the removed record's content and people stay gone.
        audit.record(
            session,
            at=now,
            actor=ACTOR,
            action="retention remove",
            from_status=row.status,
            note=f"{label} ({outcome.rule.kind}, kept {outcome.days} days): removed with "
            + ", ".join(f"{n} {what}" for what, n in counted[row.id].items()),
        )
    outcome.counts = totals


async def _drafts(session: AsyncSession, outcome: Outcome, now: datetime) -> None:
    cutoff = outcome.cutoff
    window_closed = or_(EOI.window_id.is_(None), Window.closes_at < cutoff)
    await _remove_eois(session, outcome, and_(EOI.status == DRAFT, EOI.updated_at < cutoff, window_closed), now)


async def _unsuccessful(session: AsyncSession, outcome: Outcome, now: datetime) -> None:
    unsuccessful = EOI.status.in_((DECLINED, WITHDRAWN, NOT_SHORTLISTED))
    await _remove_eois(session, outcome, and_(unsuccessful, EOI.updated_at < outcome.cutoff), now)


async def _audit(session: AsyncSession, outcome: Outcome, now: datetime) -> None:
    removed = await _count_delete(session, AuditEntry, AuditEntry.at < outcome.cutoff)
    outcome.counts = {"audit entries": removed}
    if removed:
        audit.record(
            session,
            at=now,
            actor=ACTOR,
            action="retention remove",
            note=f"{removed} audit entries recorded before {outcome.cutoff.date().isoformat()}",
        )


async def _delivery_log(session: AsyncSession, outcome: Outcome, now: datetime) -> None:
    cutoff = outcome.cutoff
    finished = Delivery.status.not_in(UNFINISHED)
    unsent = aliased(Delivery)  # not the rows being deleted: a notice's other deliveries
    still_to_send = exists().where(unsent.notice_id == Notice.id, unsent.status.in_(UNFINISHED))
    old_notices = select(Notice.id).where(Notice.created_at < cutoff, ~still_to_send)
    # A notice and its deliveries go together: the console shows again any notice it has no delivery for.
    announcements = and_(Delivery.notice_id.is_(None), Delivery.created_at < cutoff)
    deliveries = await _count_delete(
        session, Delivery, and_(finished, or_(announcements, Delivery.notice_id.in_(old_notices)))
    )
    notices = await _count_delete(
        session,
        Notice,
        and_(Notice.created_at < cutoff, ~exists().where(Delivery.notice_id == Notice.id)),
    )
    outcome.counts = {"deliveries": deliveries, "notices": notices}
    if deliveries or notices:
        audit.record(
            session,
            at=now,
            actor=ACTOR,
            action="retention remove",
            note=f"{deliveries} deliveries and {notices} notices recorded before {cutoff.date().isoformat()}",
        )


async def _people(session: AsyncSession, outcome: Outcome, now: datetime) -> None:
    cutoff = outcome.cutoff
    key = Person.platform + ":" + Person.user_id  # as EOIs, the audit log and panels name people
    # Whatever still needs to say who someone is: they stay as long as it does (its own rule removes it).
    needed = or_(
        exists().where(SchoolLink.person_id == Person.id),
        exists().where(EOI.started_by == key),
        exists().where(AuditEntry.actor == key),
        exists().where(Recommendation.member == key),
        exists().where(FollowUp.owner_officer == key),
        exists().where(Notice.recipient == key, Notice.planned_at.is_(None)),
    )
    idle = or_(Person.seen_at.is_(None), Person.seen_at < cutoff)
    gone = list(
        (
            await session.execute(
                select(Person.id, Person.platform, Person.user_id).where(
                    Person.role == "",
                    Person.officer_granted_at.is_(None),
                    # An erased person's row keeps their pseudonym's number from being used again.
                    ~Person.user_id.like("erased-%"),
                    idle,
                    ~needed,
                )
            )
        ).all()
    )
    refs = 0
    for start in range(0, len(gone), 500):
        batch = gone[start : start + 500]
        theirs = or_(
            False,
            *(
                and_(ConversationRef.platform == p, ConversationRef.scope == "personal", ConversationRef.user_id == u)
                for _, p, u in batch
            ),
        )
        refs += await _count_delete(session, ConversationRef, theirs)
        await _count_delete(session, Person, Person.id.in_([row.id for row in batch]))
    # A personal chat's reference whose person the bot no longer has (erased, or removed above long ago).
    known = exists().where(Person.platform == ConversationRef.platform, Person.user_id == ConversationRef.user_id)
    refs += await _count_delete(
        session, ConversationRef, and_(ConversationRef.scope == "personal", ConversationRef.updated_at < cutoff, ~known)
    )
    outcome.counts = {"people": len(gone), "conversation references": refs}
    if gone or refs:
        audit.record(
            session,
            at=now,
            actor=ACTOR,
            action="retention remove",
            note=f"{len(gone)} people with no role, link or record and {refs} personal chat references, "
            f"not seen since before {cutoff.date().isoformat()}",
        )


APPLY: dict[str, Callable[[AsyncSession, Outcome, datetime], Awaitable[None]]] = {
    "people with no role": _people,
    "drafts never submitted": _drafts,
    "unsuccessful EOIs": _unsuccessful,
    "audit entries": _audit,
    "delivery log": _delivery_log,
}


async def apply(
    session: AsyncSession, now: datetime, days: Mapping[str, int] | None = None, *, dry_run: bool = False
) -> RetentionReport:
    """Remove what each rule says has outlived its period (or, dry run, only say what would go)."""
    days = days or {}
    outcomes = []
    for rule in RULES:
        period = days.get(rule.kind, rule.default_days)
        outcome = Outcome(rule, period, now - timedelta(days=period))
        await APPLY[rule.kind](session, outcome, now)
        outcomes.append(outcome)
    if dry_run:
        await session.rollback()
    else:
        await session.commit()
    return RetentionReport(dry_run, outcomes)
