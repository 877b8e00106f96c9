"""Officers manage windows and identified need: add, plan, change, cancel, preview, deliveries, need."""

from __future__ import annotations

import re
from datetime import date, datetime, time

from sqlalchemy.ext.asyncio import AsyncSession

from dialogs import information_session
from dialogs.actions import Command
from dialogs.announcements import (
    NOBODY_TOLD,
    NOT_REACHED,
    cancel_question,
    cancelled_for_officers,
    no_need,
    priority_lines,
    unreachable,
    window_cancelled,
    window_changed,
)
from dialogs.commands import OFFICER
from dialogs.dates import (
    format_datetime,
    names_a_day_without_year,
    parse_date,
    parse_meeting_time,
    plan_windows,
    reasons_to_confirm,
)
from dialogs.officer_turn import PLATFORM_NAMES, CommandTurn, OfficerTurn
from dialogs.registry import handles
from dialogs.replies import Choice, Fact, Reply, refuse, say
from dialogs.rich import Text, md, rich
from storage import audiences, notices, people
from storage.models import EOI, School, Window
from storage.windows import (
    LONDON,
    TERMS,
    WindowRefused,
    add_window,
    all_windows,
    cancel_window,
    change_window,
    current_or_next,
    eois_in,
    find_window,
    may_add,
    may_change,
    need_for,
    schools_in_scope,
    window_code,
    window_name,
)

Reach = audiences.Reach
TERM_WORDS = {"autumn": "autumn1", "spring": "spring2"}
# Where each window's term begins in its academic year (from the year's first calendar year): a date typed
# without a year for the window falls on or after it.
TERM_SEASONS = {"autumn1": lambda first: date(first, 8, 1), "spring2": lambda first: date(first + 1, 1, 1)}
ADD_EXAMPLE = md('`window add "Autumn Term 1 2027/28" opens 1 Sep 2027 closes 22 Oct 2027`')


# "spring 2027", "Spring Term 2 2026/27", "autumn term 1 2027", "spring": a window as officers say it. A single
# calendar year is the one the term falls in (spring 2027 is in 2026/27; autumn 2027 begins 2027/28).
SAID = re.compile(r"^(autumn|spring)(?:\s+term)?(?:\s+[12])?(?:\s+(\d{4})(?:\s*[/-]\s*(\d{2,4}))?)?$", re.IGNORECASE)


def _term_and_year(words: str) -> tuple[str, str | None] | None:
    """("spring2", "2026/27") for "spring 2027"; ("spring2", None) for "spring"; None when it isn't a window."""
    match = SAID.fullmatch(" ".join(words.strip().strip('"“”').split()))
    if not match:
        return None
    term = TERM_WORDS[match.group(1).casefold()]
    if match.group(2) is None:
        return term, None
    first = int(match.group(2))
    if match.group(3):
        return (term, _year(match.group(2), match.group(3))) if _year(match.group(2), match.group(3)) else None
    start = first if term == "autumn1" else first - 1
    return term, f"{start}/{str(start + 1)[-2:]}"


async def window_named(session: AsyncSession, words: str, now: datetime) -> Window | None:
    """The window `words` names: its code ("2627S"), id, full name, or as said ("spring 2027", "spring": the one
    open or next of that term, else the latest)."""
    found = await find_window(session, words.strip().strip('"“”'))
    said = _term_and_year(words) if found is None else None
    if said is None:
        return found
    term, year = said
    alike = [w for w in await all_windows(session) if w.term == term and (year is None or w.academic_year == year)]
    standing = [w for w in alike if w.cancelled_at is None] or alike
    coming = [w for w in standing if w.closes_at > now]
    return (coming or standing[-1:] or [None])[0]


def _when(text: str, now: datetime, default_hour: int, season: date | None = None) -> datetime | None:
    """A date, with a time if one is given ("1 Sep 2027", "1 Sep 2027 9am", "Christmas Eve at noon"), in London.
    A day typed without a year ("1 March") is the first on or after `season` (where the window's term begins)
    when the window's name says which."""
    text = text.strip()
    found = parse_meeting_time(text, now=now.astimezone(LONDON))
    if found is None:
        day = parse_date(text, today=now.astimezone(LONDON).date())
        if day is None:
            return None
        found = datetime.combine(day, time(default_hour), tzinfo=LONDON)
    if season is not None and names_a_day_without_year(text):
        for year in (season.year, season.year + 1):
            try:
                moved = found.replace(year=year)
            except ValueError:  # 29 February
                continue
            if moved.date() >= season:
                return moved
    return found


