"""The web form: a channel for schools that the council's Slack and Teams don't reach (docs/WEB-FORM.md). The same
dialog, rules, notices and audit as chat; pages instead of messages (bot/web_pages.py).

Getting in: every email to a school carries its personal link (bot/web_links.py, signed with EOI_WEB_SECRET, 14
days). Opening it starts a server-side session (storage/web_sessions.py) held by an HttpOnly, SameSite=Lax cookie
(Secure under https; 8 hours idle) and redirects to /web, so the link's token is in no address bar, history or
Referer afterwards. The school is the speaker (`web:<URN>` in the audit), with the register's headteacher email.

A turn is a POST carrying the session's CSRF token and the key of the page it was made on. The page key is the
turn's delivery key: the same page sent twice (a double click, a resend after a timeout) is handled once; a page
older than the school's current one (the back button, a second tab) changes nothing and shows the current page,
with what was typed. The replies are kept as the session's page and shown by GET /web (post, redirect, get).
"""

from __future__ import annotations

import hmac
import logging
import mimetypes
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import BodyPartReader, web
from multidict import MultiDict, MultiDictProxy
from sqlalchemy import select

from bot.config import mail_address
from bot.service import Service
from bot.turn_runner import Inbound
from bot.web_links import PREFIX, Unusable, WebLinks
from bot.web_pages import question_at, render, view
from dialogs import conversation_state
from dialogs.actions import Action, Answer, Command, Step, decode, encode
from dialogs.replies import Reply
from dialogs.turns import ReceivedFile, Speaker
from storage import audiences, notices, people, web_sessions
from storage.evidence import MAX_FILE_BYTES, MAX_FILES
from storage.models import Person, School

log = logging.getLogger("eoi-bot.web")

PLATFORM = "web"
STATIC = Path(__file__).parent / "web_static"
FORM_MAX_BYTES = 64 * 1024  # a page's fields: the longest answer is a few thousand characters
ANON_CSRF = "eoi_web_form"  # the "new link" page's double-submit cookie (no session there yet)
# Headers on every page: no script but our own file, no framing, and no Referer, so nothing leaks the page's address.
HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
# Always on a question page: the dialog's steps, as buttons (the same as typing them).
STEPS = (("Back", Step("back")), ("Save and come back later", Step("save")))
NAV = (("Your EOI", Command("start")), ("Status", Command("status")), ("Help", Command("help")))


@dataclass
class Visit:
    """A signed-in school, as read at the start of a request."""

    cookie: str
    urn: str
    email: str
    csrf: str
    page: dict[str, Any]
    school_name: str
    headteacher: str

    @property
    def replies(self) -> list[Reply]:
        """The page's replies, as the turn that made it gave them."""
        return [Reply.from_dict(r) for r in self.page.get("replies", [])]

    def asked(self) -> Reply | None:
        """The question the page asks (bot.web_pages.question_at), if it asks one."""
        replies = self.replies
        at = question_at(replies)
        return replies[at] if at is not None else None


@dataclass
class Exchange:
    """Where a turn is answered: the page being made."""

    speaker: Speaker
    replies: list[Reply] = field(default_factory=list)


