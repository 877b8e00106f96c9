"""People, their roles, and which schools they act for.

Officers are those named in EOI_OFFICERS plus those granted the role with `officer add` (or by running the
console as an officer); `enforce_officers` removes the role from anyone else when the service starts.

A person acts for a school through a SchoolLink: made from the register (their email is the school's
headteacher_email), or explicitly by an officer's `link` (or the console). Register links are re-checked when
the register is imported, daily, and when the person's email changes; one that no longer matches is removed
and the person is told at their next turn. Explicit links stay until an officer changes them.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import and_, bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit
from storage.db import hold
from storage.models import Person, School, SchoolLink

OFFICER = "officer"
HEADTEACHER = "headteacher"
FROM_REGISTER = "register"  # the register's headteacher_email is theirs
FROM_OFFICER = "officer"  # an officer's `link` or the console: explicit, never removed by the email re-check
# The platforms people are known on, and what a user id there looks like: `officer add` and `link` take only
# these, so a typo or an invented platform never becomes an officer. A new platform's channel adds its own line
# (`ID_FORMATS["webchat"] = ...`) when it is attached.
ID_FORMATS: dict[str, re.Pattern[str]] = {
    "slack": re.compile(r"[UW][A-Z0-9]{2,20}"),  # U0123ABCD (W… on Enterprise Grid)
    "msteams": re.compile(r"(29|8):[A-Za-z0-9_.:@-]{1,180}"),  # 29:1a2b… (a Teams user's Bot Framework id)
    "console": re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,60}"),  # eoi-bot chat --user NAME
}
ID_EXAMPLES = {"slack": "slack:U0123ABCD", "msteams": "msteams:29:1a2b3c4d", "console": "console:alice"}


def id_problem(platform: str, user_id: str) -> str:
    """Why `platform:user_id` can't name a person ("" when it can): an unknown platform, or an id not in its form."""
    form = ID_FORMATS.get(platform)
    if form is None:
        return f"{platform or '(none)'} is not a platform the bot is on (it knows {', '.join(sorted(ID_FORMATS))})"
    if not form.fullmatch(user_id):
        example = ID_EXAMPLES.get(platform, f"{platform}:…")
        return f"{user_id or '(none)'} is not a {platform} user id (they look like {example})"
    return ""


async def officers_left_without(
    session: AsyncSession, platform: str, user_id: str, bootstrap: tuple[tuple[str, str], ...]
) -> int:
    """How many officers there would be if this person lost the role: those EOI_OFFICERS names and those with it."""
    everyone = {*bootstrap, *((p.platform, p.user_id) for p in await officers(session))}
    everyone.discard((platform, user_id))
    return len(everyone)


# How often Person.seen_at is brought up to date: retention counts in days, so once a day is exact enough.
SEEN_EVERY = timedelta(days=1)


# The person's chosen school comes in the same query: nearly every turn needs it (session.get(School, urn)).
# Built once: every turn runs it, and building and hashing a statement costs about as much as running it.
_PERSON_AND_SCHOOL = (
    select(Person, School)
    .outerjoin(School, School.urn == Person.school_urn)
    .where(Person.platform == bindparam("platform"), Person.user_id == bindparam("user_id"))
)


def key_of(person: Person) -> str:
    return f"{person.platform}:{person.user_id}"


