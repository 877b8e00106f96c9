"""A school's personal sign-in link to the web form: the school's URN, the register email it was sent to and when
it was made, signed with EOI_WEB_SECRET (HMAC-SHA256), good for 14 days. Nothing is stored when a link is made;
whether it still stands (the register's email unchanged, not revoked since) is storage.web_sessions' to say."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from storage import people, web_sessions
from storage.models import School

LIFETIME = timedelta(days=14)
PREFIX = "/web/sign-in/"
VERSION = "1"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class LinkClaim:
    """What a link that verifies says: which school, the email it went to, when it was made."""

    urn: str
    email: str
    issued_at: datetime
    generation: int  # the school's revocation count when it was made (storage.web_sessions.link_problem)


class Unusable(ValueError):
    """A link that is not ours (forged, altered, cut short) or has expired: `expired` says which, as the page does."""

    def __init__(self, reason: str, *, expired: bool = False) -> None:
        super().__init__(reason)
        self.expired = expired


class WebLinks:
    def __init__(self, base_url: str, secret: str) -> None:
        self.base_url = base_url.rstrip("/")
        self._key = hashlib.sha256(b"eoi-bot web link\0" + secret.encode()).digest()

    def _sign(self, body: str) -> str:
        return _b64(hmac.new(self._key, f"{VERSION}.{body}".encode(), hashlib.sha256).digest())

    def token(self, urn: str, email: str, now: datetime, generation: int = 0) -> str:
        claim = {"s": urn, "e": email.strip().lower(), "t": int(now.timestamp()), "g": generation}
        body = _b64(json.dumps(claim, separators=(",", ":")).encode())
        return f"{VERSION}.{body}.{self._sign(body)}"

    def url(self, urn: str, email: str, now: datetime, generation: int = 0) -> str:
        return f"{self.base_url}{PREFIX}{self.token(urn, email, now, generation)}"

    def read(self, token: str, now: datetime) -> LinkClaim:
        """The claim of a link we signed and that has not expired; Unusable otherwise."""
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != VERSION or len(token) > 600:
            raise Unusable("not a sign-in link")
        _, body, signature = parts
        if not hmac.compare_digest(signature, self._sign(body)):
            raise Unusable("the signature does not match")
        try:
            claim = json.loads(_unb64(body))
            issued = datetime.fromtimestamp(int(claim["t"]), UTC)
            urn, email, made_under = str(claim["s"]), str(claim["e"]), int(claim["g"])
        except (ValueError, KeyError, TypeError) as error:  # signed by us, so only an older format gets here
            raise Unusable(f"unreadable ({type(error).__name__})") from None
        if now - issued > LIFETIME or issued - now > timedelta(minutes=5):
            raise Unusable("expired", expired=True)
        return LinkClaim(urn, email, issued, made_under)


async def school_link(session: AsyncSession, links: WebLinks, school: School, now: datetime) -> str | None:
    """A fresh link for the school, to its register's headteacher email; None when the register gives none."""
    email = (school.headteacher_email or "").strip().lower()
    if not email:
        return None
    return links.url(school.urn, email, now, await web_sessions.generation(session, school.urn))


async def links_for_address(
    session: AsyncSession, links: WebLinks, address: str, now: datetime
) -> list[tuple[str, str]]:
    """(school name, link) for every school whose register names this address as its headteacher's: what an email
    to that address carries. An address that is no school's register email (a contact's copy) gets none."""
    found = []
    for school in await people.schools_by_email(session, address.strip().lower()):
        url = await school_link(session, links, school, now)
        if url:
            found.append((school.name, url))
    return found
