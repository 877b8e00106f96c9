"""Who hears for a school, and who hears for the officers: decided here, once, for every platform. A channel
only turns a register channel id or a person into an address on its platform (bot.delivery.Sender)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from storage import people
from storage.models import School

# The register column naming a school's channel on each platform (the schools CSV's *_channel_id columns).
CHANNEL_COLUMNS: dict[str, str] = {"slack": "slack_channel_id", "msteams": "teams_channel_id"}
# The "platform" of the register's email address: a school no chat channel reaches is written to there.
EMAIL = "email"

# Turns one member of an audience into a destination on its platform, or None when no enabled channel can reach
# it: (session, "channel" | "person", platform, id). bot.delivery.Dispatcher.address asks the platform's sender.
Address = Callable[[AsyncSession, str, str, str], Awaitable[str | None]]
# Where one school would hear: bot.delivery.Dispatcher.school_destinations.
Reach = Callable[[AsyncSession, School], Awaitable[list[str]]]


@dataclass(frozen=True)
class Audience:
    channels: tuple[tuple[str, str], ...] = ()  # (platform, channel id as the register names it)
    people: tuple[tuple[str, str], ...] = ()  # (platform, user id)
    # Heard only when no channel or person above can be reached: the register's email. Chat comes first because
    # answering happens in chat; the email says how to get there.
    fallback: tuple[tuple[str, str], ...] = ()


def school_channels(school: School) -> tuple[tuple[str, str], ...]:
    found = []
    for platform, column in CHANNEL_COLUMNS.items():
        # Teams channel ids are sometimes pasted with ";messageid=…" from a link: the channel is before it.
        channel = str(getattr(school, column, "") or "").split(";")[0].strip()
        if channel:
            found.append((platform, channel))
    return tuple(found)


async def for_school(session: AsyncSession, school: School) -> Audience:
    """A school hears in its channels (from the register) and in the direct messages of everyone linked to it;
    if none of those can be reached, by email to the address the register gives for its headteacher."""
    staff = await people.staff_of(session, school.urn)
    email = (school.headteacher_email or "").strip()
    return Audience(
        school_channels(school),
        tuple((p.platform, p.user_id) for p in staff),
        fallback=((EMAIL, email),) if email else (),
    )


async def for_officers(session: AsyncSession, named: tuple[tuple[str, str], ...] = ()) -> Audience:
    """Officers hear in their direct messages: those named in EOI_OFFICERS (even before they first talk to the
    bot, where their platform can reach them), then everyone with the role."""
    known = [(p.platform, p.user_id) for p in await people.officers(session)]
    return Audience(people=tuple(dict.fromkeys([*named, *known])))


def for_person(recipient: str) -> Audience:
    """One person, in their direct messages ("platform:user_id", as a notice's recipient names them)."""
    platform, _, user_id = recipient.partition(":")
    return Audience(people=((platform, user_id),) if user_id else ())


def for_address(recipient: str) -> Audience:
    """One address outside chat ("email:office@school.org", as a notice's recipient names it): a school's copy of
    what it submitted goes to the contact email its answers give, which may not be the register's. Reached as a
    register channel on that platform is (for email: only when email is configured and the address is one)."""
    platform, _, where = recipient.partition(":")
    return Audience(channels=((platform, where),) if where else ())


async def destinations(session: AsyncSession, audience: Audience, address: Address) -> list[str]:
    """Every member of the audience that an enabled channel can reach, as destinations; the fallback only when
    nothing else can be reached."""

    async def resolve(members: Iterable[tuple[str, str]], how: str) -> list[str]:
        found = []
        for platform, member in members:
            if where := await address(session, how, platform, member):
                found.append(where)
        return found

    found = await resolve(audience.channels, "channel") + await resolve(audience.people, "person")
    if not found:
        found = await resolve(audience.fallback, "channel")
    return list(dict.fromkeys(found))


async def without_destination(session: AsyncSession, schools: Iterable[School], reach: Reach) -> list[School]:
    """The schools (those in scope of a window, say) that would hear nothing: no enabled channel reaches their
    register channels or anyone linked to them, and no email goes to them. Officers are told who they are before
    and when a window opens, so that nobody is missed in silence."""
    return [school for school in schools if not await reach(session, school)]
