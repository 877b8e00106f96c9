"""Chasing the schools that haven't answered: `list not-started` and `list drafts` show, for the
window open now (or one named), the in-scope schools with no EOI in it and the drafts not submitted, with when each
school was last told and how it is reached; `nudge SCHOOL|all [message]` reminds them now, each school at most
once a day, saying what it has left to do. The records and the once-a-day rule are storage/chasing.py's."""

from __future__ import annotations

from datetime import datetime

from dialogs import commands, registry
from dialogs.actions import Command, OpenForm
from dialogs.dates import format_clock, format_date, format_datetime
from dialogs.glossary import PROVISION_NAMES
from dialogs.officer_turn import PLATFORM_NAMES, CommandTurn
from dialogs.questions import eoi_questions
from dialogs.questions_left import questions_left
from dialogs.references import MAX_MATCHES, by_ref, looks_like_ref
from dialogs.replies import Choice, Fact, Form, FormField, Reply, refuse, say
from dialogs.rich import Text, lines_of, md, rich
from dialogs.window_commands import window_named
from storage import audiences, chasing, eois, people
from storage.chasing import NUDGE, LastTold, YetToSubmit
from storage.lifecycle import DRAFT, WITHDRAWN
from storage.models import EOI, School, Window
from storage.windows import LONDON, all_windows, need_in_scope, next_window, open_window, window_code, window_name

# The words after `list` that ask for each listing (`list draft`, one word, is still the status filter).
NOT_STARTED_WORDS = ("not-started", "not started", "notstarted", "not yet started", "no eoi")
DRAFTS_WORDS = ("drafts", "drafts not submitted", "unsubmitted")
# How a school was last told, as officers say it.
TOLD_AS = {"announcement": "the announcement", "reminder": "a closing reminder", NUDGE: "a nudge"}
NAME_WORDS = 8  # a school named in `nudge` is at most this many words; the rest is the message
NAMED_AT_MOST = 20  # schools named in one sentence of the officer's answer


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def listing_asked(rest: str) -> tuple[str, str] | None:
    """("not started" | "drafts", the window's words) when `list …` asks for a chasing list, else None."""
    folded = " ".join(rest.split()).casefold()
    for kind, words in (("not started", NOT_STARTED_WORDS), ("drafts", DRAFTS_WORDS)):
        for word in sorted(words, key=len, reverse=True):
            if folded == word or folded.startswith(word + " "):
                return kind, " ".join(rest.split())[len(word) :].strip()
    return None


def _left_words(left: int) -> str:
    return f"{_plural(left, 'question')} left" if left else "every question answered, not submitted"


async def _the_window(t: CommandTurn, words: str) -> Window | Reply:
    if words:
        named = await window_named(t.session, words, t.now)
        return named or refuse(md("There is no window “{}”. `window list` shows them.", words[:40]))
    found = await open_window(t.session, t.now)
    if found is not None:
        return found
    return refuse(rich(_none_open(await _closed_last(t), await next_window(t.session, t.now)), _name_one()))


async def _closed_last(t: CommandTurn) -> Window | None:
    closed = [w for w in await all_windows(t.session) if w.cancelled_at is None and w.closes_at <= t.now]
    return closed[-1] if closed else None


def _none_open(closed: Window | None, coming: Window | None) -> Text:
    said = md("No window is open now.")
    if closed is not None:
        said = md("No window is open now: {} closed {}.", window_name(closed), format_datetime(closed.closes_at))
    if coming is not None:
        said = md("{} The next, {}, opens {}.", said, window_name(coming), format_datetime(coming.opens_at))
    return said


def _name_one() -> Text:
    return md(" Name a window to list it, e.g. `list not-started 2627A`.")


def _reached_by(destinations: list[str], names: dict[str, str]) -> str:
    """How a school is reached, as officers know its destinations (people by name, never platform ids)."""
    if not destinations:
        return "nothing reaches it"
    said = []
    for where in destinations:
        platform, _, place = where.partition(":")
        if platform == audiences.EMAIL:
            said.append(f"email to {place}")
            continue
        named = PLATFORM_NAMES.get(platform, platform)
        said.append(f"{names[where]} ({named})" if where in names else f"a {named} channel")
    return "reached by " + ", ".join(said)


async def _reach(t: CommandTurn, schools: list[School]) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Each school's destinations now (the dispatcher's senders; none without them), and people's names."""
    found = {s.urn: (await t.reach(t.session, s) if t.reach else []) for s in schools}
    return found, await people.names_of(t.session, {d for where in found.values() for d in where})


def _told_words(told: LastTold | None, nudged: datetime | None) -> str:
    said = f"last told {format_datetime(told.at)} ({TOLD_AS[told.kind]})" if told else "not told yet"
    if nudged is not None and not (told and told.kind == NUDGE and told.at >= nudged):
        said += f"; nudged today at {format_clock(nudged)}, not delivered yet"
    return said