async def identify(
    session: AsyncSession,
    *,
    platform: str,
    user_id: str,
    display_name: str = "",
    email: str = "",
    officers: tuple[tuple[str, str], ...] = (),
    now: datetime | None = None,
) -> Person:
    """Find or create the person; bootstrap officers from EOI_OFFICERS; match staff to their schools by email
    (at first contact, and again whenever the email the platform gives changes)."""
    row = (await session.execute(_PERSON_AND_SCHOOL, {"platform": platform, "user_id": user_id})).first()
    person = row[0] if row else None
    if row and row[1] is not None:
        hold(session, row[1])
    if person is None:
        person = Person(platform=platform, user_id=user_id, conversation={}, lost_schools=[])
        session.add(person)
    # Only what changed is set: an attribute set to its own value still makes the flush below work it out.
    if display_name and display_name != person.display_name:
        person.display_name = display_name
    email = email.strip().lower()
    email_changed = bool(email) and email != person.email
    if email_changed:
        person.email = email
    if now is not None and (person.seen_at is None or now - person.seen_at > SEEN_EVERY):
        person.seen_at = now  # at most once a day: a turn that changes nothing else stays read-only
    if (platform, user_id) in officers:
        if person.role != OFFICER:
            person.role = OFFICER
    elif person.role != OFFICER and person.email and (email_changed or not person.role):
        await match_register(session, person, now=now or datetime.now(UTC), actor="register")
    await session.flush()
    return person


async def _person(session: AsyncSession, platform: str, user_id: str) -> Person:
    person = await session.scalar(select(Person).where(Person.platform == platform, Person.user_id == user_id))
    if person is None:
        person = Person(platform=platform, user_id=user_id, conversation={}, lost_schools=[])
        session.add(person)
        await session.flush()
    return person


async def schools_by_email(session: AsyncSession, email: str) -> list[School]:
    """Every school whose register entry names this headteacher email (an executive head may have several)."""
    if not email.strip():
        return []
    found = await session.scalars(
        select(School).where(School.headteacher_email == email.strip().lower()).order_by(School.name, School.urn)
    )
    return list(found)


async def schools_of(session: AsyncSession, person: Person) -> list[School]:
    """The schools this person acts for, by name."""
    if person.id is None:
        return []
    found = await session.scalars(
        select(School)
        .join(SchoolLink, SchoolLink.school_urn == School.urn)
        .where(SchoolLink.person_id == person.id)
        .order_by(School.name, School.urn)
    )
    return list(found)


async def _links(session: AsyncSession, person: Person) -> list[SchoolLink]:
    return list(await session.scalars(select(SchoolLink).where(SchoolLink.person_id == person.id)))


def _add_link(session: AsyncSession, person: Person, school: School, *, source: str, actor: str, now: datetime) -> None:
    session.add(SchoolLink(person_id=person.id, school_urn=school.urn, source=source, linked_by=actor, linked_at=now))
    audit.record(
        session,
        at=now,
        actor=actor,
        action="school link",
        to_status=source,
        note=f"{key_of(person)} to {school.urn} {school.name}",
    )


async def _remove_link(
    session: AsyncSession, person: Person, link: SchoolLink, school: School, *, actor: str, now: datetime
) -> str:
    await session.delete(link)
    person.lost_schools = [*(person.lost_schools or []), {"urn": school.urn, "name": school.name}]
    why = "the register's headteacher email for the school is no longer theirs"
    audit.record(
        session,
        at=now,
        actor=actor,
        action="school link removed",
        from_status=link.source,
        note=f"{key_of(person)} from {school.urn} {school.name}: {why}",
    )
    return f"Unlinked {key_of(person)} from {school.urn} {school.name}: {why}."


async def _settle(session: AsyncSession, person: Person) -> None:
    """Keep the chosen school one of the person's links (their only one, else theirs to choose), and the role
    in step: someone with links is a headteacher unless they are an officer."""
    await session.flush()
    urns = [link.school_urn for link in await _links(session, person)]
    if person.school_urn not in urns:
        person.school_urn = urns[0] if len(urns) == 1 else None
        person.conversation = {}  # a conversation for a school they no longer act for (or haven't chosen) ends here
    if person.role != OFFICER:
        person.role = HEADTEACHER if urns else ""


