"""The web form against what a browser, a mail scanner or an attacker may send: forged, expired, revoked and
replayed links, a session used after it ended, posts without the page's CSRF token, oversize posts, a double
submit and the back button. Each gets a clear page, and nothing is changed or lost. Tokens never reach a log."""

from __future__ import annotations

import html
import logging
import re
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.config import load_settings
from bot.web_links import WebLinks
from storage import web_sessions
from storage.models import EOI, AuditEntry, Notice, School, WebSession
from tests.web_site import BASE, SCHOOL, SECRET, Site, web_site

HEAD = f"head{SCHOOL}@demo-school.example"


@pytest.fixture
async def site(test_db, clock) -> AsyncIterator[Site]:
    """Served over http, as the test client speaks (a Secure cookie would not come back over it)."""
    async with web_site(
        test_db, clock, web_base_url="http://eoi.test", smtp_url="smtp://127.0.0.1:1", mail_from="eoi@essex.example"
    ) as site:
        yield site


@pytest.fixture
async def https_site(test_db, clock) -> AsyncIterator[Site]:
    async with web_site(test_db, clock) as site:
        yield site


async def read(response) -> str:  # type: ignore[no-untyped-def]
    return html.unescape(await response.text())


async def sign_in(site: Site, link: str | None = None):  # type: ignore[no-untyped-def]
    """Opens the link (the school's own by default); returns the response to it, without following redirects."""
    path = link or await site.link()
    return await site.client.get(path, allow_redirects=False)


def fields(page_html: str) -> dict[str, str]:
    """The hidden fields of the page's first form (the CSRF token and the page's key)."""
    return {k: html.unescape(v) for k, v in re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', page_html)}


def button(page_html: str, label: str) -> str:
    """The action a button on the page posts, as the browser sends it."""
    for value, words in re.findall(r'name="action" value="([^"]*)"[^>]*>([^<]*)<', page_html):
        if html.unescape(words).strip() == label:
            return html.unescape(value)
    raise AssertionError(f"no {label!r} button")


async def page(site: Site) -> str:
    response = await site.client.get("/web")
    return await response.text()  # as served: the hidden fields' values, escaped


async def eois(site: Site) -> int:
    async with site.service.db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(EOI).where(EOI.school_urn == SCHOOL)) or 0)


async def test_a_link_swaps_for_a_session_cookie_and_an_address_without_the_token(https_site: Site, caplog):
    caplog.set_level(logging.DEBUG)
    site = https_site
    link = await site.link()
    response = await sign_in(site, link)
    assert response.status == 303 and response.headers["Location"] == "/web"
    cookie = response.cookies["__Host-eoi_web"]  # under https: the __Host- prefix, Secure
    assert cookie["httponly"] and cookie["secure"] and cookie["samesite"] == "Lax" and cookie["path"] == "/"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    shown = await site.client.get("/web", headers={"Cookie": f"__Host-eoi_web={cookie.value}"})
    assert shown.status == 200 and "Hillcrest Primary School" in await read(shown)
    csp = shown.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert shown.headers["Cache-Control"] == "no-store" and shown.headers["X-Frame-Options"] == "DENY"
    token = link.rsplit("/", 1)[1]
    await sign_in(site, link.replace(token, token[:-3] + "AAA"))  # and a forged one
    # The test server's own access log prints paths; `eoi-bot serve` runs with none (bot.app.serve).
    ours = [r for r in caplog.records if r.name != "aiohttp.access"]
    assert ours and not [r for r in ours if token[:40] in r.getMessage()]


@pytest.mark.parametrize(
    "alter",
    [
        lambda t, now: t[:-2] + ("A" if t[-2] != "A" else "B") + t[-1],  # the signature changed
        lambda t, now: t.replace(t.split(".")[1], WebLinks(BASE, SECRET).token("114002", "x@y.z", now).split(".")[1]),
        lambda t, now: WebLinks(BASE, "another-secret-of-at-least-32-characters").token(SCHOOL, HEAD, now),
        lambda t, now: t.split(".")[0] + "." + t.split(".")[1],  # cut short
        lambda t, now: "x" * 2000,
    ],
    ids=["signature", "another-school", "another-key", "cut-short", "garbage"],
)
async def test_a_forged_or_damaged_link_is_refused_and_starts_no_session(site: Site, alter):
    link = await site.link()
    token = link.rsplit("/", 1)[1]
    response = await sign_in(site, link.rsplit("/", 1)[0] + "/" + alter(token, site.service.clock.now()))
    assert response.status in (400, 404)
    assert "doesn't work" in await read(response) or "not found" in (await read(response)).lower()
    assert "eoi_web" not in "".join(response.cookies)
    async with site.service.db.session() as session:
        assert not list(await session.scalars(select(WebSession)))