def _confirmed(tail: str) -> tuple[str, bool]:
    """A command the officer confirmed from a "Yes, …" button ends in `confirm`: the rest, and whether it did."""
    words = tail.rstrip()
    if words.casefold().endswith(" confirm") or words.casefold() == "confirm":
        return words[: -len("confirm")].rstrip(), True
    return tail, False


def _exact(when: datetime) -> str:
    """A time as a confirm button carries it: read back exactly, whatever the officer first typed."""
    return f"{when.astimezone(LONDON):%Y-%m-%d %H:%M}"


def _to_check(t: OfficerTurn, opens: datetime | None, closes: datetime | None) -> list[str]:
    """Why a window's opening or close is asked about first: the rule a discussion's time is booked by
    (dates.reasons_to_confirm: a weekend, a bank holiday, outside working hours)."""
    reasons = reasons_to_confirm(opens, 0, t.hours, happens="opens") if opens else []
    return reasons + (reasons_to_confirm(closes, 0, t.hours, happens="closes") if closes else [])


def _parts(rest: str) -> tuple[str, str | None, str | None]:
    """'NAME opens X closes Y' -> name, opens text, closes text."""
    match = re.search(r"\bopens?\b(.*?)(?=\bcloses?\b|$)", rest, re.IGNORECASE)
    opens = match.group(1).strip() if match else None
    match = re.search(r"\bcloses?\b(.*)$", rest, re.IGNORECASE)
    closes = match.group(1).strip() if match else None
    name = re.split(r"\bopens?\b|\bcloses?\b", rest, maxsplit=1, flags=re.IGNORECASE)[0]
    return name.strip().strip('"“”'), opens, closes


def _year(start: str, end: str) -> str | None:
    first, last = int(start), int(end[-2:])
    return f"{first}/{str(first + 1)[-2:]}" if (first + 1) % 100 == last else None


@handles("window", OFFICER)
async def window(t: CommandTurn) -> list[Reply]:
    return await window_command(t, t.rest, t.reach)


@handles("deliveries", OFFICER)
async def deliveries(t: CommandTurn) -> list[Reply]:
    return await deliveries_command(t, t.rest, t.reach)


async def window_command(t: OfficerTurn, rest: str, reach: Reach | None = None) -> list[Reply]:
    sub, _, tail = rest.strip().partition(" ")
    sub = sub.casefold() or "list"
    handlers = {
        "list": lambda: window_list(t),
        "add": lambda: _add(t, tail),
        "plan": lambda: _plan(t, tail),
        "change": lambda: _change(t, tail),
        "open": lambda: _open_now(t, tail, reach),
        "cancel": lambda: _cancel(t, tail),
        "preview": lambda: _preview(t, tail, reach),
        "deliveries": lambda: deliveries_command(t, tail, reach),
        "session": lambda: _session(t, tail),
    }
    if sub not in handlers:
        return [
            refuse(
                md(
                    "`window {}` isn't a window command. Try `window list`, {}, `window plan 2027/28`, `window change "
                    "CODE closes DATE`, `window open CODE`, `window cancel CODE`, `window preview CODE`, `window "
                    "deliveries CODE` or `window session CODE WHEN at WHERE`.",
                    sub,
                    ADD_EXAMPLE,
                )
            )
        ]
    try:
        return await handlers[sub]()
    except WindowRefused as refused:
        return [refuse(str(refused))]