def _nudge_form_choice() -> Choice:
    """Every school yet to submit, reminded now, with the officer's own words if they give some."""
    message = FormField(
        "message", "Your message (optional)", "e.g. We'd welcome an offer from you", multiline=True, optional=True
    )
    form = Form(title="Nudge all yet to submit", command="nudge all", submit_label="Send now", fields=(message,))
    return Choice("Nudge all yet to submit", OpenForm("nudge", "all"), form=form, style="primary")


async def listing(t: CommandTurn, kind: str, window_words: str) -> list[Reply]:
    """`list not-started [window]` or `list drafts [window]`: who hasn't answered, when each was last told, how
    each is reached; a button to nudge them all while the window is open."""
    window = await _the_window(t, window_words)
    if isinstance(window, Reply):
        return [window]
    not_started, with_drafts = await chasing.yet_to_submit(t.session, window)
    rows = not_started if kind == "not started" else with_drafts
    schools = [row.school for row in rows]
    told = await chasing.last_told(t.session, window, [s.urn for s in schools])
    nudged = await chasing.nudged_on(t.session, [s.urn for s in schools], chasing.london_day(t.now))
    reached, names = await _reach(t, schools)
    questions = t.questions or eoi_questions()
    facts = []
    for row in rows:
        school = row.school
        how = f"{_told_words(told.get(school.urn), nudged.get(school.urn))} · {_reached_by(reached[school.urn], names)}"
        if kind == "not started":
            facts.append(Fact(f"{school.name} ({school.urn})", f"{school.district}, {school.phase} · {how}"))
            continue
        for eoi in row.drafts:
            left = _left_words(questions_left(eoi, school, questions))
            changed = format_date(eoi.updated_at.astimezone(LONDON).date())
            facts.append(
                Fact(
                    eoi.ref or "(draft)",
                    f"{school.name} ({school.urn}) · {left} · changed {changed} · {how}",
                    Choice("Show", Command(f"show {eoi.ref}")) if eoi.ref else None,
                )
            )
    name, is_open = window_name(window), window.opens_at <= t.now < window.closes_at and window.cancelled_at is None
    unreached = sum(1 for s in schools if not reached[s.urn])
    if kind == "not started":
        title = f"Not started: {name}"
        text = md(
            "{} in scope of {} {} no EOI in it.",
            _plural(len(rows), "school"),
            name,
            "has" if len(rows) == 1 else "have",
        )
        if not rows:
            text = md("Every school in scope of {} has an EOI in it.", name)
    else:
        drafts = sum(len(row.drafts) for row in rows)
        title = f"Drafts not submitted: {name}"
        text = md("{} not submitted in {}.", _plural(drafts, "draft"), name) if drafts else md("No drafts in {}.", name)
    if unreached:
        text = md("{} Nothing reaches {} of them.", text, unreached)
    choices = []
    if is_open and rows:
        text = md(
            "{} `nudge URN [message]` reminds one school now, `nudge all [message]` every school yet to submit.", text
        )
        choices.append(_nudge_form_choice())
    elif not is_open:
        text = md("{} It isn't open now, so nobody can be nudged about it.", text)
    return [Reply(kind="list", title=title, text=text, facts=facts, choices=choices)]


# Nudging ---------------------------------------------------------------------------------------------------------


def reminder(window: Window, school: School, drafts: list[tuple[EOI, int]], message: str) -> Reply:
    """What a school nudged hears: the officer's words if any, then what it has left to do (not started, or each
    draft with the questions still to answer) and a button to start or carry on."""
    closes = format_datetime(window.closes_at)
    lines: list[Text] = [md("*A message from ECC:* {}", message)] if message else []
    choices: list[Choice] = []
    if not drafts:
        lines.append(
            md(
                "We haven't had an expression of interest from {} for {} yet. The window closes {}. Press *Start an "
                "EOI* (or type *start*) to begin; it takes about 20 minutes and saves as you go.",
                school.name,
                window_name(window),
                closes,
            )
        )
        choices.append(Choice("Start an EOI", Command("start"), style="primary"))
    for eoi, left in drafts:
        offer = PROVISION_NAMES.get(eoi.offer, "")
        draft = f"{eoi.ref} ({offer})" if offer else eoi.ref or "your draft"
        if left:
            lines.append(
                md(
                    "Your draft {} has {} still to answer, and it isn't submitted yet.",
                    draft,
                    _plural(left, "question"),
                )
            )
        else:
            lines.append(md("Every question of your draft {} is answered, but it isn't submitted yet.", draft))
        label = "Continue my EOI" if len(drafts) == 1 else f"Continue {eoi.ref}"
        choices.append(Choice(label, Command(f"start {eoi.ref}" if eoi.ref else "start"), style="primary"))
    if drafts:
        lines.append(
            md(
                "Nothing reaches ECC until you submit it. The window closes {}. Press *Continue* (or type *start*) to "
                "carry on where you left off.",
                closes,
            )
        )
    return Reply(
        kind="notice", title=f"{window_name(window)}: a reminder from ECC", text=lines_of(lines), choices=choices
    )


