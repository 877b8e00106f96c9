"""Subject access and erasure (UK GDPR articles 15 and 17) for one person, found by email.

A person is known by their email, by each chat identity (`platform:user_id`) that carried it, and by every name
they went by (the register's headteacher name, each platform's display name, the contact name they gave). What is
held about them: their `people` rows, the register rows naming them as headteacher, EOIs they are the contact for
or started, audit entries they are the actor of, messages sent to their direct messages, stored conversation
references, the files sent as evidence with their EOIs (and any they sent to another), and any other text that
mentions their email, an identity or a name (found by scanning every text column, so a column added later is
covered too, and reading stored calendar files unfolded, where a long line may split a name or an address in two).

Erasure keeps the EOIs (they are the school's) and the audit trail (it is the council's record of decisions)
meaningful: the person's identity becomes `[erased person 17]` (17 = their people.id), which reads the same
everywhere it appears and matches nothing they could sign in with. Files are the exception: their content can't
be pseudonymised (a signed letter, a photo), so the files the export gives them are removed (`_their_files`).
"""

from __future__ import annotations

import base64
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, Table, Text, and_, cast, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import undefer

from storage import audiences, audit, evidence, web_sessions
from storage.models import (
    EOI,
    AuditEntry,
    Base,
    ConversationRef,
    Delivery,
    EvidenceFile,
    Person,
    ProcessedEvent,
    School,
)

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
ERASED = "[erased]"
# The EOI answers that name the contact (dialogs/questions/eoi.yaml); their role (e.g. "Headteacher") is kept.
CONTACT_FIELDS = ("contact_name", "contact_email", "contact_phone")
# Tables whose names belong to someone else even when they match: another person's display name, a school's name.
KEEP_NAMES = ("people", "schools")


@dataclass(frozen=True)
class Subject:
    email: str
    identities: tuple[str, ...] = ()  # `platform:user_id` given by hand: identities with no email on record

    @classmethod
    def parse(cls, email: str, identities: list[str] | tuple[str, ...] = ()) -> Subject:
        email = email.strip().lower()
        if not EMAIL.match(email):
            raise ValueError(f"{email!r} is not an email address")
        for identity in identities:
            platform, sep, user_id = identity.partition(":")
            if not sep or not platform or not user_id:
                raise ValueError(f"{identity!r} should look like platform:user_id (e.g. console:head-114000)")
        return cls(email, tuple(f"{i.partition(':')[0].lower()}:{i.partition(':')[2]}" for i in identities))


def pseudonym(person: Person | None) -> str:
    return f"[erased person {person.id}]" if person else "[erased person]"


async def people_of(session: AsyncSession, subject: Subject) -> list[Person]:
    pairs = [tuple(i.split(":", 1)) for i in subject.identities]
    named = [and_(Person.platform == p, Person.user_id == u) for p, u in pairs]
    query = select(Person).where(or_(func.lower(Person.email) == subject.email, *named)).order_by(Person.id)
    return list(await session.scalars(query))


async def _identities(session: AsyncSession, subject: Subject) -> dict[str, Person | None]:
    """Each `platform:user_id` of the subject -> their people row (None for a named identity never seen)."""
    found: dict[str, Person | None] = {f"{p.platform}:{p.user_id}": p for p in await people_of(session, subject)}
    for identity in subject.identities:
        found.setdefault(identity, None)
    return found


def _to_them(actors: list[str], email: str) -> Any:
    """Messages to their direct messages, and emails to their address (a school no chat channel reaches is
    written to at its register's headteacher email: storage.audiences)."""
    return or_(Delivery.destination.in_(actors), func.lower(Delivery.destination) == f"{audiences.EMAIL}:{email}")


def _their_conversations(actors: list[str]) -> Any:
    """Stored references to each identity's personal chat (keyed, on Teams, by the user id)."""
    pairs = [identity.partition(":")[::2] for identity in actors]
    return or_(
        False,
        *(
            and_(ConversationRef.platform == platform, or_(ConversationRef.user_id == uid, ConversationRef.key == uid))
            for platform, uid in pairs
        ),
    )


# ------------------------------------------------------------------------------------------- finding text
def _text_columns(table: Table) -> list[str]:
    return [c.name for c in table.columns if isinstance(c.type, String | JSON)]


def _pattern(value: str) -> str:
    """A LIKE pattern for text containing `value` (its % and _ taken literally)."""
    return "%" + value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