async def match_register(session: AsyncSession, person: Person, *, now: datetime, actor: str) -> None:
    """Make this person's register links what the register says for their email."""
    if person.id is None:
        await session.flush()
    wanted = {school.urn: school for school in await schools_by_email(session, person.email)}
    if not wanted and not person.role:
        return  # someone with no role has no links (_settle keeps it so): nothing to add or remove
    links = await _links(session, person)
    for link in links:
        if link.source == FROM_REGISTER and link.school_urn not in wanted:
            school = await session.get(School, link.school_urn)
            assert school is not None  # the foreign key holds it
            await _remove_link(session, person, link, school, actor=actor, now=now)
    have = {link.school_urn for link in links}
    for urn, school in wanted.items():
        if urn not in have:
            _add_link(session, person, school, source=FROM_REGISTER, actor=actor, now=now)
    await _settle(session, person)


async def recheck_register_links(session: AsyncSession, *, now: datetime, actor: str) -> list[str]:
    """Re-check every register link against the register: remove those whose email no longer matches (audited;
    the person is told at their next turn), and link people already known whose email the register now names.
    Run after every register import and daily. Returns a line per change, for the log."""
    lines: list[str] = []
    touched: dict[int, Person] = {}
    stale = await session.execute(
        select(SchoolLink, Person, School)
        .join(Person, Person.id == SchoolLink.person_id)
        .join(School, School.urn == SchoolLink.school_urn)
        .where(
            SchoolLink.source == FROM_REGISTER,
            or_(Person.email == "", School.headteacher_email != Person.email),
        )
        # A concurrent check (another replica, an import) waits here; links it removed are then not returned.
        .with_for_update(of=SchoolLink)
    )
    for link, person, school in stale.all():
        lines.append(await _remove_link(session, person, link, school, actor=actor, now=now))
        touched[person.id] = person
    fresh = await session.execute(
        select(Person, School)
        .join(School, School.headteacher_email == Person.email)
        .outerjoin(SchoolLink, and_(SchoolLink.person_id == Person.id, SchoolLink.school_urn == School.urn))
        .where(Person.email != "", Person.role != OFFICER, SchoolLink.id.is_(None))
    )
    for person, school in fresh.all():
        _add_link(session, person, school, source=FROM_REGISTER, actor=actor, now=now)
        lines.append(f"Linked {key_of(person)} to {school.urn} {school.name}: the register names their email.")
        touched[person.id] = person
    for person in touched.values():
        await _settle(session, person)
    return lines


async def link(
    session: AsyncSession, *, actor: str, platform: str, user_id: str, school: School, now: datetime
) -> Person:
    """An officer's (or the console's) explicit link: kept whatever the register later says."""
    person = await _person(session, platform, user_id)
    existing = next((k for k in await _links(session, person) if k.school_urn == school.urn), None)
    if existing is None:
        _add_link(session, person, school, source=FROM_OFFICER, actor=actor, now=now)
    elif existing.source != FROM_OFFICER:
        existing.source, existing.linked_by, existing.linked_at = FROM_OFFICER, actor, now
        note = f"{platform}:{user_id} to {school.urn} {school.name} (was from the register)"
        audit.record(session, at=now, actor=actor, action="school link", to_status=FROM_OFFICER, note=note)
    await _settle(session, person)
    return person


def choose_school(person: Person, school: School) -> None:
    """The school this person's turns are about from now on (one of their links: callers check)."""
    if person.school_urn != school.urn:
        person.school_urn = school.urn
        person.conversation = {}  # whatever was asked was about the other school


async def grant_officer(session: AsyncSession, *, actor: str, platform: str, user_id: str, now: datetime) -> Person:
    """`officer add` (or the console): the grant is recorded, so it lasts across restarts."""
    person = await _person(session, platform, user_id)
    if person.role == OFFICER and person.officer_granted_at is not None:
        return person
    before = person.role or "none"
    person.role, person.officer_granted_by, person.officer_granted_at = OFFICER, actor, now
    audit.record(
        session, at=now, actor=actor, action="officer add", from_status=before, to_status=OFFICER, note=key_of(person)
    )
    return person