class WebChannel:
    platform = PLATFORM

    def __init__(self, service: Service) -> None:
        settings = service.settings
        self.service = service
        self.links = WebLinks(settings.web_base_url, settings.web_secret)
        self.secure = settings.web_base_url.startswith("https://")
        self.cookie = "__Host-eoi_web" if self.secure else "eoi_web"  # __Host-: only this host, path /, Secure

    # -- wiring -------------------------------------------------------------------------------------------------

    def attach(self, app: web.Application) -> None:
        app.middlewares.append(self._headers)
        app.router.add_get("/web", self.home)
        app.router.add_get(PREFIX + "{token}", self.sign_in)
        app.router.add_post("/web/turn", self.turn)
        app.router.add_get("/web/file/{reply:\\d+}", self.file)
        app.router.add_get("/web/new-link", self.new_link)
        app.router.add_post("/web/new-link", self.new_link_sent)
        app.router.add_post("/web/sign-out", self.sign_out)
        app.router.add_static("/web/static", STATIC, show_index=False)
        people.ID_FORMATS.setdefault(PLATFORM, re.compile(r"\d{5,8}"))  # a school's URN: `web:114000`

    @web.middleware
    async def _headers(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if request.path != "/web" and not request.path.startswith("/web/"):
            return await handler(request)
        static = request.path.startswith("/web/static/")
        try:
            response = await handler(request)
        except web.HTTPException as error:
            if error.status >= 400 and not static:  # aiohttp's own (no such page, wrong method): ours instead
                response = self._page(
                    "message.html",
                    status=error.status,
                    title="Page not found" if error.status == 404 else "That didn't work",
                    heading="Page not found" if error.status == 404 else "That didn't work",
                    lines=["If you typed the address, check it is correct. Nothing was changed."],
                    link=("Go to your school's form", "/web"),
                )
            else:
                _secure(error.headers, static)
                raise
        _secure(response.headers, static)
        return response

    # -- the channel contract -----------------------------------------------------------------------------------

    async def identify(self, inbound: Inbound[Exchange]) -> Speaker:
        return inbound.where.speaker

    async def deliver(self, where: Exchange, replies: list[Reply]) -> None:
        where.replies.extend(replies)

    # -- pages --------------------------------------------------------------------------------------------------

    def _page(self, template: str, *, status: int = 200, visit: Visit | None = None, **values: Any) -> web.Response:
        if visit is not None:
            key = visit.page.get("key", "")
            nav = [(label, encode(action)) for label, action in NAV]
            values |= {
                "signed_in": True,
                "school_name": visit.school_name,
                "csrf": visit.csrf,
                "page_key": key,
                "nav": nav,
            }
        return web.Response(text=render(template, **values), status=status, content_type="text/html", charset="utf-8")

    def _ended(self, typed: str = "", *, status: int = 401) -> web.Response:
        lines = [
            "You're signed out: sessions end after 8 hours without use, when you sign out, or when the council "
            "ends them. Nothing was changed."
        ]
        if typed:
            lines.append(f"What you sent, so you can copy it: {typed}")
        lines.append("Open the link in the most recent email we sent you, or ask for a new one.")
        return self._page(
            "message.html",
            status=status,
            title="Signed out",
            heading="You need to sign in again",
            lines=lines,
            link=("Get a new link", "/web/new-link"),
        )

    async def _visit(self, request: web.Request) -> Visit | None:
        cookie = request.cookies.get(self.cookie, "")
        if not cookie:
            return None
        async with self.service.db.session() as session:
            row = await web_sessions.current(session, cookie, now=self.service.clock.now())
            if row is None:
                await session.commit()  # an ended session's row is gone
                return None
            school = await session.get(School, row.school_urn)
            visit = Visit(
                cookie,
                row.school_urn,
                row.email,
                row.csrf,
                dict(row.page or {}),
                school.name if school else row.school_urn,
                (school.headteacher_name if school else "") or "",
            )
            await session.commit()
        return visit

    async def _keep_page(self, visit: Visit, page: dict[str, Any]) -> None:
        async with self.service.db.session() as session:
            row = await web_sessions.current(session, visit.cookie, now=self.service.clock.now())
            if row is not None:
                row.page = page
            await session.commit()

    async def home(self, request: web.Request) -> web.Response:
        visit = await self._visit(request)
        if visit is None:
            return self._page(
                "message.html",
                status=401,
                title="Sign in",
                heading="Open your school's link to start",
                lines=[
                    "This form is for schools that want to host a Resourced Provision or a Partnership Provision. "
                    "Each school signs in with the personal link in the emails the council sends to its headteacher.",
                ],
                link=("Get a new link by email", "/web/new-link"),
            )
        if not visit.page.get("replies"):  # just signed in: where the school's EOIs are
            await self._run(visit, Command("status"), key="")
            visit = await self._visit(request)
            if visit is None:
                return self._ended()
        flash = visit.page.get("flash") or []
        if flash:
            await self._keep_page(visit, {**visit.page, "flash": []})  # said once
        return self._page(
            "turn.html",
            visit=visit,
            page=(page := view(visit.replies, typed=visit.page.get("typed", ""))),
            flash=flash,
            steps=_steps(),
            title=page.title,
        )

    async def sign_in(self, request: web.Request) -> web.Response:
        now = self.service.clock.now()
        try:
            claim = self.links.read(request.match_info["token"], now)
        except Unusable as refused:
            # Why, for the log; never the token, which would let whoever reads the log in.
            log.info("web sign-in refused: %s", refused)
            heading = "This link has expired" if refused.expired else "This link doesn't work"
            why = (
                "Links work for 14 days after we send them."
                if refused.expired
                else "It may have been copied only in part. Try opening it again from the email."
            )
            return self._page(
                "message.html",
                status=400,
                title=heading,
                heading=heading,
                lines=[why],
                link=("Get a new link by email", "/web/new-link"),
            )
        async with self.service.db.session() as session:
            problem = await web_sessions.link_problem(session, claim.urn, claim.email, claim.generation)
            if problem:
                await session.commit()
                log.info("web sign-in for school %s refused: %s", claim.urn, problem)
                return self._page(
                    "message.html",
                    status=403,
                    title="This link no longer works",
                    heading="This link no longer works",
                    lines=[
                        "The council has replaced the links sent before, or the school's headteacher email has "
                        "changed. A new link goes only to the email the school register holds now."
                    ],
                    link=("Get a new link by email", "/web/new-link"),
                )
            started = await web_sessions.start(session, urn=claim.urn, email=claim.email, now=now)
            await session.commit()
        response = web.HTTPSeeOther("/web")
        response.set_cookie(self.cookie, started.cookie, httponly=True, samesite="Lax", secure=self.secure, path="/")
        raise response

    async def _asked_now(self, visit: Visit) -> str:
        """The question the school's dialog is asking now ("" when none: the review, a command)."""
        async with self.service.db.session() as session:
            person = await session.scalar(
                select(Person).where(Person.platform == PLATFORM, Person.user_id == visit.urn)
            )
            state = conversation_state.of(person) if person is not None else None
        if isinstance(state, conversation_state.FillingIn) and isinstance(
            state.place, conversation_state.Answering | conversation_state.Changing
        ):
            return state.place.question
        return ""

    # -- turns --------------------------------------------------------------------------------------------------

    async def _run(
        self, visit: Visit, action: Action | None, *, key: str, text: str = "", files: tuple[ReceivedFile, ...] = ()
    ) -> None:
        """One turn as the school; its replies become the session's page (unless this page was handled before)."""
        speaker = Speaker(PLATFORM, visit.urn, display_name=visit.headteacher, email=visit.email)
        where = Exchange(speaker)
        inbound = Inbound(speaker.user_id, where, text=text, action=action, key=key, files=files)
        if await self.service.runner.run(self, inbound) is None:
            if visit.page.get("key") and key.endswith(visit.page["key"]):
                # Handled, but its page was never kept (the process stopped in between): show where things are.
                await self._run(visit, Command("status"), key="")
            return  # a second click on a page already handled: show the page it led to
        page = {
            "key": secrets.token_urlsafe(12),
            "from": visit.page.get("key", ""),  # a second click on the page before: nothing to say
            "replies": [r.to_dict() for r in where.replies],
            "flash": [],
        }
        if text and any(r.kind == "error" for r in where.replies):
            page["typed"] = text  # refused: the box keeps what was typed, to correct rather than retype
        await self._keep_page(visit, page)

    async def turn(self, request: web.Request) -> web.Response:
        posted, files, problem = await self._form(request)
        visit = await self._visit(request)
        if posted is None:
            return self._refused(
                413,
                "That was too much to send",
                [
                    f"A page can send up to {FORM_MAX_BYTES // 1024} KB of writing, or up to {MAX_FILES} files of "
                    f"{MAX_FILE_BYTES // (1024 * 1024)} MB each ({problem}). Nothing was changed.",
                ],
                visit,
            )
        typed = str(posted.get("text", "")).strip()
        if visit is None:
            return self._ended(typed)
        refused = self._check(posted, visit, typed)
        if refused is not None:
            return refused
        key = str(posted.get("page", ""))
        if key and key == visit.page.get("from"):  # a double click: the first made this page
            raise web.HTTPSeeOther("/web")
        if key != visit.page.get("key", ""):
            flash = [
                "That page was out of date (the back button, or another tab), so nothing was changed. This is "
                "where your school's EOI is now."
            ]
            if typed:
                flash.append(f"What you sent, so you can copy it: {typed}")
            await self._keep_page(visit, {**visit.page, "flash": flash})
            raise web.HTTPSeeOther("/web")
        action, text, complaint = self._read(posted, files, visit)
        shown = asked.question_id if (asked := visit.asked()) else ""
        if text and shown and (asked_now := await self._asked_now(visit)) and asked_now != shown:
            # Another window of the school (a colleague with the same link) moved the EOI on since this page was
            # drawn: typed words would answer whichever question is asked now, so they answer none.
            await self._run(visit, Command("start"), key="")
            refreshed = await self._visit(request)
            if refreshed is not None:
                flash = [
                    "Someone at your school answered that question in another window meanwhile, so your answer "
                    "was not saved. This is the question asked now.",
                    f"What you sent, so you can copy it: {typed}",
                ]
                await self._keep_page(refreshed, {**refreshed.page, "flash": flash})
            raise web.HTTPSeeOther("/web")
        if complaint:
            page = view(visit.replies, problem=complaint)
            return self._page(
                "turn.html", status=400, visit=visit, page=page, flash=[], title=page.title, steps=_steps()
            )
        await self._run(visit, action, key=f"web:{visit.urn}:{key}", text=text, files=files)
        raise web.HTTPSeeOther("/web")

    def _check(self, posted: MultiDictProxy[Any], visit: Visit, typed: str = "") -> web.Response | None:
        """A refusal when the post didn't come from this session's own page (CSRF), else None."""
        if hmac.compare_digest(str(posted.get("csrf", "")).encode(), visit.csrf.encode()):
            return None
        log.info("web post for school %s refused: CSRF token missing or wrong", visit.urn)
        lines = [
            "It didn't come from this service's own page (or the page is from an earlier sign-in), so nothing was "
            "changed."
        ]
        if typed:
            lines.append(f"What you sent, so you can copy it: {typed}")
        return self._refused(403, "This page can't be sent", lines, visit)

    def _read(
        self, posted: MultiDictProxy[Any], files: tuple[ReceivedFile, ...], visit: Visit
    ) -> tuple[Action | None, str, str]:
        """(action, text, complaint): what the page sent as a turn, or what is missing from it."""
        if pressed := str(posted.get("action", "")):
            return decode(pressed), "", ""  # a forged value is Unreadable, which the dialog refuses in words
        if chosen := str(posted.get("choice", "")):
            return decode(chosen), "", ""
        if done := str(posted.get("done", "")):
            answer = decode(done)
            ticked = [str(v) for v in posted.getall("ticked", [])]
            if isinstance(answer, Answer) and not ticked:
                return None, "", "Select at least one option"
            return (answer.ticked(ticked) if isinstance(answer, Answer) else answer), "", ""
        if files:
            return None, "", ""
        asked = visit.asked()
        if "text" in posted:
            text = str(posted.get("text", ""))
            if text.strip():
                return None, text, ""
            return None, "", "Enter your answer" if asked else "Type what you would like to do"
        if asked is not None and asked.answer_type == "files":
            return None, "", "Choose a file to upload, or press the button for no more files"
        return None, "", "Select an option" if asked else "Choose one of the buttons"

    async def _form(self, request: web.Request) -> tuple[MultiDictProxy[Any] | None, tuple[ReceivedFile, ...], str]:
        """The posted fields and any files, or (None, (), why) when they are more than a page may send."""
        if request.content_type == "multipart/form-data":
            return await self._multipart(request)
        if (request.content_length or 0) > FORM_MAX_BYTES:
            return None, (), "the writing was too long"
        try:
            return await request.post(), (), ""
        except web.HTTPRequestEntityTooLarge:
            return None, (), "the writing was too long"

    async def _multipart(
        self, request: web.Request
    ) -> tuple[MultiDictProxy[Any] | None, tuple[ReceivedFile, ...], str]:
        """A page with a file box: fields as usual, files read up to the evidence limit each (one over it is kept
        as "too big", unread, for the dialog to say so as it does for Slack and Teams)."""
        if (request.content_length or 0) > MAX_FILES * (MAX_FILE_BYTES + FORM_MAX_BYTES):
            return None, (), "the files were too big"
        fields: MultiDict[str] = MultiDict()
        files: list[ReceivedFile] = []
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                return None, (), "the form was not one the page sends"
            if part.filename is None:
                value = bytearray()
                while chunk := await part.read_chunk(8 * 1024):
                    value += chunk
                    if len(value) > FORM_MAX_BYTES:
                        return None, (), "the writing was too long"
                fields.add(part.name or "", part.decode(bytes(value)).decode("utf-8", "replace"))
                continue
            if not part.filename:
                await part.release()  # the file box left empty
                continue
            if len(files) >= MAX_FILES:
                return None, (), f"more than {MAX_FILES} files"
            data = bytearray()
            while chunk := await part.read_chunk(64 * 1024):
                data += chunk
                if len(data) > MAX_FILE_BYTES:
                    await part.release()
                    break
            if len(data) > MAX_FILE_BYTES:
                files.append(ReceivedFile(part.filename, size=len(data), problem="too_big"))
            else:
                files.append(ReceivedFile(part.filename, bytes(data), size=len(data)))
        return MultiDictProxy(fields), tuple(files), ""

    def _refused(self, status: int, heading: str, lines: list[str], visit: Visit | None = None) -> web.Response:
        return self._page(
            "message.html",
            status=status,
            visit=visit,
            title=heading,
            heading=heading,
            lines=lines,
            link=("Go back to your school's form", "/web"),
        )

    # -- a reply's file --------------------------------------------------------------------------------------

    async def file(self, request: web.Request) -> web.Response:
        visit = await self._visit(request)
        if visit is None:
            return self._ended()
        replies = visit.page.get("replies", [])
        n = int(request.match_info["reply"])
        reply = Reply.from_dict(replies[n]) if n < len(replies) else None
        if reply is None or reply.file is None:
            return self._refused(
                404, "That file is no longer here", ["Ask for it again from your school's form."], visit
            )
        name, content = reply.file
        body = content if isinstance(content, bytes) else content.encode("utf-8")
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", name)[:120] or "file"
        return web.Response(
            body=body, content_type=kind, headers={"Content-Disposition": f'attachment; filename="{safe}"'}
        )

    # -- signing out, and a new link ----------------------------------------------------------------------------

    async def sign_out(self, request: web.Request) -> web.Response:
        posted, _, _ = await self._form(request)
        visit = await self._visit(request)
        if visit is not None and posted is not None and self._check(posted, visit) is None:
            async with self.service.db.session() as session:
                await web_sessions.end(session, visit.cookie, now=self.service.clock.now())
                await session.commit()
        elif visit is not None:
            refused = self._check(posted or MultiDictProxy(MultiDict()), visit)
            if refused is None:
                raise web.HTTPSeeOther("/web")
            return refused
        response = self._page(
            "message.html",
            title="Signed out",
            heading="You have signed out",
            lines=["Your answers are saved. To carry on, open the link in the council's most recent email."],
            link=("Get a new link by email", "/web/new-link"),
        )
        response.del_cookie(self.cookie, path="/")
        return response

    def _anonymous_csrf(self, request: web.Request) -> tuple[str, bool]:
        token = request.cookies.get(ANON_CSRF, "")
        return (token, False) if len(token) >= 20 else (secrets.token_urlsafe(24), True)

    def _new_link_page(
        self, request: web.Request, *, status: int = 200, error: str = "", email: str = ""
    ) -> web.Response:
        token, fresh = self._anonymous_csrf(request)
        title = "Get a new link to your school's form"
        response = self._page(
            "new_link.html",
            status=status,
            title=f"Error: {title}" if error else title,
            csrf=token,
            error=error,
            email=email,
        )
        if fresh:
            response.set_cookie(ANON_CSRF, token, httponly=True, samesite="Strict", secure=self.secure, path="/web")
        return response

    async def new_link(self, request: web.Request) -> web.Response:
        return self._new_link_page(request)

    async def new_link_sent(self, request: web.Request) -> web.Response:
        posted, _, _ = await self._form(request)
        if posted is None:
            return self._new_link_page(request, status=413, error="Enter an email address")
        token = request.cookies.get(ANON_CSRF, "")
        if not token or not hmac.compare_digest(str(posted.get("csrf", "")).encode(), token.encode()):
            return self._new_link_page(request, status=403, error="The page had expired: enter the address again")
        typed = str(posted.get("email", "")).strip()
        address = mail_address(typed)
        if address is None:
            return self._new_link_page(
                request,
                status=400,
                error="Enter an email address in the correct format, like name@school.org",
                email=typed[:320],
            )
        now = self.service.clock.now()
        async with self.service.db.session() as session:
            if await web_sessions.may_send_link(session, address, now=now):
                schools = await people.schools_by_email(session, address.lower())
                if schools and self.service.settings.email_enabled:
                    # The email sender adds the school's link to any email to a register address (bot.email_sender).
                    await notices.to_address(
                        session,
                        recipient=f"{audiences.EMAIL}:{address.lower()}",
                        kind="web link",
                        body=Reply(
                            title="Your link to your school's expression of interest form",
                            text="You asked for a new link to the council's expression of interest form. It works "
                            "for 14 days; anyone with it can act for your school, so please don't forward it.",
                        ).to_dict(),
                        now=now,
                        school_urn=schools[0].urn,
                    )
                elif schools:
                    log.warning("a new web link was asked for, but email is off (SMTP_URL): nothing was sent")
            await session.commit()
        self.service.dispatcher.kick()
        return self._page(
            "message.html",
            title="Check your email",
            heading="Check your email",
            lines=[
                f"If {address} is the headteacher email the council's school register holds for a school, we have "
                "sent it a link to that school's form. The link works for 14 days.",
                "Nothing arrived within a few minutes? Check your junk folder. We send at most 3 links an hour to "
                "one address. If the register holds an old address, ask the council's SEND team to correct it.",
            ],
        )


def _secure(headers: Any, static: bool) -> None:
    for name, value in HEADERS.items():
        if not (static and name == "Cache-Control"):  # the stylesheet and script may be cached
            headers[name] = value


def _steps() -> list[tuple[str, str]]:
    return [(label, encode(step)) for label, step in STEPS]


def attach_web(app: web.Application, service: Service) -> WebChannel:
    """The web form's routes (only when EOI_WEB_BASE_URL and EOI_WEB_SECRET are set: see bot.app.build_app)."""
    channel = WebChannel(service)
    channel.attach(app)
    return channel
