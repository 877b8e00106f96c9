"""The web form's sign-ins: sessions, revoked links and "send me a new link" requests (bot/web_channel.py signs
the links and sets the cookie; this module decides whether one still stands).

A link or a session stands only while the school's register still names the email it was made for (a new
headteacher email ends them), and a link only until the school's links are revoked (`eoi-bot web revoke`, an
erasure), which also deletes its sessions. A session also ends after `IDLE` without use. The cookie itself is
never stored: only its sha256.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import audit
from storage.models import School, WebLinkRequest, WebRevocation, WebSession

IDLE = timedelta(hours=8)
LINK_REQUESTS = 3  # "send me a new link", per address
LINK_REQUESTS_PER = timedelta(hours=1)


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def actor(urn: str) -> str:
    """How the audit log names a school's turns on the web form: the school, as no person signs in."""
    return f"web:{urn}"


async def generation(session: AsyncSession, urn: str) -> int:
    """How many times the school's links have been revoked: a new link carries it."""
    row = await session.get(WebRevocation, urn)
    return row.generation if row else 0


async def link_problem(session: AsyncSession, urn: str, email: str, made_under: int) -> str:
    """Why a (validly signed) link for this school and email no longer works, or "" when it does."""
    school = await session.get(School, urn)
    if school is None:
        return "unknown school"
    if (school.headteacher_email or "").strip().lower() != email.strip().lower():
        return "the register's email has changed"
    if made_under != await generation(session, urn):
        return "revoked"
    return ""


@dataclass(frozen=True)
class Started:
    cookie: str  # the secret the browser keeps; only its hash is stored
    row: WebSession


async def start(session: AsyncSession, *, urn: str, email: str, now: datetime) -> Started:
    """A new session for the school, from a link that stands; sessions gone idle are cleared out on the way."""
    await session.execute(delete(WebSession).where(WebSession.seen_at < now - IDLE))
    cookie = secrets.token_urlsafe(32)
    row = WebSession(
        token_hash=_hash(cookie),
        school_urn=urn,
        email=email.strip().lower(),
        csrf=secrets.token_urlsafe(32),
        started_at=now,
        seen_at=now,
        page={},
    )
    session.add(row)
    audit.record(session, at=now, actor=actor(urn), action="web sign-in", note="signed in with an emailed link")
    await session.flush()
    return Started(cookie, row)


async def current(session: AsyncSession, cookie: str, *, now: datetime) -> WebSession | None:
    """The session this cookie names, if it still stands (and marks it used); None once it has ended."""
    if not cookie:
        return None
    row = await session.scalar(select(WebSession).where(WebSession.token_hash == _hash(cookie)))
    if row is None:
        return None
    school = await session.get(School, row.school_urn)
    email = (school.headteacher_email or "").strip().lower() if school else None
    if now - row.seen_at > IDLE or email != row.email:  # a revocation deletes the row itself
        await session.delete(row)
        return None
    if now - row.seen_at > timedelta(minutes=1):  # idle time counts in hours: no write on every page
        row.seen_at = now
    return row


async def end(session: AsyncSession, cookie: str, *, now: datetime) -> None:
    row = await session.scalar(select(WebSession).where(WebSession.token_hash == _hash(cookie)))
    if row is not None:
        audit.record(session, at=now, actor=actor(row.school_urn), action="web sign-out")
        await session.delete(row)


async def revoke(session: AsyncSession, urn: str, *, now: datetime, by: str, why: str = "") -> int:
    """Every link made for the school until now stops working, and its sessions end: how many there were."""
    row = await session.get(WebRevocation, urn)
    if row is None:
        session.add(WebRevocation(school_urn=urn, generation=1, revoked_at=now))
    else:
        row.generation, row.revoked_at = row.generation + 1, now
    ended = await session.execute(delete(WebSession).where(WebSession.school_urn == urn))
    count = int(getattr(ended, "rowcount", 0) or 0)
    audit.record(
        session,
        at=now,
        actor=by,
        action="web links revoked",
        note=f"school {urn}: {count} session(s) ended" + (f"; {why}" if why else ""),
    )
    return count


async def may_send_link(session: AsyncSession, address: str, *, now: datetime) -> bool:
    """Records a "send me a new link" request and says whether it is within the limit for the address."""
    hashed = _hash(address.strip().lower())
    await session.execute(delete(WebLinkRequest).where(WebLinkRequest.at < now - LINK_REQUESTS_PER))
    recent = await session.scalar(
        select(func.count()).select_from(WebLinkRequest).where(WebLinkRequest.address_hash == hashed)
    )
    if (recent or 0) >= LINK_REQUESTS:
        return False
    session.add(WebLinkRequest(address_hash=hashed, at=now))
    return True


async def of_email(session: AsyncSession, email: str) -> list[WebSession]:
    """The sessions signed in with this address (subject access)."""
    rows = await session.scalars(
        select(WebSession).where(WebSession.email == email.strip().lower()).order_by(WebSession.started_at)
    )
    return list(rows)


async def erase_email(session: AsyncSession, email: str, *, now: datetime, by: str) -> int:
    """An erasure: the address's sessions end and every link to its schools stops working. How many sessions."""
    address = email.strip().lower()
    signed_in = select(WebSession.school_urn).where(WebSession.email == address)
    urns = set(
        await session.scalars(
            select(School.urn).where(or_(School.headteacher_email == address, School.urn.in_(signed_in)))
        )
    )
    ended = 0
    for urn in sorted(urns):
        ended += await revoke(session, urn, now=now, by=by, why="erasure")
    await session.execute(delete(WebSession).where(WebSession.email == address))
    return ended