async def _add(t: OfficerTurn, tail: str) -> list[Reply]:
    tail, confirmed = _confirmed(tail)
    name, opens_text, closes_text = _parts(tail)
    said = _term_and_year(name)
    if not said or not said[1] or not opens_text or not closes_text:
        return [refuse(md("Say which window and its dates, for example {}.", ADD_EXAMPLE))]
    term, year = said[0], said[1]
    season = TERM_SEASONS[term](int(year[:4]))
    opens, closes = _when(opens_text, t.now, 9, season), _when(closes_text, t.now, 17, season)
    if opens is None or closes is None:
        bad = opens_text if opens is None else closes_text
        return [refuse(md("I couldn't read “{}” as a date. For example {}.", bad, ADD_EXAMPLE))]
    await may_add(t.session, academic_year=year, term=term, opens=opens, closes=closes)
    reasons = [] if confirmed else _to_check(t, opens, closes)
    if reasons:
        named = f"{TERMS[term]} {year}"
        exact = f'window add "{named}" opens {_exact(opens)} closes {_exact(closes)} confirm'
        return [
            t.check_first(
                f"Add {named}, opening {format_datetime(opens)} and closing {format_datetime(closes)}?",
                reasons,
                "added",
                Choice("Yes, add it", Command(exact), style="primary"),
                Choice("No", Command("window list")),
            )
        ]
    window = await add_window(
        t.session,
        academic_year=year,
        term=term,
        opens=opens,
        closes=closes,
        actor=t.actor,
        now=t.now,
    )
    # A window re-added after a cancel keeps the need imported for it; a new one has none yet.
    in_scope = (
        md("Schools in scope are told when it opens; `window preview {}` shows who.", window_code(window))
        if await need_for(t.session, window)
        else no_need(window, t.now)
    )
    return [
        say(
            md(
                "Added {} ({}): opens {}, closes {}. {}",
                window_name(window),
                window_code(window),
                format_datetime(window.opens_at),
                format_datetime(window.closes_at),
                in_scope,
            )
        )
    ]


async def _plan(t: OfficerTurn, tail: str) -> list[Reply]:
    year_text = tail.replace("confirm", "").strip()
    try:
        proposal = plan_windows(year_text)
    except ValueError as error:
        return [refuse(md("{} For example `window plan 2027/28`.", error))]
    match = re.match(r"(\d{4})", year_text)
    assert match is not None
    start = int(match.group(1))
    year = f"{start}/{str(start + 1)[-2:]}"
    if "confirm" in tail:
        added = []
        for name, opens, closes in proposal:
            window = await add_window(
                t.session,
                academic_year=year,
                term=TERM_WORDS[name.split()[0].casefold()],
                opens=opens,
                closes=closes,
                actor=t.actor,
                now=t.now,
            )
            added.append(f"{window_name(window)} ({window_code(window)})")
        return [
            say(
                md(
                    "Added {}. Adjust either with `window change CODE opens … closes …`.",
                    " and ".join(added),
                )
            )
        ]
    # The plan's dates are checked by the rule `window add` asks about; adding both is the confirmation.
    facts = [
        Fact(
            f"{name} {year}",
            f"opens {format_datetime(opens)}, closes {format_datetime(closes)}"
            + "".join(f"\nPlease check: {reason}" for reason in _to_check(t, opens, closes)),
        )
        for name, opens, closes in proposal
    ]
    return [
        Reply(
            kind="summary",
            title=f"Proposed windows for {year}",
            facts=facts,
            text="Autumn Term 1 runs from the start of the autumn term to October half-term; Spring Term 2 "
            "from February half-term to the Easter holiday. Check the dates against this year's term "
            "calendar, then confirm or adjust.",
            choices=[Choice("Add both windows", Command(f"window plan {year} confirm"), style="primary")],
        )
    ]


async def _window_or_refuse(t: OfficerTurn, code: str) -> Window:
    window = await window_named(t.session, code, t.now) if code else await current_or_next(t.session, t.now)
    if window is None:
        raise WindowRefused(
            md("There is no window “{}”. `window list` shows them.", code)
            if code
            else md("There is no open or planned window; `window list` shows them.")
        )
    return window


async def _session(t: OfficerTurn, tail: str) -> list[Reply]:
    """`window session CODE [WHEN at WHERE | cancel]`: the window's information session for schools."""
    tail, confirmed = _confirmed(tail)
    code, _, words = tail.strip().partition(" ")
    if not code:
        return [refuse(md("Say which window, for example `window session 2627S {}`.", information_session.EXAMPLE))]
    window = await _window_or_refuse(t, code)
    return await information_session.session_command(t, window, words, confirmed=confirmed)