async def test_a_link_expires_after_14_days(site: Site):
    link = await site.link()
    site.service.clock.advance(timedelta(days=14, minutes=1))
    response = await sign_in(site, link)
    assert response.status == 400 and "This link has expired" in await read(response)


async def test_revoking_ends_every_session_and_link_and_a_new_link_works(site: Site):
    link = await site.link()
    await sign_in(site, link)
    assert "Hillcrest" in await page(site)
    async with site.service.db.session() as session:
        assert await web_sessions.revoke(session, SCHOOL, now=site.service.clock.now(), by="cli") == 1
        await session.commit()
    ended = await site.client.get("/web")
    assert ended.status == 401 and "Open your school's link" in await read(ended)
    replayed = await sign_in(site, link)  # the old link, opened again
    assert replayed.status == 403 and "no longer works" in await read(replayed)
    fresh = await sign_in(site)  # made after the revocation, at the same moment by the clock
    assert fresh.status == 303


async def test_a_new_register_email_ends_the_schools_sessions_and_links(site: Site):
    link = await site.link()
    await sign_in(site, link)
    async with site.service.db.session() as session:
        school = await session.get(School, SCHOOL)
        school.headteacher_email = "new.head@school.example"
        await session.commit()
    assert (await site.client.get("/web")).status == 401
    assert (await sign_in(site, link)).status == 403


async def test_a_session_idle_for_8_hours_has_ended_and_what_was_typed_is_shown_back(site: Site):
    await sign_in(site)
    form = fields(await page(site))
    site.service.clock.advance(timedelta(hours=8, minutes=1))
    response = await site.client.post("/web/turn", data={**form, "text": "my carefully typed answer"})
    text = await read(response)
    assert response.status == 401 and "You need to sign in again" in text and "my carefully typed answer" in text


async def test_a_post_without_the_pages_csrf_token_changes_nothing(site: Site):
    await sign_in(site)
    form = fields(await page(site))
    start = button(await page(site), "Start")
    for token in ("", "wrong", form["csrf"][:-1]):
        response = await site.client.post("/web/turn", data={"csrf": token, "page": form["page"], "action": start})
        assert response.status == 403 and "nothing was changed" in await read(response)
    assert await eois(site) == 0
    signed_out = await site.client.post("/web/sign-out", data={}, allow_redirects=False)
    assert signed_out.status == 403 and "Hillcrest" in await page(site)  # still signed in


async def test_an_oversize_post_gets_a_clear_page_and_changes_nothing(site: Site):
    await sign_in(site)
    form = fields(await page(site))
    response = await site.client.post("/web/turn", data={**form, "text": "x" * 200_000})
    assert response.status == 413 and "too much to send" in await read(response)
    assert await eois(site) == 0


async def test_a_double_submit_is_one_turn_and_an_old_page_changes_nothing(site: Site):
    await sign_in(site)
    html = await page(site)
    form = fields(html)
    start = button(html, "Start")
    for _ in range(2):  # a double click: the same page sent twice
        response = await site.client.post("/web/turn", data={**form, "action": start}, allow_redirects=False)
        assert response.status == 303
    assert await eois(site) == 1
    async with site.service.db.session() as session:
        started = await session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.actor == f"web:{SCHOOL}", AuditEntry.action.like("%start%"))
        )
    assert started == 1
    assert "out of date" not in await read(response)  # the second click just shows the page the first led to
    # The back button: an older page again, with a typed answer. Nothing changes; the current page says why.
    html_now = await page(site)
    await site.client.post(
        "/web/turn", data={**fields(html_now), "action": button(html_now, "Save and come back later")}
    )
    response = await site.client.post("/web/turn", data={**form, "text": "Resourced"})
    text = await read(response)
    assert "That page was out of date" in text and "Resourced" in text
    async with site.service.db.session() as session:
        eoi = await session.scalar(select(EOI).where(EOI.school_urn == SCHOOL))
        assert eoi is not None and not eoi.answers  # "Resourced" was not taken as an answer to anything


async def test_a_forged_button_is_refused_in_words(site: Site):
    await sign_in(site)
    form = fields(await page(site))
    response = await site.client.post("/web/turn", data={**form, "action": '["cmd"'})
    assert response.status == 200 and "can't read that button" in await read(response)


