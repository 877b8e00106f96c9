"""Email: how a school that no Slack or Teams destination reaches still hears of a window, a reminder and its
own EOI's news. storage.audiences decides when (the register's email is a school's fallback); this module only
writes and sends the message, as a bot.delivery.Sender, so each email is a Delivery row sent once, retried and
reported like a chat message.

SMTP_URL names the server: `smtp://[user:password@]host[:port]` (STARTTLS when the server offers it; port 25 by
default), `smtp+starttls://…` (STARTTLS required; port 587) or `smtps://…` (TLS from the start; port 465).
EOI_MAIL_FROM is the sender address. A 5xx answer is permanent (the delivery fails at once and officers are told);
a 4xx answer, a refused connection or one dropped mid-send is tried again by the dispatcher.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime as rfc2822_date
from pathlib import Path

import aiosmtplib
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import SmtpServer, mail_address
from bot.delivery import SendFailed
from bot.service import Service
from dialogs.actions import Command
from dialogs.replies import COPY, Choice, Reply
from dialogs.rich import BULLET, Text, link, md, rich
from storage.audiences import EMAIL

PLATFORM = EMAIL
# At most this many SMTP connections at once: mail relays (Exchange Online among them) limit concurrent
# connections per account, and a whole register at once would be refused.
CONNECTIONS = 4


COPY_FOOTER = rich(
    "This email is from Essex County Council's EOI bot: a copy of your school's expression of interest, sent to the "
    "contact email it gives. Nothing needs answering here."
)
CALENDAR_METHOD = re.compile(r"^METHOD:(REQUEST|CANCEL)\r?$", re.MULTILINE | re.IGNORECASE)


# (school name, its personal link to the web form) for each school whose register email is this address
# (bot.web_links.links_for_address): every email to a school carries them when the web form is on.
Links = Callable[[str], Awaitable[list[tuple[str, str]]]]
LINK_WORDS = "It works for 14 days. Anyone with it can act for the school, so please don't forward this email."


def link_lines(links: list[tuple[str, str]]) -> list[Text]:
    """The email's way in to the web form, one line per school the address heads."""
    if not links:
        return []
    if len(links) == 1:
        return [
            rich("To answer, open ", link("your school's form", links[0][1]), " in a web browser."),
            rich(LINK_WORDS),
        ]
    found = [rich(BULLET, link(f"the form for {name}", url)) for name, url in links]
    return [rich("To answer, open your school's form in a web browser:"), *found, rich(LINK_WORDS)]


# A file's MIME type by its name's ending, so a mail program opens it with the right application.
MEDIA_TYPES = {".ics": ("text", "calendar"), ".csv": ("text", "csv"), ".pdf": ("application", "pdf")}


def _media_type(name: str) -> tuple[str, str]:
    return MEDIA_TYPES.get(Path(name).suffix.lower(), ("application", "octet-stream"))


def send_failure(error: Exception) -> SendFailed:
    """An SMTP failure as the dispatcher understands it: 5xx is permanent, anything else is tried again."""
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        refused = error.recipients[0] if error.recipients else None
        code, words = (refused.code, refused.message) if refused else (0, str(error))
        return SendFailed(f"the mail server refused the address ({code} {words})", permanent=500 <= code < 600)
    if isinstance(error, aiosmtplib.SMTPResponseException):
        return SendFailed(f"the mail server refused ({error.code} {error.message})", permanent=500 <= error.code < 600)
    if isinstance(error, aiosmtplib.SMTPServerDisconnected):
        return SendFailed(f"the mail server dropped the connection: {error}")
    if isinstance(error, aiosmtplib.SMTPException | OSError | TimeoutError):
        return SendFailed(f"the mail server could not be reached: {type(error).__name__}: {error}")
    return SendFailed(f"{type(error).__name__}: {error}")


def how_to_answer(choices: list[Choice]) -> Text | None:
    """A message's buttons as what to type in chat (an email can't carry them): a command is its words; any other
    button is named, to press in chat."""
    ways = [
        md("type `{}`", c.action.text) if isinstance(c.action, Command) else md("press *{}*", c.label) for c in choices
    ]
    if not ways:
        return None
    joined: list[Text | str] = []
    for n, way in enumerate(ways):
        joined += [" or ", way] if n else [way]
    return rich("To answer, in a message to the EOI bot ", *joined, ".")