def _about(drafts: list[tuple[EOI, int]]) -> str:
    """What the school had left to do, for the audit and the officer: "not started", "EOI-2627A-003, 12 left"."""
    if not drafts:
        return "not started"
    return "; ".join(f"draft {eoi.ref}, {_left_words(left)}" for eoi, left in drafts)


async def _school_named(t: CommandTurn, words: list[str]) -> tuple[School, str] | Reply:
    """The school the first words name, as `show` names them (a reference, a URN, part of its name; the longest
    run of words that names one), and the words after it, the message. Several named: which one, each a button."""
    first = words[0]
    if looks_like_ref(first):
        eoi = await by_ref(t.session, first)
        school = await t.session.get(School, eoi.school_urn) if eoi is not None else None
        if school is None:
            return refuse(md("There is no EOI “{}”. `list drafts` shows the drafts.", first[:40]))
        return school, " ".join(words[1:])
    for n in range(min(len(words), NAME_WORDS), 0, -1):
        wanted = " ".join(words[:n])
        if len(wanted) < 3:
            break
        schools, _ = await eois.of_schools_named(t.session, wanted)
        message = " ".join(words[n:])
        if len(schools) == 1:
            return schools[0], message
        if schools:
            facts = [
                Fact(
                    f"{s.name} ({s.urn})",
                    f"{s.district}, {s.phase}",
                    Choice(f"Nudge {s.urn}", Command(" ".join(p for p in ("nudge", s.urn, message) if p))),
                )
                for s in schools[:MAX_MATCHES]
            ]
            more = f" (the first {MAX_MATCHES} shown)" if len(schools) > MAX_MATCHES else ""
            return Reply(
                kind="list", text=f"{len(schools)} schools match “{wanted[:80]}”{more}: which one?", facts=facts
            )
    return refuse(
        md(
            "No school's URN or name matches “{}”. Name one as `show` does (`nudge 114000 [message]`), or "
            "`nudge all [message]`; `list not-started` and `list drafts` show who hasn't submitted.",
            " ".join(words)[:80],
        )
    )


async def _names_an_all_school(t: CommandTurn, words: list[str]) -> bool:
    """ "nudge all saints …" names All Saints' school (registers have them), not every school with a message."""
    if len(words) < 2:
        return False
    start = " ".join(words[:2]).casefold()
    schools, _ = await eois.of_schools_named(t.session, start)
    return any(s.name.casefold().startswith(start) for s in schools)


def _message_and_target(t: CommandTurn) -> tuple[str, str]:
    """(who, message): a form gives the message by name, after the school or `all` its command names."""
    rest = " ".join(t.rest.split())
    message = " ".join(t.values.get("message", "").split())
    if message and rest.endswith(message):
        return rest[: -len(message)].strip(), message
    return rest, ""


@registry.handles("nudge", commands.OFFICER)
async def nudge_command(t: CommandTurn) -> list[Reply]:
    """`nudge SCHOOL [message]` or `nudge all [message]`: a reminder now to each school yet to submit in the open
    window, at most once a school a London day (a second is refused, naming the time of the first); audited."""
    target, message = _message_and_target(t)
    if not target:
        return [
            refuse(
                md(
                    "Who should I remind? `nudge all [message]` reminds every school yet to submit; `nudge 114000 "
                    "[message]` one school. `list not-started` and `list drafts` show who they are."
                )
            )
        ]
    window = await open_window(t.session, t.now)
    if window is None:
        closed, coming = await _closed_last(t), await next_window(t.session, t.now)
        return [refuse(rich(_none_open(closed, coming), md(" There is nothing to remind schools of until one opens.")))]
    words = target.split()
    if words[0].casefold() == "all" and not await _names_an_all_school(t, words):
        if not message:
            message = " ".join(words[1:])
        not_started, with_drafts = await chasing.yet_to_submit(t.session, window)
        return await _nudge_many(t, window, [*not_started, *with_drafts], message)
    named = await _school_named(t, words)
    if isinstance(named, Reply):
        return [named]
    school, typed = named
    return await _nudge_one(t, window, school, message or typed)