async def test_asking_for_a_new_link_answers_the_same_for_any_address_and_at_most_3_an_hour(site: Site):
    got = await site.client.get("/web/new-link")
    token = fields(await read(got))["csrf"]

    async def ask(address: str) -> str:
        response = await site.client.post("/web/new-link", data={"csrf": token, "email": address})
        assert response.status == 200
        return re.sub(re.escape(address), "ADDRESS", await read(response))

    assert await ask(HEAD) == await ask("nobody@nowhere.example")
    for _ in range(4):
        await ask(HEAD)
    async with site.service.db.session() as session:
        sent = await session.scalar(select(func.count()).select_from(Notice).where(Notice.kind == "web link"))
    assert sent == 3  # the first and two more within the hour; the rest answered the same, sending nothing
    missing = await site.client.post("/web/new-link", data={"email": HEAD})
    assert missing.status == 403


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({"EOI_WEB_BASE_URL": BASE, "EOI_WEB_SECRET": "short"}, "at least 32 characters"),
        ({"EOI_WEB_BASE_URL": BASE}, "needs both"),
        ({"EOI_WEB_SECRET": SECRET}, "needs both"),
        ({"EOI_WEB_BASE_URL": "eoi.essex.gov.uk", "EOI_WEB_SECRET": SECRET}, "the address people open"),
    ],
)
def test_the_web_form_is_refused_with_a_short_secret_or_half_configured(env, problem):
    with pytest.raises(ValueError, match=problem):
        load_settings(env)


async def test_subject_access_lists_a_heads_web_sessions_and_erasure_ends_them_and_every_link(site: Site):
    from storage import subject_access

    link = await site.link()
    await sign_in(site, link)
    assert "Hillcrest" in await page(site)
    subject = subject_access.Subject.parse(HEAD)
    async with site.service.db.session() as session:
        held = await subject_access.export(session, subject, now=site.service.clock.now())
    assert [w["school_urn"] for w in held["web_sessions"]] == [SCHOOL]
    assert "token" not in str(held["web_sessions"]) and "csrf" not in str(held["web_sessions"])
    async with site.service.db.session() as session:
        erased = await subject_access.erase(session, subject, actor="cli", now=site.service.clock.now(), confirm=True)
    assert erased.counts["web form sessions"] == 1
    assert (await site.client.get("/web")).status == 401
    assert (await sign_in(site, link)).status == 403
    async with site.service.db.session() as session:
        assert not list(await session.scalars(select(WebSession)))


async def test_a_file_post_with_too_much_writing_or_too_many_files_is_refused_whole(site: Site):
    from aiohttp import FormData

    await sign_in(site)
    form = fields(await page(site))

    def multipart(text: str, files: int) -> FormData:
        data = FormData()
        for name, value in {**form, "text": text}.items():
            data.add_field(name, value)
        for n in range(files):
            data.add_field("files", b"%PDF-1.4 tiny", filename=f"plan-{n}.pdf", content_type="application/pdf")
        return data

    for data in (multipart("x" * 100_000, 1), multipart("hello", 6)):
        response = await site.client.post("/web/turn", data=data)
        assert response.status == 413 and "Nothing was changed" in await read(response)
    assert await eois(site) == 0


async def test_two_windows_of_one_school_never_file_an_answer_under_the_wrong_question(site: Site):
    """A colleague opens the same link in another browser and answers the question first: the answer typed in the
    first window, drawn for that question, is shown back rather than taken as the answer to the next one."""
    from aiohttp import ClientSession, CookieJar

    await sign_in(site)
    first = await page(site)
    await site.client.post("/web/turn", data={**fields(first), "action": button(first, "Start")})
    asked = await page(site)  # question 1 (a choice): answered in this window by its radio
    choice = re.search(r'name="choice" type="radio" value="([^"]*)"', asked)
    assert choice
    await site.client.post("/web/turn", data={**fields(asked), "choice": html.unescape(choice.group(1))})
    here = await page(site)
    assert "Question 2 of" in html.unescape(here)

    async with ClientSession(cookie_jar=CookieJar(unsafe=True)) as other:  # the colleague's browser

        async def there_now() -> str:
            return await (await other.get(site.client.make_url("/web"))).text()

        await other.get(site.client.make_url(await site.link()), allow_redirects=False)
        there = await there_now()
        await other.post(site.client.make_url("/web/turn"), data={**fields(there), "action": button(there, "Your EOI")})
        there = await there_now()
        assert "Question 2 of" in html.unescape(there)
        colleague = re.search(r'name="choice" type="radio" value="([^"]*)"', there)
        assert colleague
        await other.post(
            site.client.make_url("/web/turn"), data={**fields(there), "choice": html.unescape(colleague.group(1))}
        )
        assert "Question 3 of" in html.unescape(await there_now())

    # This window still shows question 2 (a choice), posted as typed words: they must not answer question 3.
    response = await site.client.post("/web/turn", data={**fields(here), "text": "12"})
    shown = await read(response)
    assert "answered that question in another window" in shown and "12" in shown
    assert "Question 3 of" in shown
    async with site.service.db.session() as session:
        eoi = await session.scalar(select(EOI).where(EOI.school_urn == SCHOOL))
        assert eoi is not None and len(eoi.answers) == 2  # the two choices, nothing filed under question 3