# A stored .ics (a discussion's invitation) folds lines longer than 75 octets, which can split a name in two.
CALENDAR = "BEGIN:VCALENDAR"
FOLD = re.compile(r"\r?\n[ \t]")
# A name shorter than this ("Al") would match inside ordinary words; it is reported, not searched for.
SHORTEST_NAME = 3


def unfold(text: str) -> str:
    return FOLD.sub("", text) if CALENDAR in text else text


def fold(text: str) -> str:
    """RFC 5545 folding: no content line longer than 75 octets (continuations start with a space)."""
    lines = []
    for line in text.split("\r\n"):
        piece, size = "", 0
        for char in line:
            octets = len(char.encode("utf-8"))
            if size + octets > 75:
                lines.append(piece)
                piece, size = " ", 1
            piece, size = piece + char, size + octets
        lines.append(piece)
    return "\r\n".join(lines)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [unfold(value)]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def name_pattern(name: str) -> re.Pattern[str]:
    """A name as a whole word or words, any case, any run of spaces between them."""
    words = r"\s+".join(re.escape(w) for w in name.split())
    return re.compile(rf"(?<!\w){words}(?!\w)", re.IGNORECASE)


@dataclass
class Mention:
    table: str
    column: str
    key: dict[str, Any]
    value: Any
    found: str = ""  # which needle or name


async def scan(session: AsyncSession, needles: list[str], names: list[str] | tuple[str, ...] = ()) -> list[Mention]:
    """Every text or JSON value, in every table, that contains one of `needles` (any case) or one of `names` (as
    whole words); stored calendar files are read unfolded."""
    needles = [n for n in needles if n]
    words = {name: name_pattern(name) for name in names if len(name.strip()) >= SHORTEST_NAME}
    forms = {form for needle in [*needles, *words] for form in (needle, json.dumps(needle)[1:-1])}
    found: list[Mention] = []
    if not forms:
        return found
    forms.add(CALENDAR)  # read in Python below: a fold may split what is searched for
    for table in Base.metadata.sorted_tables:
        keys = list(table.primary_key.columns)
        for name in _text_columns(table):
            column = table.c[name]
            as_text = cast(column, Text)
            query = select(*keys, column).where(or_(*(as_text.ilike(_pattern(f), escape="\\") for f in forms)))
            for row in await session.execute(query):
                texts = _strings(row[-1])
                hit = next((n for n in needles if any(n.lower() in t.lower() for t in texts)), None)
                hit = hit or next((n for n, p in words.items() if any(p.search(t) for t in texts)), None)
                if hit:
                    key = {k.name: row[i] for i, k in enumerate(keys)}
                    found.append(Mention(table.name, name, key, row[-1], hit))
    return found