async def revoke_officer(session: AsyncSession, *, actor: str, platform: str, user_id: str, now: datetime) -> Person:
    """`officer remove`: the grant goes, and with it the role (EOI_OFFICERS entries are refused before this)."""
    person = await _person(session, platform, user_id)
    before = person.role or "none"
    person.officer_granted_by, person.officer_granted_at = "", None
    if person.role == OFFICER:
        person.role = ""
    await _settle(session, person)
    audit.record(
        session,
        at=now,
        actor=actor,
        action="officer remove",
        from_status=before,
        to_status=person.role or "none",
        note=key_of(person),
    )
    return person


def set_notify(session: AsyncSession, person: Person, how: str, *, now: datetime) -> bool:
    """How this officer hears officers' notices ("each" or "daily"); audited. False when it was already so."""
    if person.notify == how:
        return False
    audit.record(
        session,
        at=now,
        actor=key_of(person),
        action="notify",
        from_status=person.notify,
        to_status=how,
        note=key_of(person),
    )
    person.notify = how
    return True


async def enforce_officers(
    session: AsyncSession, *, bootstrap: tuple[tuple[str, str], ...], now: datetime
) -> list[str]:
    """At start-up: the officers are those named in EOI_OFFICERS plus recorded grants. Anyone else with the
    role loses it (audited); people EOI_OFFICERS names who are already known get it. Returns what changed."""
    lines = []
    named_people = [and_(Person.platform == p, Person.user_id == u) for p, u in bootstrap]
    found = await session.scalars(select(Person).where(or_(Person.role == OFFICER, *named_people)).order_by(Person.id))
    for person in list(found):
        named = (person.platform, person.user_id) in bootstrap
        if person.role == OFFICER and not named and person.officer_granted_at is None:
            person.role = ""
            await _settle(session, person)
            audit.record(
                session,
                at=now,
                actor="start-up",
                action="officer role removed",
                from_status=OFFICER,
                to_status=person.role or "none",
                note=f"{key_of(person)}: not in EOI_OFFICERS and not added with `officer add`",
            )
            lines.append(f"Officer role removed from {key_of(person)}: not in EOI_OFFICERS nor added by an officer.")
        elif named and person.role != OFFICER:
            before = person.role or "none"
            person.role = OFFICER
            audit.record(
                session,
                at=now,
                actor="start-up",
                action="officer role given",
                from_status=before,
                to_status=OFFICER,
                note=f"{key_of(person)}: named in EOI_OFFICERS",
            )
    return lines


async def by_email(session: AsyncSession, email: str) -> list[Person]:
    """Everyone the bot has met with this email (as Slack's or Teams' own profile gives it), newest first: how an
    officer or a panel member is named by email. Someone who has never used the bot can't be found this way."""
    return list(
        await session.scalars(select(Person).where(Person.email == email.strip().lower()).order_by(Person.id.desc()))
    )


async def officers(session: AsyncSession) -> list[Person]:
    return list(await session.scalars(select(Person).where(Person.role == OFFICER).order_by(Person.id)))


async def staff_of(session: AsyncSession, school_urn: str) -> list[Person]:
    """Who hears for a school: everyone linked to it."""
    return list(
        await session.scalars(
            select(Person)
            .join(SchoolLink, SchoolLink.person_id == Person.id)
            .where(SchoolLink.school_urn == school_urn)
            .order_by(Person.id)
        )
    )


async def names_of(session: AsyncSession, keys: set[str]) -> dict[str, str]:
    """Display names for "platform:user_id" keys (an audit log's actors), for those who have one."""
    wanted = [tuple(k.split(":", 1)) for k in keys if ":" in k]
    if not wanted:
        return {}
    found = await session.scalars(
        select(Person).where(or_(*(and_(Person.platform == p, Person.user_id == u) for p, u in wanted)))
    )
    return {key_of(person): person.display_name for person in found if person.display_name}


async def by_key(session: AsyncSession, key: str) -> Person | None:
    """The person an actor key ("slack:U0123") names, if we have met them."""
    platform, sep, user_id = key.partition(":")
    if not sep:
        return None
    return await session.scalar(select(Person).where(Person.platform == platform, Person.user_id == user_id))
