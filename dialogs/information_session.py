"""A window's information session for schools: `window session CODE WHEN at WHERE` sets or moves it, `window
session CODE cancel` calls it off. Schools in scope hear of it in the window's announcement (dialogs.schedule, while
it is still to come), or at once when the announcement has gone or won't carry it (a session before the window
opens), and again two days before (`SESSION_REMINDER`); each time with a calendar invitation (.ics) whose one UID
per window makes a move update the event and a cancel remove it (dialogs.calendar_invite)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from dialogs import calendar_invite
from dialogs.actions import Command
from dialogs.dates import LONDON, TIME_AT_START, format_datetime, format_meeting_day, read_meeting_time
from dialogs.dates import reasons_to_confirm as unusual
from dialogs.officer_turn import OfficerTurn
from dialogs.replies import Choice, Reply, refuse, say
from dialogs.rich import Text, code, link, md, rich, text_of
from storage import information_sessions, notices
from storage.information_sessions import LONGEST_PLACE
from storage.models import Window
from storage.windows import WindowRefused, schools_in_scope, window_code, window_name

SESSION_REMINDER = timedelta(days=2)  # schools in scope are reminded this long before the session
EXAMPLE = "Tuesday 12 January 4pm at County Hall, Chelmsford"
# A link as Slack sends it in a message, `<https://…>` or `<https://…|words>`: the address alone is kept.
SLACK_LINK = re.compile(r"<(https?://[^|>\s]+)(?:\|[^>]*)?>", re.IGNORECASE)
EXACT = "%Y-%m-%d %H:%M"  # a time as a confirm button carries it, read back exactly


def _where(where: str) -> Text:
    """Where, as a sentence ends: "at County Hall", or "online: join online" with the link to press."""
    found = calendar_invite.online_link(where)
    if found and found == where.strip():
        return rich(", online: ", link("join online", found))
    return md(" at {}", where)


def when_and_where(at: datetime, where: str) -> Text:
    return md("*{}* (UK time){}", format_datetime(at), _where(where))


def in_announcement(window: Window, now: datetime) -> Text | None:
    """The announcement's lines about the session, while it is still to come (a past one is never announced)."""
    if window.session_at is None or window.session_at <= now:
        return None
    return md(
        "\nECC is holding an information session about this on {}: come to hear how it works and ask questions. "
        "A calendar invitation for it comes with this message.",
        when_and_where(window.session_at, window.session_where),
    )


def still_to_come_by(window: Window, closes: datetime, now: datetime) -> bool | None:
    """Whether the window's session still to come is before a close at `closes` (None: no session to come)."""
    if window.session_at is None or window.session_at <= now:
        return None
    return window.session_at < closes


def carried_by_announcement(window: Window, at: datetime) -> bool:
    """Whether the window's announcement, still to go, will name a session at `at` (one before the window opens
    would be past by then)."""
    return window.announced_at is None and at > window.opens_at


async def sequence(session: AsyncSession, window: Window) -> int:
    """The session's calendar SEQUENCE: 0 when first set, one more for every move or cancel since."""
    return max(await information_sessions.changes(session, window) - 1, 0)


def calendar_reply(
    window: Window, *, at: datetime, where: str, sequence: int, now: datetime, method: str = calendar_invite.REQUEST
) -> Reply:
    """The .ics as a file, said as a discussion's is."""
    name, content = calendar_invite.session_invitation(
        window, starts_at=at, where=where, method=method, sequence=sequence, now=now
    )
    when = format_datetime(at)
    text = (
        f"Calendar invitation for the information session about {window_name(window)}, {when}: open it to add it "
        "to your calendar (a later one for the same session updates it)."
        if method == calendar_invite.REQUEST
        else f"Calendar cancellation for the information session about {window_name(window)}, {when}: open it to "
        "remove it from your calendar."
    )
    return Reply(text=text, kind="notice", file=(name, content))


def _window_dates(window: Window, now: datetime) -> Text:
    if window.opens_at > now:
        return md("Expressions of interest open {}.", format_datetime(window.opens_at))
    return md("Expressions of interest can be sent until {}.", format_datetime(window.closes_at))


def reminder(window: Window, now: datetime) -> Reply:
    """Two days before: each school in scope is reminded, with the calendar invitation again."""
    assert window.session_at is not None
    return Reply(
        kind="notice",
        title=f"Information session {format_meeting_day(window.session_at)}: {window_name(window)}",
        text=md(
            "A reminder: ECC's information session for schools about {} is on {}. Come to hear how expressions of "
            "interest work and ask questions. {} A calendar invitation comes with this message.",
            window_name(window),
            when_and_where(window.session_at, window.session_where),
            _window_dates(window, now),
        ),
    )


