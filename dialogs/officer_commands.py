"""What ECC officers can do: list, show, shortlist, schedule, decide, export, and manage people."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from dialogs import (
    attachments,
    commands,
    discussion_notices,
    discussion_outcomes,
    implementation,
    registry,
    school_facts,
    shortlisting,
)
from dialogs.actions import Command, OpenForm
from dialogs.answers import AnswerContext, format_answer
from dialogs.dates import (
    MEETING_EXAMPLES,
    MEETING_HORIZON,
    TIME_AT_START,
    MeetingReading,
    format_date,
    format_datetime,
    format_meeting_day,
    read_meeting_time,
    reasons_to_confirm,
)
from dialogs.glossary import DISTRICTS, KEY_STAGES_BY_PHASE, NEED_ALIASES, NEED_TYPES, PHASES, QUADRANTS
from dialogs.lifecycle_words import for_officers, refusal
from dialogs.officer_turn import PLATFORM_NAMES, CommandTurn, OfficerTurn, eoi_or_refuse, tell_school
from dialogs.questions import Question, eoi_questions
from dialogs.references import about as _about
from dialogs.replies import Choice, Fact, Form, FormField, Reply, refuse, say
from dialogs.rich import Text, code, md, rich, text_of
from dialogs.telling import tell
from storage import audit, discussions, eois, panel, people, scores, transitions
from storage.lifecycle import OFFICER
from storage.models import EOI, School, Window
from storage.windows import LONDON, all_windows, find_window, window_code, window_name

# What the "Yes, book …" button sends: the exact London time the officer was shown, so a replayed or stale
# button books that time or nothing, never a fresh reading of words like "tomorrow".
CONFIRMED_TIME = re.compile(r"confirm\s+(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})", re.ASCII | re.IGNORECASE)
DURATION = re.compile(
    r"\bfor\s+(?:(\d{1,3})\s*(m|min|mins|minutes|h|hr|hrs|hour|hours)\b|(an|one|half an)\s+hour\b)", re.IGNORECASE
)


def ref_line(eoi: EOI, school: School) -> Text:
    return md("*{}* {}", eoi.ref or "(draft)", _about(eoi, school))


def offer_words() -> dict[str, str]:
    """What people type for each provision (the first question's choices and their aliases in eoi.yaml)."""
    question = eoi_questions().get("provision_type")
    assert question is not None
    return {word: value for value, label in question.choices for word in (value, label)} | dict(question.aliases)


def _multiword(text: str, names: list[str]) -> tuple[str, list[str]]:
    found = []
    for name in sorted(names, key=len, reverse=True):
        pattern = re.compile(rf"(?<![\w-]){re.escape(name)}(?![\w-])", re.IGNORECASE)
        if pattern.search(text):
            found.append(name)
            text = pattern.sub(" ", text)
    return text, found


async def parse_filters(session: AsyncSession, text: str) -> tuple[eois.Filters, int, str | None]:
    """`list submitted ASD Colchester primary 2627A page 2`, or key=value pairs. Returns filters, page, problem."""
    values: dict[str, str] = {}
    page = 1
    text = re.sub(
        r"\bpage\s*[=:]?\s*(\d+)", lambda m: values.setdefault("page", m.group(1)) and " ", text, flags=re.IGNORECASE
    )
    for key, value in re.findall(r"(\w+)\s*=\s*(\"[^\"]*\"|\S+)", text):
        values[key.lower()] = value.strip('"')
    text = re.sub(r"(\w+)\s*=\s*(\"[^\"]*\"|\S+)", " ", text)
    text, statuses = _multiword(text, list(eois.STATES))
    text, quadrants = _multiword(text, list(QUADRANTS))
    text, districts = _multiword(text, list(DISTRICTS))
    # The words headteachers type work here too: `list RP`, `list partnership`, `list autism`.
    offers = offer_words()
    text, offered = _multiword(text, list(offers))
    needs = dict((alias, code) for alias, code in NEED_ALIASES)
    text, named_needs = _multiword(text, list(needs))
    for found, key in ((statuses, "status"), (quadrants, "quadrant"), (districts, "district")):
        if found:
            values.setdefault(key, found[0])
    if offered:
        values.setdefault("offer", offers[offered[0]])
    if named_needs:
        values.setdefault("need", needs[named_needs[0]])
    unknown = []
    for word in text.split():
        folded = word.casefold()
        need = next((code for code in NEED_TYPES if code.casefold() == folded), None)
        if need:
            values.setdefault("need", need)
        elif folded in PHASES:
            values.setdefault("phase", folded)
        elif await find_window(session, word):
            values.setdefault("window", word)
        else:
            unknown.append(word)
    if unknown:
        return (
            eois.Filters(),
            1,
            (
                md(
                    "I don't know the filter “{}”. Filters are a status ({}), a quadrant or district, a provision "
                    "(RP or PP), a need type (ASD or autism, SEMH…), a phase, a window code (e.g. 2627A) and "
                    "`page N`. For example: `list submitted ASD Colchester`, `list RP`, or `list implementing` for "
                    "approved EOIs' plans.",
                    " ".join(unknown),
                    ", ".join(eois.STATES),
                )
            ),
        )
    window_id = None
    if "window" in values:
        window = await find_window(session, values["window"])
        if not window:
            return eois.Filters(), 1, md("There is no window “{}”. Try `window list`.", values["window"])
        window_id = window.id
    checks = {
        "status": list(eois.STATES),
        "quadrant": list(QUADRANTS),
        "district": list(DISTRICTS),
        "need": list(NEED_TYPES),
        "phase": list(PHASES),
    }
    canonical: dict[str, str] = {}
    for key, options in checks.items():
        if key in values:
            match = next((o for o in options if o.casefold() == values[key].casefold()), None)
            if match is None:
                return eois.Filters(), 1, f"“{values[key]}” isn't a {key}. Choose from: {', '.join(options)}."
            canonical[key] = match
    if "page" in values:
        page = min(100_000, max(1, int(values["page"]) if values["page"].isdecimal() else 1))
    return (
        eois.Filters(
            window_id=window_id,
            status=canonical.get("status"),
            quadrant=canonical.get("quadrant"),
            district=canonical.get("district"),
            need_type=canonical.get("need"),
            phase=canonical.get("phase"),
            offer=values.get("offer"),
        ),
        page,
        None,
    )


async def list_command(t: OfficerTurn, rest: str) -> list[Reply]:
    rest, by_score = shortlisting.by_score(rest)  # `list submitted by score`: highest mean total first
    filters, page, problem = await parse_filters(t.session, rest)
    if problem:
        return [refuse(problem)]
    totals: dict[int, float] = {}
    if by_score:
        rows, total, totals = await shortlisting.ranked(t.session, filters, page=page)
    else:
        rows, total = await eois.list_eois(t.session, filters, page=page)
    pages = max(1, -(-total // eois.PAGE_SIZE))
    base = re.sub(r"\bpage\s*[=:]?\s*\d+", "", rest, flags=re.IGNORECASE).strip()
    base = f"{base} by score".strip() if by_score else base
    if not rows:
        text = "No EOIs match." if page == 1 else f"There is no page {page}; there are {pages}."
        return [say(text, kind="list")]
    facts = [
        Fact(
            eoi.ref or "(draft)",
            _about(eoi, school) + (f" · {shortlisting.total_words(totals.get(eoi.id))}" if by_score else ""),
            Choice("Show", Command(f"show {eoi.ref}")) if eoi.ref else None,
        )
        for eoi, school in rows
    ]
    choices = []
    if page > 1:
        choices.append(Choice("Previous page", Command(f"list {base} page {page - 1}".replace("  ", " "))))
    if page < pages:
        choices.append(Choice("Next page", Command(f"list {base} page {page + 1}".replace("  ", " "))))
    return [
        Reply(
            text=f"{total} EOI{'s' if total != 1 else ''} · page {page} of {pages}",
            kind="list",
            title=f"EOIs{': ' + base if base else ''}",
            facts=facts,
            choices=choices,
        )
    ]


def _form_choice(
    label: str, command: str, ref: str, title: str, submit: str, *fields: FormField, style: str = ""
) -> Choice:
    """A button that opens a form for `command REF …` (a Slack modal, a Teams card, typed in the console)."""
    form = Form(title=f"{title}: {ref}", command=f"{command} {ref}", submit_label=submit, fields=fields)
    return Choice(label, OpenForm(command, ref), form=form, style=style)


async def officer_actions(session: AsyncSession, eoi: EOI, now: datetime) -> list[Choice]:
    """What an officer can do next with this EOI: a button for each step the life table allows them now
    (storage.transitions.verdicts), so no button offers what would be refused (a discussion that no longer stands
    can't be cancelled, a decision past its reopen period can't be reopened)."""
    ref = eoi.ref or ""
    allowed = {v.event for v in await transitions.verdicts(session, eoi, by=OFFICER, now=now)}
    choices = []
    if "shortlist" in allowed:
        choices.append(Choice("Shortlist", Command(f"shortlist {ref}"), style="primary"))
    if "not-shortlist" in allowed:
        # Scored, it holds the reasons for the lowest scores, to edit before sending (dialogs.shortlisting).
        drawn = await shortlisting.drawn_feedback(session, eoi)
        feedback = FormField(
            "note", "Feedback for the school", "What would strengthen a future EOI", multiline=True, value=drawn
        )
        choices.append(
            _form_choice("Not shortlisted", "not-shortlisted", ref, "Not shortlisted", "Send feedback", feedback)
        )
    if "schedule" in allowed:
        choices.append(Choice("Schedule discussion", OpenForm("schedule", ref), form=schedule_form(ref)))
    if "cancel-discussion" in allowed:
        reason = FormField("reason", "Reason, for the school", multiline=True, optional=True)
        choices.append(
            _form_choice(
                "Cancel discussion",
                "cancel-discussion",
                ref,
                "Cancel the discussion",
                "Cancel it and tell the school",
                reason,
                style="danger",
            )
        )
    # A panel already asked takes more members (storage.panel), which is not a step of the table.
    if "consider" in allowed or eoi.status == eois.UNDER_CONSIDERATION:
        members = FormField(
            "members",
            "Who recommends (platform ids or emails, each with “as ROLE”)",
            "me as SEND quadrant lead, finance@essex.gov.uk as finance",
            multiline=True,
        )
        label = "Add to the panel" if eoi.status == eois.UNDER_CONSIDERATION else "Ask a decision panel"
        choices.append(_form_choice(label, "panel", ref, "Decision panel", "Ask for recommendations", members))
    if "approve" in allowed or "decline" in allowed:
        outcome = FormField("outcome", "Decision", options=tuple(e for e in ("approve", "decline") if e in allowed))
        note = FormField("note", "Reason, for the school (needed to decline)", multiline=True, optional=True)
        choices.append(_form_choice("Decide", "decide", ref, "Decision", "Record decision", outcome, note))
    if "reopen" in allowed:
        why = FormField("reason", "Why (the school is told)", multiline=True)
        choices.append(_form_choice("Reopen", "reopen", ref, "Reopen", "Reopen", why))
    return choices


# The events officers are offered as buttons above (the rest: "open", the last milestone, is a Done button).
OFFERED_AS_BUTTONS = {
    "Shortlist": ("shortlist",),
    "Not shortlisted": ("not-shortlist",),
    "Schedule discussion": ("schedule",),
    "Cancel discussion": ("cancel-discussion",),
    "Ask a decision panel": ("consider",),
    "Decide": ("approve", "decline"),
    "Reopen": ("reopen",),
}


async def what_next(t: OfficerTurn, eoi: EOI) -> Text:
    """What can happen next to the EOI now, for officers (the life table's verdicts, with their deadlines)."""
    return for_officers(await transitions.moment(t.session, eoi, t.now))


def schedule_form(ref: str) -> Form:
    return Form(
        title=f"Discussion: {ref}",
        command=f"schedule {ref}",
        submit_label="Send invitation",
        fields=(
            FormField("when", "When", f"e.g. {MEETING_EXAMPLES}"),
            FormField("duration", "How long", "e.g. 1 hour (default) or 45 minutes", optional=True, prefix="for "),
            FormField(
                "place", "Where", "e.g. County Hall, Chelmsford, or a Teams meeting link", optional=True, prefix="at "
            ),
            FormField(
                "attendees",
                "Who else is invited",
                "e.g. Jo Smith (SEND lead), Sam Patel",
                optional=True,
                prefix="with ",
            ),
        ),
    )


_ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:[+-]\d{2}:\d{2}|Z)")


def _who(actor: str, names: dict[str, str]) -> str:
    """An actor as officers know them: "Pat Head (Teams)", not "msteams:29:1head114000"."""
    platform = actor.split(":", 1)[0]
    return f"{names[actor]} ({PLATFORM_NAMES.get(platform, platform)})" if actor in names else actor


def _london_times(note: str) -> str:
    """Times the audit log keeps as ISO UTC, said on the London clock."""
    return _ISO_TIME.sub(lambda m: format_datetime(datetime.fromisoformat(m.group(0).replace("Z", "+00:00"))), note)


async def show_command(t: OfficerTurn, rest: str) -> list[Reply]:
    words = rest.split()
    found = await eoi_or_refuse(t, words[0] if words else "")
    if isinstance(found, Reply):
        return [found]
    eoi, school = found
    if words[1:2] == ["files"] or words[1:2] == ["file"]:  # `show REF files`, or one: `show REF file 2`
        return await attachments.fetched(t.session, eoi, " ".join(words[2:]), actor=t.actor, now=t.now)
    questions = eoi_questions()
    ctx = AnswerContext(
        today=t.now.astimezone(LONDON).date(),
        key_stages=KEY_STAGES_BY_PHASE.get(school.phase, ()),
        files=await attachments.labels(t.session, eoi.id),
    )
    facts = [
        Fact("School", f"{school.name} (URN {school.urn}), {school.district}, {school.quadrant}, {school.phase}"),
        *(Fact(label, value) for label, value in school_facts.for_officers(school)),
        Fact("Status", eoi.status),
    ]
    window = await t.session.get(Window, eoi.window_id) if eoi.window_id else None
    if window:
        facts.append(Fact("Window", window_name(window)))
    effective = questions.effective_answers({**eoi.answers, **school_facts.for_questions(school)})
    for q in questions.questions:
        if q.id in effective:
            value = effective[q.id]
            facts.append(
                Fact(
                    q.label_for(value, ctx.today),
                    "(skipped)" if value is None else _priority_label(q.id, value) or format_answer(q, value, ctx),
                )
            )
    entries = await audit.history(t.session, eoi.id)
    names = await people.names_of(t.session, {h.actor for h in entries})
    history = [
        f"{format_datetime(h.at)}: {h.action} by {_who(h.actor, names)}"
        + (f" ({h.from_status} → {h.to_status})" if h.from_status and h.to_status else "")
        + (f" (now {h.to_status})" if h.to_status and not h.from_status else "")  # its first state: from nothing
        + (f": {_london_times(h.note)}" if h.note else "")
        for h in entries
    ]
    facts += await shortlisting.score_facts(t.session, eoi)  # each officer's scores, and their mean
    discussed, more = await discussion_outcomes.show_facts(t, eoi)
    facts += discussed
    facts.append(Fact("History", "\n".join(history) or "(none)"))
    mine = (await scores.of_eoi(t.session, eoi.id)).by_officer.get(t.actor, {})
    return [
        Reply(
            text=ref_line(eoi, school),
            kind="summary",
            title=eoi.ref or "Draft",
            facts=facts,
            choices=await officer_actions(t.session, eoi, t.now)
            + shortlisting.score_choices(eoi, mine)
            + more
            + _fetch_files(eoi, ctx),
        )
    ]


def _fetch_files(eoi: EOI, ctx: AnswerContext) -> list[Choice]:
    return [Choice("Fetch the files", Command(f"show {eoi.ref} files"))] if ctx.files and eoi.ref else []


def _priority_label(qid: str, value: object) -> str:
    if qid == "priority_need" and isinstance(value, str) and "/" in value:
        need, provision, place, phase = value.split("/")
        return f"{need}, {provision}, {place}, {phase}"
    return ""


@registry.handles("shortlist", commands.OFFICER)
async def shortlist_command(t: CommandTurn) -> list[Reply]:
    rest = t.rest
    ref, _, note = rest.strip().partition(" ")
    found = await eoi_or_refuse(t, ref, "shortlist", note)
    if isinstance(found, Reply):
        return [found]
    eoi, school = found
    before = eoi.status
    try:
        await transitions.transition(
            t.session, eoi, "shortlist", by=OFFICER, actor=t.actor, now=t.now, note=note.strip()
        )
    except eois.Refused as refused:
        return [refuse(refusal(refused))]
    await tell_school(
        t,
        "shortlist",
        before,
        eoi,
        school,
        "shortlisted",
        Reply(
            kind="notice",
            title=f"{eoi.ref}: shortlisted",
            text=(
                md(
                    "Good news: your expression of interest {} has been *shortlisted*. ECC will invite you to discuss "
                    "the opportunity: operational standards and service level agreements.",
                    eoi.ref,
                )
                + (f"\nNote from ECC: {note.strip()}" if note.strip() else "")
            ),
        ),
    )
    return [
        say(
            f"{eoi.ref} is shortlisted. {school.name} has been told.",
            choices=await officer_actions(t.session, eoi, t.now),
        )
    ]


@registry.handles("not-shortlisted", commands.OFFICER)
async def not_shortlisted_command(t: CommandTurn) -> list[Reply]:
    rest = t.rest
    ref, _, note = rest.strip().partition(" ")
    found = await eoi_or_refuse(t, ref, "not-shortlisted", note)
    if isinstance(found, Reply):
        return [found]
    eoi, school = found
    drawn = "" if note.strip() else await shortlisting.drawn_feedback(t.session, eoi)
    if drawn:  # scored: the reasons for its lowest scores, offered to send as they are or to edit first
        try:
            await transitions.allowed(t.session, eoi, "not-shortlist", by=OFFICER, now=t.now)
        except eois.NotAllowed as refused:
            return [refuse(refusal(refused))]
        choices = await officer_actions(t.session, eoi, t.now)
        edit = next(c for c in choices if c.label == "Not shortlisted")
        return [shortlisting.feedback_offered(eoi, school, drawn, replace(edit, label="Edit the feedback"))]
    if len(note.strip()) < 5:
        return [
            refuse(
                md(
                    "Please include feedback for the school: `not-shortlisted {} The need in your area is met "
                    "this year; "
                    "please apply again in spring.`",
                    eoi.ref,
                ),
                field_errors={"note": "Feedback is needed."},
            )
        ]
    before = eoi.status
    try:
        await transitions.transition(
            t.session, eoi, "not-shortlist", by=OFFICER, actor=t.actor, now=t.now, note=note.strip()
        )
    except eois.Refused as refused:
        return [refuse(refusal(refused))]
    await tell_school(
        t,
        "not-shortlist",
        before,
        eoi,
        school,
        "not shortlisted",
        Reply(
            kind="notice",
            title=f"{eoi.ref}: not shortlisted",
            text=(
                f"Thank you for your expression of interest {eoi.ref}. It has not been shortlisted this "
                f"time.\nFeedback from ECC: {note.strip()}"
            ),
        ),
    )
    return [say(f"{eoi.ref} is marked not shortlisted. {school.name} has been sent your feedback.")]


def split_schedule(rest: str) -> tuple[str, str, int | None, str, str | None]:
    """REF WHEN [for DURATION] [at PLACE] -> ref, when, minutes, place, problem."""
    ref, _, tail = rest.strip().partition(" ")
    minutes: int | None = 60
    match = DURATION.search(tail)
    if match:
        if match.group(1):
            n, unit = int(match.group(1)), match.group(2).lower()
            minutes = n * 60 if unit.startswith("h") else n
        else:
            minutes = 30 if match.group(3).lower() == "half an" else 60
        tail = (tail[: match.start()] + " " + tail[match.end() :]).strip()
    when, place = tail, ""
    for at in re.finditer(r"\s+at\s+|\s+@\s+", tail, flags=re.IGNORECASE):
        after = tail[at.end() :]
        if not TIME_AT_START.match(after):
            when, place = tail[: at.start()], after.strip()
            break
    problem = None
    if minutes is not None and not 10 <= minutes <= 480:
        problem = md(
            "A discussion should last between 10 minutes and 8 hours, e.g. `for 45 minutes` or `for 1 hour`.",
        )
    elif len(place) > 300:
        problem = md(
            "Please keep the place short (under 300 characters), e.g. `at County Hall, Chelmsford`.",
        )
    return ref, when.strip(), minutes, place, problem


def _confirmed_time(match: re.Match[str]) -> datetime | None:
    """The London time a "Yes, book …" button carries, or None if it isn't a real date and time."""
    year, month, day, hour, minute = (int(g) for g in match.groups())
    try:
        wall = datetime(year, month, day, hour, minute, tzinfo=LONDON)
    except ValueError:
        return None
    return wall.astimezone(UTC).astimezone(LONDON)  # a time in the spring-forward gap becomes a real one


def split_attendees(rest: str) -> tuple[str, list[str] | None]:
    """`... with Jo Smith (SEND lead), Sam Patel and the trust's CEO` at the end: the people named, as typed
    (None when no one is named, so a move keeps those named before)."""
    found = re.search(r"\s+with\s+(\S.*)$", rest, flags=re.IGNORECASE)
    if not found:
        return rest, None
    names = [n.strip() for n in re.split(r"\s*(?:,|;|\band\b)\s*", found.group(1)) if n.strip()]
    return rest[: found.start()], names


async def _to_check(t: OfficerTurn, eoi: EOI, starts: datetime, minutes: int) -> list[str]:
    """Why a booking is asked about first: an unusual time (dates.reasons_to_confirm), or the officer already
    has a discussion then."""
    reasons = reasons_to_confirm(starts, minutes, t.hours)
    for other, other_eoi in await discussions.clashing(
        t.session, officer=t.actor, starts_at=starts, minutes=minutes, eoi_id=eoi.id
    ):
        reasons.append(
            f"you already have the {other_eoi.ref} discussion then, {format_datetime(other.starts_at)} for "
            f"{other.duration_minutes} minutes"
        )
    return reasons


@registry.handles("schedule", commands.OFFICER)
async def schedule_command(t: CommandTurn) -> list[Reply]:
    rest = t.rest
    typed = rest.strip().partition(" ")[2]
    rest, attendees = split_attendees(rest)
    ref, when, minutes, place, problem = split_schedule(rest)
    found = await eoi_or_refuse(t, ref, "schedule", typed)
    if isinstance(found, Reply):
        return [found]
    eoi, school = found
    example = md("For example: `schedule {} Tuesday at 2pm for 1 hour at County Hall`.", eoi.ref)
    if problem:
        field = "place" if "place" in problem else "duration"
        return [refuse(problem, field_errors={field: problem})]
    try:
        await transitions.allowed(t.session, eoi, "schedule", by=OFFICER, now=t.now)
    except eois.NotAllowed as refused:
        return [refuse(refusal(refused))]
    if not when:
        return [refuse(md("When should the discussion be? {}", example), field_errors={"when": "Say when."})]
    assert minutes is not None
    now = t.now.astimezone(LONDON)
    confirmed = CONFIRMED_TIME.fullmatch(when)
    assumed = ""
    if confirmed:
        starts = _confirmed_time(confirmed)
        if starts is None or not now < starts <= now + MEETING_HORIZON:
            why = "not a real date" if starts is None else f"{format_datetime(starts)} is past or too far ahead"
            message = md("That time can't be booked now ({}). {}", why, example)
            return [refuse(message, field_errors={"when": message})]
    elif when.casefold().startswith("confirm"):
        message = md(
            "`confirm` takes the exact time from the “Yes, book…” button, like `schedule {} confirm 2027-01-05 "
            "14:00`. Or just say when. {}",
            eoi.ref,
            example,
        )
        return [refuse(message, field_errors={"when": message})]
    else:
        reading = read_meeting_time(when, now=now, hours=t.hours)
        if (reading.either or reading.until) and reading.starts is not None and reading.starts > now:
            return [_which_time(eoi, reading, f" for {minutes} minutes", place, attendees)]
        if reading.problem or reading.starts is None:
            message = text_of(reading.problem or f"I couldn't read “{when}” as a day and time. Try {MEETING_EXAMPLES}.")
            # In chat the examples are whole commands; a form's "When" field wants only the time.
            whole = rich(*(code(f"schedule {eoi.ref} {s.text}") if s.style == "code" else s for s in message))
            return [refuse(whole, field_errors={"when": message.markup})]
        starts, assumed = reading.starts, reading.assumed
    where = f" at {place}" if place else ""
    booking = f"{format_datetime(starts)} for {minutes} minutes{where}"
    current = await eois.current_discussion(t.session, eoi.id) if eoi.status == eois.SCHEDULED else None
    named = attendees is None or (current is not None and attendees == current.attendees)
    if eois.same_discussion(current, starts_at=starts, minutes=minutes, place=place) and named:
        return [
            say(
                f"{assumed} {eoi.ref} is already booked for {booking}. Nothing has changed, so {school.name} "
                "hasn't been sent it again.".strip()
            )
        ]
    reasons = [] if confirmed else await _to_check(t, eoi, starts, minutes)
    if reasons:
        exact = f"schedule {eoi.ref} confirm {starts.astimezone(LONDON):%Y-%m-%d %H:%M} for {minutes} minutes{where}"
        exact += f" with {', '.join(attendees)}" if attendees else ""
        return [
            t.check_first(
                f"{assumed} Book {eoi.ref} with {school.name} for {booking}?".strip(),
                reasons,
                "booked",
                Choice(f"Yes, book {format_meeting_day(starts)}", Command(exact), style="primary"),
                Choice("No", Command(f"show {eoi.ref}")),
            )
        ]
    # A move only while the last one is still to come: not after a reopen (the decline called it off), nor once
    # its time has passed (it took place: this is a new discussion).
    rescheduled = current is not None and current.starts_at > t.now
    before = eoi.status
    discussion, nearby = await eois.schedule_discussion(
        t.session, eoi, starts_at=starts, minutes=minutes, place=place, actor=t.actor, now=t.now, attendees=attendees
    )
    invited = await discussion_notices.invitation(t.session, discussion, eoi, school, moved=rescheduled, now=t.now)
    await tell(t.session, "schedule", before, eoi, school, now=t.now, school_hears=invited)
    replies = [
        say(
            f"{assumed} {'Rescheduled' if rescheduled else 'Scheduled'}: {eoi.ref} with {school.name}, "
            f"{booking}. The school has been invited, with the agenda and a calendar invitation.".strip()
        )
    ]
    for other, other_eoi in nearby:
        replies.append(
            say(
                f"Heads up: {other_eoi.ref} is also being discussed at {format_datetime(other.starts_at)}, "
                "within an hour of this one."
            )
        )
    return replies


def _which_time(eoi: EOI, reading: MeetingReading, duration: str, place: str, attendees: list[str] | None) -> Reply:
    """ "next Tuesday" early in the week (this week's or next?), or "Thursday afternoon" (which hour?): asked,
    with a button for each that books it as the same command with the day and time written out."""
    assert reading.starts is not None
    if reading.until is not None:
        hours = max(int((reading.until - reading.starts).total_seconds() // 3600), 1)
        options = [reading.starts + timedelta(hours=n) for n in range(hours)]
    else:
        options = list(reading.either)
    where = f" at {place}" if place else ""
    named = f" with {', '.join(attendees)}" if attendees else ""
    if reading.either and reading.part:  # "next Friday morning": which Friday, then which hour of its morning
        days = [(f"{at:%A} {at.day} {at:%B}", f"{at:%A} {format_date(at.date())} {reading.part}") for at in options]
        choices = [
            Choice(f"{label} ({reading.part})", Command(f"schedule {eoi.ref} {day}{duration}{where}{named}"))
            for label, day in days
        ]
    else:
        choices = [
            Choice(format_meeting_day(at), Command(f"schedule {eoi.ref} {format_datetime(at)}{duration}{where}{named}"))
            for at in options
        ]
    return Reply(text=reading.problem, kind="question", choices=choices)


@registry.handles("cancel-discussion", commands.OFFICER)
async def cancel_discussion_command(t: CommandTurn) -> list[Reply]:
    """`cancel discussion REF [reason]`: the discussion is called off, the EOI is shortlisted again, the school
    is told (with the reason) and the history shows it."""
    rest = t.rest
    ref, _, reason = rest.strip().partition(" ")
    found = await eoi_or_refuse(t, ref, "cancel discussion", reason)
    if isinstance(found, Reply):
        if found.kind != "error":
            return [found]
        return [refuse(md("{} For example: `cancel discussion EOI-2627A-007 The head is unwell`.", found.text))]
    eoi, school = found
    try:
        await transitions.allowed(t.session, eoi, "cancel-discussion", by=OFFICER, now=t.now)
    except eois.NotAllowed as refused:
        return [refuse(refusal(refused))]
    reason = " ".join(reason.split())
    before = eoi.status
    try:
        discussion = await eois.cancel_discussion(t.session, eoi, reason=reason, actor=t.actor, now=t.now)
    except eois.Refused as refused:
        return [refuse(refusal(refused))]
    day = format_datetime(discussion.starts_at) if discussion else ""
    told: list[tuple[str, Reply]] = []
    if discussion is not None:
        told = await discussion_notices.called_off_notices(
            t.session,
            discussion,
            eoi,
            school,
            told=md(
                "ECC has cancelled the discussion of your expression of interest {}{}.{}\nYour EOI is still "
                "shortlisted; ECC will be in touch if another discussion is arranged.",
                eoi.ref,
                md(" on *{}*", day) if day else "",
                f"\nReason: {reason}" if reason else "",
            ),
            now=t.now,
        )
    await tell(t.session, "cancel-discussion", before, eoi, school, now=t.now, school_hears=told)
    return [
        say(
            md(
                "Cancelled: the {} discussion{}. {} has been told. {} is shortlisted again; `schedule {} WHEN` books "
                "a new discussion.",
                eoi.ref,
                f" on {day}" if day else "",
                school.name,
                eoi.ref,
                eoi.ref,
            ),
            choices=await officer_actions(t.session, eoi, t.now),
        )
    ]


@registry.handles("reopen", commands.OFFICER)
async def reopen_command(t: CommandTurn) -> list[Reply]:
    """LIFE's "reopen": an officer undoes a decision, a not shortlisted or an opening within REOPEN_DAYS, with a
    reason the school is told."""
    rest = t.rest
    ref, _, reason = rest.strip().partition(" ")
    found = await eoi_or_refuse(t, ref, "reopen", reason)
    if isinstance(found, Reply):
        return [found]
    eoi, school = found
    reason = reason.strip()
    if len(reason) < 5:
        message = md(
            "Please say why, for the school: `reopen {} The panel had the wrong number of places.`",
            eoi.ref,
        )
        return [refuse(message, field_errors={"reason": "Say why."})]
    if eoi.status == eois.OPENED:  # an opening recorded by mistake: the plan carries on, everyone who heard hears
        return await implementation.reopen_opened(t.session, eoi, school, actor=t.actor, now=t.now, reason=reason)
    before = eoi.status
    try:
        await transitions.transition(t.session, eoi, "reopen", by=OFFICER, actor=t.actor, now=t.now, note=reason)
    except eois.Refused as refused:
        return [refuse(refusal(refused))]
    what = "decision on" if before in (eois.APPROVED, eois.DECLINED) else "shortlisting of"
    # A decline calls off a discussion still to come (storage.discussions.cancel_discussion): reopened, the EOI
    # is back at "discussion scheduled" with none booked until an officer schedules one.
    stands = (await transitions.moment(t.session, eoi, t.now)).discussion_at is not None
    then = (
        "ECC will be in touch about the discussion and a new decision."
        if stands
        else "ECC will invite you to a new discussion here, and then decide again."
        if eoi.status == eois.SCHEDULED
        else "It will be considered for shortlisting again."
    )
    book = md(" Its discussion was called off with the decision: book a new one with `schedule {} WHEN`.", eoi.ref)
    await tell_school(
        t,
        "reopen",
        before,
        eoi,
        school,
        "reopened",
        Reply(
            kind="notice",
            title=f"{eoi.ref}: reopened",
            text=(
                md(
                    "ECC has reopened the {} your expression of interest {} (it was {}); it is *{}* again. {}\nWhy: {}",
                    what,
                    eoi.ref,
                    before,
                    eoi.status,
                    then,
                    reason,
                )
            ),
        ),
    )
    return [
        say(
            md(
                "Reopened: {} is {} again (it was {}). {} has been told.{} Next: {}.",
                eoi.ref,
                eoi.status,
                before,
                school.name,
                book if eoi.status == eois.SCHEDULED and not stands else "",
                await what_next(t, eoi),
            ),
            choices=await officer_actions(t.session, eoi, t.now),
        )
    ]


EXPORT_COLUMNS = ("ref", "window", "urn", "school", "quadrant", "district", "phase", "status", "submitted_at")
# After the answers (new columns go at the end, so existing readers keep their places): the decision while it
# stands, and the discussion that stands or took place.
EXPORT_LAST_COLUMNS = ("decision", "decision_reason", "discussion_at", "discussion_place")
DECIDED = (eois.APPROVED, eois.DECLINED, eois.OPENED)  # a reopened EOI's earlier decision no longer stands
# A cell starting with one of these is a formula to Excel, LibreOffice or Google Sheets (=HYPERLINK(...) that
# sends data away, a DDE command). Full-width forms are included: some spreadsheets read them the same way.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def spreadsheet_text(value: str) -> str:
    """A cell a spreadsheet shows as text, as OWASP's "CSV Injection" page recommends: a single quote before
    anything that would start a formula (leading spaces don't hide it). A negative number or an international
    phone number (+44…) also gains the quote; nothing we export is a signed number, and the text stays readable."""
    return "'" + value if value.lstrip(" ").startswith(FORMULA_START) else value


def export_time(at: datetime | None) -> str:
    """A time as London's clock shows it, in ISO 8601 with its offset ("2027-06-01 10:00+01:00" in summer):
    what an officer remembers, and still read exactly by anything that reads ISO times."""
    return at.astimezone(LONDON).isoformat(sep=" ", timespec="minutes") if at else ""


async def export_csv(session: AsyncSession, filters: eois.Filters) -> str:
    questions = eoi_questions()
    windows = {w.id: w for w in await all_windows(session)}
    buffer = io.StringIO()
    first = [q for q in questions.questions if q.version == 1]
    later = [q for q in questions.questions if q.version > 1]  # added since: at the end, so columns never move
    header = [*EXPORT_COLUMNS, *(q.id for q in first), *EXPORT_LAST_COLUMNS, *(q.id for q in later)]
    csv.writer(buffer).writerow(header)  # our own names
    # Every data cell quoted, so a separator or quote inside an answer can never start a cell of its own.
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL)
    rows = await eois.all_for_export(session, filters)
    files = await attachments.names_for(session, [eoi.id for eoi, _ in rows])
    decisions = await panel.latest_decisions(session, [eoi.id for eoi, _ in rows])
    discussed = await discussions.standing(session, [eoi.id for eoi, _ in rows])
    for eoi, school in rows:
        effective = questions.effective_answers({**eoi.answers, **school_facts.for_questions(school)})
        window = windows.get(eoi.window_id or -1)
        row = [
            eoi.ref or "",
            window_code(window) if window else "",
            school.urn,
            school.name,
            school.quadrant,
            school.district,
            school.phase,
            eoi.status,
            export_time(eoi.submitted_at),
        ]
        row += [_cell(q, effective.get(q.id), files) for q in first]
        decision = decisions.get(eoi.id) if eoi.status in DECIDED else None
        discussion = discussed.get(eoi.id)
        row += [decision.outcome, decision.note] if decision else ["", ""]
        row += [export_time(discussion.starts_at), discussion.place] if discussion else ["", ""]
        row += [_cell(q, effective.get(q.id), files) for q in later]
        writer.writerow([spreadsheet_text(cell) for cell in row])  # every cell: answers, register names, all
    return buffer.getvalue()


def _cell(q: Question, value: Any, files: dict[int, str]) -> str:
    """An answer as the export writes it: a list joined with `;` (places by year as `2027/28:6;2028/29:12`, files
    by their names), a sum of money in whole pounds, anything else as stored."""
    if value is None:
        return ""
    if q.type == "places_by_year" and isinstance(value, list):
        return ";".join(f"{year}:{n}" for year, n in value)
    if q.type == "files" and isinstance(value, list):
        return ";".join(files[i] for i in value if i in files)
    return ";".join(value) if isinstance(value, list) else str(value)


@registry.handles("export", commands.OFFICER)
async def export_command(t: CommandTurn) -> list[Reply]:
    rest = t.rest
    filters, _, problem = await parse_filters(t.session, rest)
    if problem:
        return [refuse(problem)]
    content = export_csv_text = await export_csv(t.session, filters)
    count = export_csv_text.count("\n") - 1
    audit.record(t.session, at=t.now, actor=t.actor, action="export", note=f"{count} EOIs {rest}".strip())
    name = f"eois-{t.now.astimezone(LONDON):%Y%m%d-%H%M}.csv"
    return [Reply(text=f"Export of {count} EOI{'s' if count != 1 else ''}.", file=(name, content))]


async def officer_command(t: OfficerTurn, rest: str, bootstrap: tuple[tuple[str, str], ...]) -> list[Reply]:
    sub, _, target = rest.strip().partition(" ")
    sub = sub.casefold() or "list"
    if sub == "list":
        listed = []
        for p in await people.officers(t.session):
            name = f" ({p.display_name})" if p.display_name else ""
            sources = ["EOI_OFFICERS"] if (p.platform, p.user_id) in bootstrap else []
            if p.officer_granted_at is not None:
                by = "the console" if p.officer_granted_by == "console" else p.officer_granted_by
                sources.append(f"added by {by} on {format_datetime(p.officer_granted_at)}")
            listed.append(f"• {p.platform}:{p.user_id}{name}: {' and '.join(sources) or 'EOI_OFFICERS'}")
        return [say("Officers:\n" + "\n".join(listed))]
    platform, sep, user_id = target.strip().partition(":")
    platform = platform.casefold()
    if sub not in ("add", "remove") or not sep or not user_id:
        return [
            refuse(
                md(
                    "Use `officer add PLATFORM:USER` or `officer remove PLATFORM:USER`, e.g. `officer add "
                    "slack:U0123ABCD` or `officer add msteams:29:1a2b…`.",
                )
            )
        ]
    user_id, confirmed = _confirmed(user_id)
    target = f"{platform}:{user_id}"
    if problem := people.id_problem(platform, user_id):
        return [refuse(md("Nothing changed: {}. For example: `officer add slack:U0123ABCD`.", problem))]
    if sub == "add":
        await people.grant_officer(t.session, actor=t.actor, platform=platform, user_id=user_id, now=t.now)
        return [say(f"{target} is now an officer.")]
    if (platform, user_id) in bootstrap:
        return [refuse(f"{target} is an officer through EOI_OFFICERS; remove them there.")]
    person = await people.by_key(t.session, target)
    if person is None or person.role != people.OFFICER:
        return [refuse(f"{target} is not an officer: nothing to remove.")]
    if not await people.officers_left_without(t.session, platform, user_id, bootstrap):
        return [refuse(f"{target} is the last officer: add another officer first, so someone can still run the EOIs.")]
    if not confirmed:
        who = "yourself" if target == t.actor else target
        return [
            Reply(
                text=md("Remove the officer role from {}? They will no longer see or do officers' work.", who),
                kind="question",
                choices=[
                    Choice("Yes, remove", Command(f"officer remove {target} confirm"), style="danger"),
                    Choice("No, keep them", Command("officer list")),
                ],
            )
        ]
    await people.revoke_officer(t.session, actor=t.actor, platform=platform, user_id=user_id, now=t.now)
    return [say(f"{target} is no longer an officer.")]


def _confirmed(user_id: str) -> tuple[str, bool]:
    """`officer remove slack:U0123 confirm`: what the confirmation's button sends."""
    head, _, last = user_id.rpartition(" ")
    return (head.strip(), True) if head and last.casefold() == "confirm" else (user_id.strip(), False)


@registry.handles("link", commands.OFFICER)
async def link_command(t: CommandTurn) -> list[Reply]:
    rest = t.rest
    target, _, urn = rest.strip().partition(" ")
    platform, sep, user_id = target.partition(":")
    if not sep or not user_id or not urn.strip():
        return [refuse(md("Use `link PLATFORM:USER URN`, e.g. `link slack:U0123ABCD 114000`."))]
    if problem := people.id_problem(platform.casefold(), user_id):
        return [refuse(md("Nothing changed: {}. For example: `link slack:U0123ABCD 114000`.", problem))]
    school = await t.session.get(School, urn.strip())
    if school is None:
        return [refuse(f"There is no school with URN {urn.strip()} in the register.")]
    # An officer's link is explicit: the register's email re-check never removes it.
    await people.link(t.session, actor=t.actor, platform=platform.casefold(), user_id=user_id, school=school, now=t.now)
    return [say(md("{} is linked to {} and can now use *start*.", target, school.name))]