def plain(text: Text) -> str:
    """Rich text as an email's plain part: words to type in quotes, a link with its address."""
    out = []
    for span in text:
        if span.style == "code":
            out.append(f"“{span.text}”")
        elif span.style == "link":
            out.append(f"{span.text} <{span.url}>")
        else:
            out.append(BULLET if span.style == "item" else span.text)
    return "".join(out)


def marked(text: Text) -> str:
    """Rich text as HTML: everything escaped, emphasis as tags, line breaks kept."""
    out = []
    for span in text:
        words = html.escape(span.text, quote=False)
        if span.style == "bold":
            words = f"<strong>{words}</strong>"
        elif span.style == "italic":
            words = f"<em>{words}</em>"
        elif span.style == "code":
            words = f"<code>{words}</code>"
        elif span.style == "link":
            words = f'<a href="{html.escape(span.url)}">{words}</a>'
        elif span.style == "item":
            words = html.escape(BULLET)
        out.append(words)
    return "".join(out).replace("\n", "<br>\n")


class EmailSender:
    """bot.delivery.Sender for email. The register's address is the destination ("email:head@school.org")."""

    platform = PLATFORM
    min_interval = 0.0  # nothing to space: each email goes to its own mailbox

    def __init__(
        self, server: SmtpServer, mail_from: str, *, join: Text, timeout: float = 30.0, links: Links | None = None
    ) -> None:
        self.server, self.mail_from, self.join, self.timeout = server, mail_from, join, timeout
        self.links = links
        self._gate = asyncio.Semaphore(CONNECTIONS)

    async def channel_address(self, session: AsyncSession, address: str) -> str | None:
        found = mail_address(address)
        return f"{PLATFORM}:{found}" if found else None  # not an address: the school counts as unreachable

    async def person_address(self, session: AsyncSession, user_id: str) -> str | None:
        return None  # people are reached on their chat platform; email is only ever a school's register address

    def message(self, to: str, reply: Reply, *, key: str, links: list[tuple[str, str]] | None = None) -> EmailMessage:
        """The reply as an email: plain text and HTML, saying how to answer in chat. The Message-ID comes from
        the delivery key, so a copy sent again after a dropped connection is recognisably the same message."""
        message = EmailMessage()
        message["From"] = self.mail_from
        message["To"] = to
        message["Subject"] = " ".join((reply.title or reply.text.first_line().plain)[:150].split())
        message["Date"] = rfc2822_date(datetime.now(UTC))
        domain = Address(addr_spec=self.mail_from).domain
        message["Message-ID"] = f"<{hashlib.sha256(key.encode()).hexdigest()[:40]}@{domain}>"
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: out-of-office replies are not sent back
        message.set_content(self.plain(reply, links), cte="quoted-printable")  # readable as it travels, not base64
        message.add_alternative(self.html(reply, links), subtype="html")
        if reply.file:
            name, content = reply.file
            method = CALENDAR_METHOD.search(content) if isinstance(content, str) and name.endswith(".ics") else None
            if method and isinstance(content, str):
                # The invitation itself as iTIP's text/calendar part (REQUEST, or CANCEL when it is called off),
                # which Outlook and Gmail show as an event to add; and as a file, for mail programs that don't.
                message.add_alternative(content, subtype="calendar", params={"method": method.group(1).upper()})
            maintype, subtype = _media_type(name)
            data = content if isinstance(content, bytes) else content.encode("utf-8")
            message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
        return message

    def footer(self, reply: Reply) -> Text:
        """Why this came by email: a school's copy of what it sent goes to the contact it gave, whatever chat it
        uses; anything else comes by email because no chat channel reaches the school."""
        return COPY_FOOTER if reply.kind == COPY else self.join

    def plain(self, reply: Reply, links: list[tuple[str, str]] | None = None) -> str:
        lines = [plain(reply.text)]
        lines += [f"{f.label}: {f.value}" for f in reply.facts]
        if links:
            lines += ["", *(plain(line) for line in link_lines(links))]
        elif answer := how_to_answer(reply.choices):
            lines.append(plain(answer))
        lines += ["", "--", plain(self.footer(reply))]
        return "\n".join(lines) + "\n"

    def html(self, reply: Reply, links: list[tuple[str, str]] | None = None) -> str:
        parts = [f"<h2>{html.escape(reply.title)}</h2>"] if reply.title else []
        parts.append(f"<p>{marked(reply.text)}</p>")
        if reply.facts:
            rows = "".join(
                f"<tr><th align='left' valign='top'>{html.escape(f.label)}</th>"
                f"<td>{html.escape(f.value).replace(chr(10), '<br>')}</td></tr>"
                for f in reply.facts
            )
            parts.append(f"<table>{rows}</table>")
        if links:
            parts += [f"<p>{marked(line)}</p>" for line in link_lines(links)]
        elif answer := how_to_answer(reply.choices):
            parts.append(f"<p>{marked(answer)}</p>")
        parts.append(f"<hr><p>{marked(self.footer(reply))}</p>")
        return "<!DOCTYPE html><html><body>" + "".join(parts) + "</body></html>\n"

    async def send(self, destination: str, reply: Reply, *, key: str = "") -> None:
        platform, _, to = destination.partition(":")
        if platform != PLATFORM or not mail_address(to):
            raise SendFailed(f"not an email destination: {destination}", permanent=True)
        links = await self.links(to) if self.links else []
        message = self.message(to, reply, key=key or destination, links=links)
        server = self.server
        try:
            async with self._gate:
                await aiosmtplib.send(
                    message,
                    sender=self.mail_from,
                    recipients=[to],
                    hostname=server.host,
                    port=server.port,
                    username=server.username or None,
                    password=server.password or None,
                    use_tls=server.use_tls,
                    start_tls=server.start_tls,
                    timeout=self.timeout,
                )
        except Exception as error:
            raise send_failure(error) from error