def _told(window: Window, *, moved: bool, now: datetime) -> Reply:
    """A session set (or moved) once the schools could no longer read it in the announcement."""
    assert window.session_at is not None
    name, when = window_name(window), when_and_where(window.session_at, window.session_where)
    if moved:
        said = md("ECC's information session about {} has moved to {}.", name, when)
    else:
        said = md(
            "ECC is holding an information session for schools about {} on {}: come to hear how expressions of "
            "interest work and ask questions.",
            name,
            when,
        )
    return Reply(
        kind="notice",
        title=f"{window_name(window)}: information session {'moved' if moved else ''}".strip(),
        text=md("{} {} A calendar invitation comes with this message.", said, _window_dates(window, now)),
    )


def _called_off(window: Window, at: datetime, now: datetime) -> Reply:
    return Reply(
        kind="notice",
        title=f"{window_name(window)}: information session cancelled",
        text=md(
            "ECC has cancelled the information session about {} on {}. {}",
            window_name(window),
            format_datetime(at),
            _window_dates(window, now),
        ),
    )


def _in_scope(n: int, verb: str = "") -> str:
    """ "The 32 schools in scope have", "The 1 school in scope has" (verb "have"), or without a verb."""
    said = f"The {n} school{'s' if n != 1 else ''} in scope"
    return f"{said} {verb if n != 1 else 'has'}" if verb else said


async def _tell_in_scope(session: AsyncSession, window: Window, told: list[tuple[str, Reply]], now: datetime) -> int:
    """Each school in scope is told now (a turn's notices: no key), the calendar file first so the words are the
    last thing it sees; how many schools."""
    schools = await schools_in_scope(session, window)
    for school, _ in schools:
        for kind, reply in told:
            await notices.plan(
                session,
                key=None,
                audience="school",
                school_urn=school.urn,
                window_id=window.id,
                kind=kind,
                body=reply.to_dict(),
                now=now,
            )
    return len(schools)


def split_when_where(words: str) -> tuple[str, str]:
    """'Tuesday 12 January at 4pm at County Hall' -> ('Tuesday 12 January at 4pm', 'County Hall'): the first "at"
    not followed by a time begins the place."""
    for at in re.finditer(r"\s+at\s+|\s+@\s+", words, flags=re.IGNORECASE):
        if not TIME_AT_START.match(words[at.end() :]):
            return words[: at.start()].strip(), words[at.end() :].strip()
    return words.strip(), ""


def _examples_as_commands(problem: str | Text, code_: str) -> Text:
    """A reading's examples ("Try `Tuesday at 2pm`") as whole commands to type."""
    return rich(
        *(code(f"window session {code_} {s.text} at County Hall") if s.style == "code" else s for s in text_of(problem))
    )


def _example(window: Window) -> Text:
    return md("For example `window session {} {}`.", window_code(window), EXAMPLE)


async def session_command(t: OfficerTurn, window: Window, words: str, *, confirmed: bool) -> list[Reply]:
    """`window session CODE` (what is set), `... cancel`, or `... WHEN at WHERE` (set or move it)."""
    words = " ".join(SLACK_LINK.sub(r"\1", words).split())
    if not words:
        return [_shown(window, t.now)]
    if words.casefold() == "cancel":
        return await _cancel(t, window)
    information_sessions.may_set(window, None, t.now)  # a cancelled or closed window is said so first
    when, where = split_when_where(words)
    if not when or not where:
        return [refuse(md("Say when and where the session is. {}", _example(window)))]
    if len(where) > LONGEST_PLACE:
        return [refuse(md("Please keep the place under {} characters. {}", LONGEST_PLACE, _example(window)))]
    now = t.now.astimezone(LONDON)
    reading = read_meeting_time(when, now=now, hours=t.hours)
    if reading.problem or reading.starts is None or reading.until or reading.either:
        problem = reading.problem or md("I couldn't read “{}” as a day and time.", when)
        return [refuse(_examples_as_commands(problem, window_code(window)))]
    at = reading.starts
    if at >= window.closes_at:
        return [
            refuse(
                md(
                    "The information session must be before {} closes, {}. {}",
                    window_name(window),
                    format_datetime(window.closes_at),
                    _example(window),
                )
            )
        ]
    information_sessions.may_set(window, at, t.now)
    if window.session_at == at and window.session_where == where:
        return [
            say(
                md(
                    "The information session is already {}. Nothing has changed, so nobody is told again.",
                    when_and_where(at, where),
                )
            )
        ]
    reasons = [] if confirmed else unusual(at, calendar_invite.SESSION_MINUTES, t.hours)
    if reasons:
        exact = f"window session {window_code(window)} {at.astimezone(LONDON):{EXACT}} at {where} confirm"
        return [
            t.check_first(
                f"{reading.assumed} Set the information session for {window_name(window)} for "
                f"{format_datetime(at)} at {where}?".strip(),
                reasons,
                "set",
                Choice(f"Yes, set {format_meeting_day(at)}", Command(exact), style="primary"),
                Choice("No", Command(f"window session {window_code(window)}")),
            )
        ]
    return await _set(t, window, at, where, assumed=reading.assumed)