async def _nudge_one(t: CommandTurn, window: Window, school: School, message: str) -> list[Reply]:
    """One school: refused in words when it has submitted, withdrew or isn't in scope; else nudged (once today)."""
    held = await chasing.standing(t.session, window, school)
    drafts = tuple(e for e in held if e.status == DRAFT)
    name = f"{school.name} ({school.urn})"
    if not drafts and held:
        sent = [e for e in held if e.status != WITHDRAWN]
        if sent:
            listed = ", ".join(f"{e.ref} ({e.status})" for e in sent)
            return [
                refuse(
                    md(
                        "{} has submitted in {}: {}. There is nothing to remind it of.",
                        name,
                        window_name(window),
                        listed,
                    )
                )
            ]
        withdrawn = ", ".join(e.ref or "its EOI" for e in held)
        return [
            refuse(
                md(
                    "{} withdrew {} from {}, so I won't remind it. It can restart with *start* while the window is "
                    "open.",
                    name,
                    withdrawn,
                    window_name(window),
                )
            )
        ]
    if not drafts and not await need_in_scope(t.session, window, school):
        return [
            refuse(
                md(
                    "{} isn't in scope of {}: its identified need doesn't cover {}, {}. It wasn't invited, so I won't "
                    "remind it; `need {}` shows the need.",
                    name,
                    window_name(window),
                    school.district,
                    school.phase,
                    window_code(window),
                )
            )
        ]
    return await _nudge_many(t, window, [YetToSubmit(school, drafts)], message, one=True)


async def _nudge_many(
    t: CommandTurn, window: Window, rows: list[YetToSubmit], message: str, *, one: bool = False
) -> list[Reply]:
    """Nudge each school once (a school with two drafts hears once, of both); say how many were told, who was
    nudged today already (and when), and who nothing reaches."""
    merged: dict[str, YetToSubmit] = {}
    for row in rows:
        before = merged.get(row.school.urn)
        merged[row.school.urn] = YetToSubmit(row.school, (*before.drafts, *row.drafts) if before else row.drafts)
    name = window_name(window)
    if not merged:
        return [say(md("Every school in scope of {} has submitted or withdrawn: nobody to nudge.", name))]
    questions = t.questions or eoi_questions()
    told: list[tuple[School, str]] = []
    already: list[tuple[School, datetime]] = []
    for row in merged.values():
        drafts = [(eoi, questions_left(eoi, row.school, questions)) for eoi in row.drafts]
        body = reminder(window, row.school, drafts, message).to_dict()
        earlier = await chasing.nudge(
            t.session,
            row.school,
            window=window,
            body=body,
            actor=t.actor,
            now=t.now,
            about=_about(drafts) + (f"; message: {message}" if message else ""),
            eoi_id=row.drafts[0].id if len(row.drafts) == 1 else None,
        )
        if earlier is None:
            told.append((row.school, _about(drafts)))
        else:
            already.append((row.school, earlier))
    reach = t.reach
    missed = (
        await audiences.without_destination(t.session, [s for s, _ in told], reach) if reach else [s for s, _ in told]
    )
    if one and already:
        school, at = already[0]
        return [
            refuse(
                md(
                    "{} ({}) was nudged today already, at {}: one nudge a school a day. You can nudge it again "
                    "tomorrow.",
                    school.name,
                    school.urn,
                    format_clock(at),
                )
            )
        ]
    missing = {s.urn for s in missed}
    heard = [(s, about) for s, about in told if s.urn not in missing]
    lines: list[Text] = []
    if one and heard:
        school, about = heard[0]
        lines.append(md("Nudged {} ({}) about {} now: {}.", school.name, school.urn, name, about))
    elif heard:
        starting = sum(1 for _, about in heard if about == "not started")
        lines.append(
            md(
                "Nudged {} yet to submit {} now: {} not started, {} with a draft.",
                _plural(len(heard), "school"),
                name,
                starting,
                len(heard) - starting,
            )
        )
    elif not missed:
        lines.append(md("Nobody was nudged."))
    if already:
        named = "; ".join(f"{s.name} ({s.urn}) at {format_clock(at)}" for s, at in already[:NAMED_AT_MOST])
        more = f"; and {len(already) - NAMED_AT_MOST} more" if len(already) > NAMED_AT_MOST else ""
        lines.append(md("Already nudged today, so not again (one a school a day): {}{}.", named, more))
    if missed:
        named = "; ".join(f"{s.name} ({s.urn})" for s in missed[:NAMED_AT_MOST])
        more = f"; and {len(missed) - NAMED_AT_MOST} more" if len(missed) > NAMED_AT_MOST else ""
        lines.append(
            md(
                "Nothing reaches {}, so {} won't hear (the nudge is recorded, so not again today): {}{}. To reach a "
                "school: give it a Slack or Teams channel in the register, link a member of its staff (`link "
                "PLATFORM:USER URN`), or give it a headteacher email in the register (used when email is on).",
                _plural(len(missed), "school"),
                "it" if len(missed) == 1 else "they",
                named,
                more,
            )
        )
    return [say(lines_of(lines), kind="message")]