def join_words(service: Service) -> Text:
    """How a school reached by email answers: in the council's Slack or Teams, signed in with the address the
    email came to (that address is how the bot knows which school they speak for), plus the council's own words
    on getting access (EOI_MAIL_JOIN, literal)."""
    settings = service.settings
    ways = []
    if settings.slack_enabled:
        ways.append("in the council's Slack workspace, open the EOI bot (under Apps) and send it a message")
    if settings.teams_enabled:
        ways.append("in Microsoft Teams, open the EOI bot (under Apps) and send it a message")
    if settings.web_enabled:
        words = rich(
            "This email is from Essex County Council's EOI bot. We write by email because your school has no Slack or "
            "Teams channel with us. Your school answers on the council's web form, with the personal link in this "
            "email; if it has expired, ask for a new one at ",
            link("the form's sign-in page", f"{settings.web_base_url}/web/new-link"),
            ".",
        )
        return rich(words, " ", settings.mail_join) if settings.mail_join else words
    where = " or ".join(ways) or "through the EOI bot in the council's Slack or Microsoft Teams"
    words = md(
        "This email is from Essex County Council's EOI bot. We write by email because your school has no Slack or "
        "Teams channel with us yet. To answer, sign in with this email address and {}: for example `start` or "
        "`status`.",
        where,
    )
    return rich(words, " ", settings.mail_join) if settings.mail_join else words


def web_links(service: Service) -> Links | None:
    """Each school's personal link to the web form, made as its email is sent (when the web form is on)."""
    if not service.settings.web_enabled:
        return None
    from bot.web_links import WebLinks, links_for_address

    made = WebLinks(service.settings.web_base_url, service.settings.web_secret)

    async def links(address: str) -> list[tuple[str, str]]:
        async with service.db.session() as session:
            return await links_for_address(session, made, address, service.clock.now())

    return links


def attach_email(service: Service) -> EmailSender:
    """Register the email sender (only when SMTP_URL is set: see bot.app.build_app)."""
    settings = service.settings
    sender = EmailSender(
        SmtpServer.parse(settings.smtp_url), settings.mail_from, join=join_words(service), links=web_links(service)
    )
    service.senders.append(sender)
    return sender