async def _set(t: OfficerTurn, window: Window, at: datetime, where: str, *, assumed: str) -> list[Reply]:
    before = window.session_at
    moved = before is not None and before > t.now
    heard = window.announced_at is not None or window.session_reminded_at is not None
    # Schools hear now when they can no longer read it in the announcement, or heard of the time it had.
    tell = heard or not carried_by_announcement(window, at)
    tell = tell or (before is not None and moved and not carried_by_announcement(window, before))
    in_scope = len(await schools_in_scope(t.session, window))
    reminder_at = at - SESSION_REMINDER
    reminded = tell and in_scope > 0 and reminder_at <= t.now  # told this close to it: that is its reminder
    await information_sessions.set_session(
        t.session, window, at=at, where=where, actor=t.actor, now=t.now, reminded=reminded
    )
    said = md(
        "{}: the information session for {} is {}.",
        "Moved" if moved else "Set",
        window_name(window),
        when_and_where(at, where),
    )
    reminded_on = format_datetime(reminder_at) if reminder_at > t.now else ""
    if not in_scope:
        news = md(
            "No school is in scope yet (no identified need covers any), so nobody is told now; the schools in scope "
            "once it is imported are reminded two days before."
        )
    elif tell:
        ics = calendar_reply(window, at=at, where=where, sequence=await sequence(t.session, window), now=t.now)
        told_now = [("calendar", ics), ("information session", _told(window, moved=moved, now=t.now))]
        told = await _tell_in_scope(t.session, window, told_now, t.now)
        later = md(", and will be reminded {}", reminded_on) if reminded_on else ""
        news = md("{} been told, with a calendar invitation{}.", _in_scope(told, "have"), later)
    else:
        # Reminded two days before, unless the announcement (due now or at the opening) is that close to it.
        reminded_on = reminded_on if reminder_at > window.opens_at else ""
        news = md(
            "The announcement to {} names it, with a calendar invitation{}.",
            _in_scope(in_scope).lower(),
            md(", and they will be reminded {}", reminded_on) if reminded_on else "",
        )
    return [say(md("{}{} {}", f"{assumed} " if assumed else "", said, news))]


async def _cancel(t: OfficerTurn, window: Window) -> list[Reply]:
    at, where = window.session_at, window.session_where
    if at is None:
        return [refuse(md("{} has no information session to cancel.", window_name(window)))]
    heard = window.announced_at is not None or window.session_reminded_at is not None
    tell = at > t.now and (heard or not carried_by_announcement(window, at))
    try:
        await information_sessions.cancel_session(t.session, window, actor=t.actor, now=t.now)
    except WindowRefused as refused:
        return [refuse(str(refused))]
    said = md("Cancelled: the information session for {} on {}.", window_name(window), format_datetime(at))
    if not tell:
        return [say(md("{} No school had been told of it, so nobody is told now.", said))]
    ics = calendar_reply(
        window, at=at, where=where, sequence=await sequence(t.session, window), now=t.now, method=calendar_invite.CANCEL
    )
    told = await _tell_in_scope(
        t.session, window, [("information session", _called_off(window, at, t.now)), ("calendar", ics)], t.now
    )
    return [say(md("{} {} been told, with a calendar cancellation.", said, _in_scope(told, "have")))]


async def goes_with_window(t: OfficerTurn, window: Window) -> None:
    """A cancelled window's session still to come is called off with it (audited): the schools that had heard of
    it get the calendar's CANCEL (the window's own notice says the rest)."""
    at, where = window.session_at, window.session_where
    if at is None or at <= t.now:
        return
    heard = window.announced_at is not None or window.session_reminded_at is not None
    await information_sessions.cancel_session(t.session, window, actor=t.actor, now=t.now)
    if heard or not carried_by_announcement(window, at):
        sequence_now = await sequence(t.session, window)
        ics = calendar_reply(
            window, at=at, where=where, sequence=sequence_now, now=t.now, method=calendar_invite.CANCEL
        )
        await _tell_in_scope(t.session, window, [("calendar", ics)], t.now)


def _shown(window: Window, now: datetime) -> Reply:
    code_ = window_code(window)
    if window.session_at is None:
        return say(md("No information session is set for {}. {}", window_name(window), _example(window)))
    past = " (past)" if window.session_at <= now else ""
    return say(
        md(
            "The information session for {} is {}{}. `window session {} WHEN at WHERE` moves it; `window session {} "
            "cancel` calls it off.",
            window_name(window),
            when_and_where(window.session_at, window.session_where),
            past,
            code_,
            code_,
        )
    )