async def _change(t: OfficerTurn, tail: str) -> list[Reply]:
    tail, confirmed = _confirmed(tail)
    code, opens_text, closes_text = _parts(tail)
    window = await _window_or_refuse(t, code)
    if not opens_text and not closes_text:
        return [
            refuse(
                md(
                    "Say what changes, e.g. `window change {} closes 30 Oct 2027`.",
                    window_code(window),
                )
            )
        ]
    season = TERM_SEASONS[window.term](int(window.academic_year[:4]))
    opens = _when(opens_text, t.now, 9, season) if opens_text else None
    closes = _when(closes_text, t.now, 17, season) if closes_text else None
    if (opens_text and opens is None) or (closes_text and closes is None):
        return [
            refuse(
                md(
                    "I couldn't read that date. For example `window change {} closes 30 Oct 2027 5pm`.",
                    window_code(window),
                )
            )
        ]
    await may_change(t.session, window, opens=opens, closes=closes, now=t.now)
    if closes is not None and information_session.still_to_come_by(window, closes, t.now) is False:
        assert window.session_at is not None
        return [
            refuse(
                md(
                    "The information session is {}, after that close: move it first (`window session {} WHEN at "
                    "WHERE`) or cancel it (`window session {} cancel`).",
                    format_datetime(window.session_at),
                    window_code(window),
                    window_code(window),
                )
            )
        ]
    reasons = [] if confirmed else _to_check(t, opens, closes)
    if reasons:
        moved = " ".join(f"{word} {_exact(when)}" for word, when in (("opens", opens), ("closes", closes)) if when)
        said = " and ".join(
            f"{word} {format_datetime(when)}" for word, when in (("open", opens), ("close", closes)) if when
        )
        return [
            t.check_first(
                f"Change {window_name(window)} to {said}?",
                reasons,
                "changed",
                Choice(
                    "Yes, change it", Command(f"window change {window_code(window)} {moved} confirm"), style="primary"
                ),
                Choice("No", Command("window list")),
            )
        ]
    was_open = window.opens_at <= t.now
    await change_window(t.session, window, opens=opens, closes=closes, actor=t.actor, now=t.now)
    told = ""
    if was_open and window.announced_at:
        await _tell_in_scope(t, window, window_changed(window))
        told = " Schools in scope have been told."
    return [
        say(
            f"{window_name(window)} now opens {format_datetime(window.opens_at)} and closes "
            f"{format_datetime(window.closes_at)}.{told}"
        )
    ]


async def _missed(t: OfficerTurn, window: Window, reach: Reach | None) -> tuple[int, list[School]]:
    """How many schools are in scope, and those nothing reaches (no reach: no channel is enabled at all)."""
    in_scope = [school for school, _ in await schools_in_scope(t.session, window)]
    return len(in_scope), await audiences.without_destination(t.session, in_scope, reach or _nowhere)


async def _no_need(t: OfficerTurn, window: Window, in_scope: int) -> Text | None:
    """What officers are told of a window with no need imported (so nobody in scope), else None."""
    return no_need(window, t.now) if not in_scope and not await need_for(t.session, window) else None


async def _nowhere(session: AsyncSession, school: School) -> list[str]:
    return []