# ------------------------------------------------------------------------------------------------ export
def _row(obj: Any, *, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    out = {}
    for column in obj.__table__.columns:
        if column.name in skip:
            continue
        value = getattr(obj, column.key)
        out[column.name] = value.isoformat() if isinstance(value, datetime) else value
    return out


def _names_contact(eoi: EOI, email: str) -> bool:
    return str((eoi.answers or {}).get("contact_email") or "").strip().lower() == email


def _their_files(eoi_ids: list[int], actors: list[str]) -> Any:
    """The files held as theirs: every file of an EOI they started or are the contact for (whoever sent it: a
    letter of support may name them), and any file they sent to another EOI. The export gives exactly these, and
    erasure removes exactly these."""
    return or_(EvidenceFile.eoi_id.in_(eoi_ids), EvidenceFile.sent_by.in_(actors))


def _file(file: EvidenceFile, ref: str | None) -> dict[str, Any]:
    return {
        "eoi": ref,
        "name": file.name,
        "type": evidence.kind_label(file.kind),
        "media_type": kind.media_type if (kind := evidence.kind_named(file.kind)) else "application/octet-stream",
        "size": file.size,
        "sha256": file.sha256,
        "sent_at": file.sent_at.isoformat(),
        "sent_by": file.sent_by,
        "content_base64": base64.b64encode(file.data).decode("ascii"),  # the file itself: it is their data too
    }


async def export(session: AsyncSession, subject: Subject, *, now: datetime) -> dict[str, Any]:
    """Everything held about the subject, as plain JSON-ready data."""
    identities = await _identities(session, subject)
    actors = list(identities)
    mentions = await scan(session, [subject.email, *actors, *(a.partition(":")[2] for a in actors)])
    mentioned: dict[str, set[Any]] = {}
    for m in mentions:
        mentioned.setdefault(m.table, set()).add(next(iter(m.key.values())))

    eoi_ids = mentioned.get("eois", set())
    eois = [
        e
        for e in await session.scalars(select(EOI).where(EOI.id.in_(eoi_ids)).order_by(EOI.id))
        if e.started_by in actors or _names_contact(e, subject.email)
    ]
    refs = {
        e.id: e.ref
        for e in await session.scalars(
            select(EOI).where(
                EOI.id.in_(select(AuditEntry.eoi_id).where(AuditEntry.id.in_(mentioned.get("audit", set()))))
            )
        )
    }
    audit_rows = await session.scalars(
        select(AuditEntry)
        .where(AuditEntry.id.in_(mentioned.get("audit", set())))
        .order_by(AuditEntry.at, AuditEntry.id)
    )
    schools = await session.scalars(
        select(School).where(func.lower(School.headteacher_email) == subject.email).order_by(School.urn)
    )
    files = list(
        await session.scalars(
            select(EvidenceFile)
            .where(_their_files([e.id for e in eois], actors))
            .options(undefer(EvidenceFile.data))
            .order_by(EvidenceFile.eoi_id, EvidenceFile.sent_at, EvidenceFile.id)
        )
    )
    file_refs = {**refs, **{e.id: e.ref for e in eois}}
    missing = {f.eoi_id for f in files} - file_refs.keys()  # a file they sent to an EOI not otherwise theirs
    if missing:
        file_refs.update((await session.execute(select(EOI.id, EOI.ref).where(EOI.id.in_(missing)))).tuples().all())
    return {
        "subject": {"email": subject.email, "identities": actors},
        "generated_at": now.isoformat(),
        "people": [_row(p) for p in identities.values() if p is not None],
        "register_as_headteacher": [
            {
                "urn": s.urn,
                "name": s.name,
                "headteacher_name": s.headteacher_name,
                "headteacher_email": s.headteacher_email,
            }
            for s in schools
        ],
        "eois": [
            {
                "ref": e.ref,
                "school_urn": e.school_urn,
                "status": e.status,
                "why": [
                    w
                    for w, holds in (
                        ("named as the contact", _names_contact(e, subject.email)),
                        ("started by them", e.started_by in actors),
                    )
                    if holds
                ],
                "started_by": e.started_by,
                "created_at": e.created_at.isoformat(),
                "submitted_at": e.submitted_at.isoformat() if e.submitted_at else None,
                "answers": e.answers,
            }
            for e in eois
        ],
        "files": [_file(f, file_refs.get(f.eoi_id)) for f in files],
        "audit": [
            {**_row(a, skip=("id", "eoi_id")), "eoi": refs.get(a.eoi_id) if a.eoi_id else None} for a in audit_rows
        ],
        "messages_to_them": [
            _row(d)
            for d in await session.scalars(
                select(Delivery).where(_to_them(actors, subject.email)).order_by(Delivery.id)
            )
        ],
        "conversation_references": [
            _row(r)
            for r in await session.scalars(
                select(ConversationRef).where(_their_conversations(actors)).order_by(ConversationRef.id)
            )
        ],
        # Signed in to the web form with their address: when, for which school (never the cookie, which isn't kept).
        "web_sessions": [
            {"school_urn": w.school_urn, "started_at": w.started_at.isoformat(), "last_used": w.seen_at.isoformat()}
            for w in await web_sessions.of_email(session, subject.email)
        ],
        # Every place their email or an identity appears, including the sections above.
        "mentions": [{"table": m.table, "column": m.column, "row": m.key} for m in mentions],
    }


# ------------------------------------------------------------------------------------------------- erase
@dataclass
class Erasure:
    confirmed: bool
    identities: dict[str, str] = field(default_factory=dict)  # platform:user_id -> pseudonym
    counts: dict[str, int] = field(default_factory=dict)
    register: list[str] = field(default_factory=list)  # URNs whose headteacher was blanked
    contact_eois: list[str] = field(default_factory=list)
    rewritten: dict[str, int] = field(default_factory=dict)  # "table.column" -> rows
    names: list[str] = field(default_factory=list)  # every name they went by, searched for and replaced
    left: list[Mention] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return bool(self.identities or self.register or self.contact_eois or self.rewritten)

    @property
    def lines(self) -> list[str]:
        if not self.found:
            return ["Nothing held about that person: nothing to erase."]
        lines = ["Erased:" if self.confirmed else "Would erase (nothing changed; run again with --confirm to do it):"]
        if self.identities:
            lines.append("  chat identities: " + ", ".join(f"{k} -> {v}" for k, v in self.identities.items()))
        lines.append("  " + ", ".join(f"{n} {what}" for what, n in self.counts.items()))
        if self.register:
            lines.append(
                f"  school register: headteacher name and email blanked for {', '.join(self.register)}. Correct the "
                "council's source register too, or the next `eoi-bot import schools` brings them back."
            )
        if self.contact_eois:
            lines.append(f"  contact details {ERASED} in {', '.join(self.contact_eois)} (the EOIs are kept)")
        if self.names:
            lines.append(f"  names searched for: {len(self.names)} (the register's, each platform's, the contact's)")
        if self.rewritten:
            lines.append("  rewritten: " + ", ".join(f"{k} {n}" for k, n in sorted(self.rewritten.items())))
        if self.left:
            lines.append(
                "  STILL MENTIONED, not erased (check and correct by hand): "
                + ", ".join(f"{m.table}.{m.column} {m.key}" for m in self.left)
            )
        else:
            lines.append("  nothing else in the database mentions them")
        return lines


def _replacer(subject: Subject, identities: dict[str, str], names: dict[str, str]) -> Any:
    rules = [(re.compile(rf"(?<![\w.+-]){re.escape(subject.email)}(?![\w-]|\.\w)", re.IGNORECASE), ERASED)]
    for identity, name in sorted(identities.items(), key=lambda item: -len(item[0])):
        rules.append((re.compile(rf"(?<![\w.-]){re.escape(identity)}(?![\w.@-])"), name))
    # Longest first, so "Ann Head" goes before a shorter name inside it.
    for name, pseudonym_ in sorted(names.items(), key=lambda item: -len(item[0])):
        rules.append((name_pattern(name), pseudonym_))

    def replace(value: Any) -> Any:
        if isinstance(value, str):
            calendar = CALENDAR in value
            value = unfold(value)
            for pattern, name in rules:
                value = pattern.sub(name, value)
            return fold(value) if calendar else value
        if isinstance(value, dict):
            return {k: replace(v) for k, v in value.items()}
        if isinstance(value, list):
            return [replace(v) for v in value]
        return value

    return replace


def _names(found: dict[str, Person | None], schools: list[School], eois: list[EOI]) -> dict[str, str]:
    """Every name the person went by -> what it becomes: the pseudonym of the identity that carried it (a
    register or contact name: their first identity's, or [erased] when they have none)."""
    first = next((pseudonym(p) for p in found.values() if p is not None), ERASED)
    names: dict[str, str] = {}
    for person in (p for p in found.values() if p is not None):
        names.setdefault(person.display_name.strip(), pseudonym(person))
    for name in [*(s.headteacher_name for s in schools), *(str(e.answers.get("contact_name") or "") for e in eois)]:
        names.setdefault(name.strip(), first)
    return {name: to for name, to in names.items() if len(name) >= SHORTEST_NAME}


async def erase(session: AsyncSession, subject: Subject, *, actor: str, now: datetime, confirm: bool) -> Erasure:
    """Remove or pseudonymise everything about the subject; without `confirm`, the same run rolled back."""
    found = await _identities(session, subject)
    result = Erasure(confirmed=confirm, identities={k: pseudonym(p) for k, p in found.items()})
    actors = list(found)

    # Messages to their direct messages, and where the bot could reach them again: gone.
    result.counts["messages to them"] = (
        await session.execute(delete(Delivery).where(_to_them(actors, subject.email)))
    ).rowcount or 0
    refs = (await session.execute(delete(ConversationRef).where(_their_conversations(actors)))).rowcount or 0
    events = 0
    for identity in actors:
        platform, _, user_id = identity.partition(":")
        # Delivery ids that name them (e.g. "slack:greeted:U123"); losing them only forgets a greeting.
        events += (
            await session.execute(
                delete(ProcessedEvent).where(
                    ProcessedEvent.key.like(f"{platform}:%"), ProcessedEvent.key.like(_pattern(user_id), escape="\\")
                )
            )
        ).rowcount or 0
    result.counts["conversation references"] = refs
    result.counts["platform event ids"] = events
    # Web form sessions signed in with their address end, and every link to their schools stops working.
    result.counts["web form sessions"] = await web_sessions.erase_email(session, subject.email, now=now, by=actor)

    # Every name they went by, read before the rows that hold them are blanked.
    schools = list(
        await session.scalars(
            select(School).where(func.lower(School.headteacher_email) == subject.email).order_by(School.urn)
        )
    )
    candidates = {m.key["id"] for m in await scan(session, [subject.email]) if m.table == "eois"}
    contact_eois = [
        e
        for e in await session.scalars(select(EOI).where(EOI.id.in_(candidates)).order_by(EOI.id))
        if _names_contact(e, subject.email)
    ]
    names = _names(found, schools, contact_eois)
    result.names = sorted(names)

    for person in (p for p in found.values() if p is not None):
        person.display_name, person.email, person.role, person.school_urn = "", "", "", None
        person.conversation = {}  # what they were asked, and answers waiting for a yes (a reading of their words)
        person.user_id = f"erased-{person.id}"  # unique per platform, and no one signs in as it
    result.counts["people rows pseudonymised"] = sum(p is not None for p in found.values())

    # The council's register: blank the headteacher (the source register must be corrected as well).
    for school in schools:
        school.headteacher_name, school.headteacher_email = "", ""
    result.register = [s.urn for s in schools]

    # EOIs they are the contact for: the EOI is the school's; only the contact's details go.
    for eoi in contact_eois:
        answers = dict(eoi.answers)
        for name in CONTACT_FIELDS:
            if answers.get(name):
                answers[name] = ERASED
        eoi.answers = answers
        result.contact_eois.append(eoi.ref or f"the draft of school {eoi.school_urn}")

    # Files: the EOI keeps its answers, but a file can't have a name or a face taken out of it, so the files held
    # as theirs (the export's: those of EOIs they started or are the contact for, and any they sent) are removed.
    # Another's file on another EOI of their school stays: erasing the head erases what is about the head, not
    # the school's record. Read before the audit and `started_by` are rewritten below.
    started = select(EOI.id).where(EOI.started_by.in_(actors))
    their_eois = [e.id for e in contact_eois] + list(await session.scalars(started))
    per_eoi = Counter(await session.scalars(select(EvidenceFile.eoi_id).where(_their_files(their_eois, actors))))
    await session.execute(delete(EvidenceFile).where(_their_files(their_eois, actors)))
    for eoi_id, n in sorted(per_eoi.items()):
        # On the EOI's own history, by count only (an officer sees why its files went).
        audit.record(
            session,
            at=now,
            actor=actor,
            action="files erased",
            eoi_id=eoi_id,
            note=f"{n} file{'' if n == 1 else 's'} erased",
        )
    result.counts["files"] = sum(per_eoi.values())
    await session.flush()

    # Everything else that names them (audit actors and notes, who started an EOI, notices, their name in a
    # message or a calendar file...): rewritten. Another person's display name and a school's name are never
    # rewritten (they may share a name): such a match is left for a person to check.
    replace = _replacer(subject, result.identities, names)
    for mention in await scan(session, [subject.email, *actors], list(names)):
        table = Base.metadata.tables[mention.table]
        column = table.c[mention.column]
        if column.primary_key or (mention.found in names and mention.table in KEEP_NAMES):
            continue
        new = replace(mention.value)
        if new == mention.value:
            continue
        if isinstance(new, str) and getattr(column.type, "length", None):
            new = new[: column.type.length]
        where = and_(*(table.c[k] == v for k, v in mention.key.items()))
        await session.execute(update(table).where(where).values({mention.column: new}))
        label = f"{mention.table}.{mention.column}"
        result.rewritten[label] = result.rewritten.get(label, 0) + 1

    user_ids = [identity.partition(":")[2] for identity in actors]
    result.left = await scan(session, [subject.email, *actors, *user_ids], list(names))
    if result.found:
        audit.record(
            session,
            at=now,
            actor=actor,
            action="erase person",
            note=(", ".join(result.identities.values()) or "a person with no chat identity")
            + ": "
            + ", ".join(f"{n} {what}" for what, n in result.counts.items())
            + (f"; register headteacher blanked for {', '.join(result.register)}" if result.register else "")
            + (f"; contact details erased in {', '.join(result.contact_eois)}" if result.contact_eois else ""),
        )
    if confirm:
        await session.commit()
    else:
        await session.rollback()
    return result