async def _open_now(t: OfficerTurn, tail: str, reach: Reach | None) -> list[Reply]:
    tail, confirmed = _confirmed(tail)
    window = await _window_or_refuse(t, tail.strip())
    if window.opens_at <= t.now:
        raise WindowRefused(f"{window_name(window)} opened {format_datetime(window.opens_at)}.")
    code = window_code(window)
    need = bool(await need_for(t.session, window))
    await may_change(t.session, window, opens=t.now, closes=None, now=t.now)
    reasons = [] if confirmed else _to_check(t, t.now, None) + ([] if need else [NOBODY_TOLD])
    if reasons:
        return [
            t.check_first(
                f"Open {window_name(window)} now, until {format_datetime(window.closes_at)}?",
                reasons,
                "opened",
                Choice("Yes, open it now", Command(f"window open {code} confirm"), style="primary"),
                Choice("No", Command("window list")),
            )
        ]
    await change_window(t.session, window, opens=t.now, closes=None, actor=t.actor, now=t.now)
    if not need:
        return [
            say(
                md(
                    "{} is open now, until {}. {}",
                    window_name(window),
                    format_datetime(window.closes_at),
                    no_need(window, t.now),
                )
            )
        ]
    in_scope, missed = await _missed(t, window, reach)
    return [
        say(
            md(
                "{} is open now, until {}. Announcements to the {} schools in scope that can be reached go out "
                "within a minute; `window deliveries {}` shows progress. {}",
                window_name(window),
                format_datetime(window.closes_at),
                in_scope - len(missed),
                code,
                unreachable(missed, in_scope, code),
            )
        )
    ]


async def _cancel(t: OfficerTurn, tail: str) -> list[Reply]:
    words = tail.split()
    window = await _window_or_refuse(t, " ".join(w for w in words if w.casefold() != "confirm"))
    held = await eois_in(t.session, window)
    if "confirm" not in words:
        return [
            Reply(
                kind="question",
                text=cancel_question(window, [eoi for eoi, _ in held]),
                choices=[
                    Choice("Yes, cancel it", Command(f"window cancel {window_code(window)} confirm"), style="danger")
                ],
            )
        ]
    announced = window.announced_at is not None
    await cancel_window(t.session, window, actor=t.actor, now=t.now)
    await information_session.goes_with_window(t, window)  # its calendar event is removed too
    # Each school hears what is true for its own EOIs in the window: every school in scope once it was
    # announced, and any school holding an EOI in it (a draft can belong to a window planned next).
    told: dict[str, tuple[School, list[EOI]]] = {}
    for eoi, school in held:
        told.setdefault(school.urn, (school, []))[1].append(eoi)
    if announced:
        for school, _ in await schools_in_scope(t.session, window):
            told.setdefault(school.urn, (school, []))
    upcoming = await current_or_next(t.session, t.now)  # where a draft moves: the cancelled window no longer counts
    for urn, (school, eois) in sorted(told.items()):
        body = window_cancelled(window, school, eois, upcoming, t.now).to_dict()
        await notices.to_school(t.session, school_urn=urn, kind="window change", now=t.now, body=body)
    return [say(cancelled_for_officers(window, told))]


async def _tell_in_scope(t: OfficerTurn, window: Window, reply: Reply) -> None:
    for school, _ in await schools_in_scope(t.session, window):
        await notices.to_school(t.session, school_urn=school.urn, kind="window change", now=t.now, body=reply.to_dict())


def _reached(address: str, names: dict[str, str]) -> str:
    """Who an announcement reaches, as officers know them: "Pat Head (Teams)", "a Slack channel"; never the
    platform's ids."""
    platform, _, where = address.partition(":")
    if platform == audiences.EMAIL:
        return f"email to {where}"  # the register's own address for the school, which officers already hold
    said = _platform_name(platform)
    return f"{names[address]} ({said})" if address in names else f"a {said} channel"


async def _preview(t: OfficerTurn, tail: str, reach: Reach | None) -> list[Reply]:
    """Each school that can be reached, how and with which needs; then the ones nothing reaches, grouped by the
    need they would hear about (one line for many schools, not the same warning under each), and a summary."""
    window = await _window_or_refuse(t, tail.strip())
    in_scope = await schools_in_scope(t.session, window)
    facts, not_reached = [], {}
    reached = {school.urn: await reach(t.session, school) if reach else [] for school, _ in in_scope}
    names = await people.names_of(t.session, {d for found in reached.values() for d in found})
    by_platform: dict[str, int] = {}
    for school, needs in in_scope:
        destinations = reached[school.urn]
        if not destinations:
            not_reached.setdefault("\n".join(priority_lines(needs)), []).append(school)
            continue
        for platform in sorted({d.partition(":")[0] for d in destinations}):
            by_platform[platform] = by_platform.get(platform, 0) + 1
        where = ", ".join(_reached(d, names) for d in destinations)
        facts.append(Fact(f"{school.name} ({school.urn})", f"{where}\n" + "\n".join(priority_lines(needs))))
    nobody = await _no_need(t, window, len(in_scope))
    if nobody:
        return [Reply(kind="list", title=f"Preview: {window_name(window)}", text=nobody)]
    for needs, schools in not_reached.items():
        listed = "; ".join(f"{s.name} ({s.urn})" for s in schools)  # one paragraph, however many
        facts.append(Fact(f"{NOT_REACHED}: {len(schools)} of {len(in_scope)}", f"{needs}\n{listed}"))
    _, missed = await _missed(t, window, reach)
    text = f"{len(in_scope)} schools are in scope of {window_name(window)}. " + (
        f"It opened {format_datetime(window.opens_at)}. "
        if window.opens_at <= t.now
        else f"Announcements go out when it opens, {format_datetime(window.opens_at)}. "
    )
    if by_platform:
        ways = ", ".join(f"{n} by {_platform_name(p)}" for p, n in sorted(by_platform.items()))
        text += f"{len(in_scope) - len(missed)} can be reached ({ways}). "
    return [
        Reply(
            kind="list",
            title=f"Preview: {window_name(window)}",
            text=rich(text, unreachable(missed, len(in_scope), window_code(window), listed_below=True)),
            facts=facts,
        )
    ]


def _platform_name(platform: str) -> str:
    return "email" if platform == audiences.EMAIL else PLATFORM_NAMES.get(platform, platform)


async def deliveries_command(t: OfficerTurn, tail: str, reach: Reach | None = None) -> list[Reply]:
    window = await _window_or_refuse(t, tail.strip())
    counts = await notices.delivery_counts(t.session, window_id=window.id)
    failed = await notices.failed_deliveries(t.session, window_id=window.id)
    facts = [Fact(f"Failed: school {d.school_urn or '-'}", f"{d.destination}: {d.last_error}") for d in failed]
    # Zero pending and zero failed can also mean nobody could be reached, or nobody was in scope: say which.
    in_scope, missed = await _missed(t, window, reach)
    said = await _no_need(t, window, in_scope) or (
        unreachable(missed, in_scope, window_code(window)) if missed else None
    )
    return [
        Reply(
            kind="list",
            title=f"Deliveries: {window_name(window)}",
            facts=facts,
            text=rich(
                f"Delivered {counts['sent']}, pending {counts['pending'] + counts['sending']}, "
                f"failed {counts['failed']}.",
                rich(" ", said) if said else None,
            ),
        )
    ]


@handles("need", OFFICER)
async def need_command(t: CommandTurn) -> list[Reply]:
    rest = t.rest
    try:
        window = await _window_or_refuse(t, rest.strip())
    except WindowRefused as refused:
        return [refuse(str(refused))]
    rows = await need_for(t.session, window)
    if not rows:
        return [
            say(
                md(
                    "No identified need is recorded for {}. Import it with `eoi-bot import need FILE.csv --window {}`.",
                    window_name(window),
                    window_code(window),
                )
            )
        ]
    by = rows[0]
    return [
        Reply(
            kind="list",
            title=f"Identified need: {window_name(window)}",
            text="\n".join(priority_lines(rows))
            + f"\nImported by {by.imported_by}, {format_datetime(by.imported_at)}.",
        )
    ]


async def window_list(t: OfficerTurn) -> list[Reply]:
    windows = await all_windows(t.session)
    if not windows:
        return [
            say(
                md(
                    'No windows yet. Add one: `window add "Autumn Term 1 2027/28" opens 1 Sep 2027 closes 22 Oct '
                    "2027`, or `window plan 2027/28`.",
                )
            )
        ]
    facts = []
    for w in windows:
        state = (
            "cancelled"
            if w.cancelled_at
            else "open"
            if w.opens_at <= t.now < w.closes_at
            else "closed"
            if w.closes_at <= t.now
            else "planned"
        )
        facts.append(
            Fact(
                f"{window_code(w)} {window_name(w)}",
                f"{format_datetime(w.opens_at)} → {format_datetime(w.closes_at)} ({state})",
            )
        )
    return [Reply(text="Windows", kind="list", facts=facts)]
