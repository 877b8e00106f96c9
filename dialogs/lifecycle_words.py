"""The EOI's life (storage/lifecycle.py) in words: what each event is called, what a person can do next and until
when, and why a request is refused. Every sentence that says what someone may do is made here from the table's
verdict at that moment (`storage.lifecycle.judge`), so a promise is made only when the table will keep it, and
says when it stops being true. A headteacher reads what is true and what they can do; an officer, their actions.

`promises` says which events a text shown to someone promises: the phrases below are the only way a reply
offers a step in words, which the enumeration tests (tests/unit/dialogs/test_life_at_every_moment.py) hold
against the table.
"""

from __future__ import annotations

from dialogs.dates import format_datetime
from dialogs.rich import Text, md, rich, text_of
from storage.lifecycle import (
    APPROVED,
    CLOSED,
    DECLINED,
    DRAFT,
    EITHER,
    EVENTS,
    LIFE,
    NEXT_OPEN,
    NOT_SHORTLISTED,
    OFFICER,
    OPENED,
    PLANNED,
    REOPEN_DAYS,
    SCHEDULED,
    SCHOOL,
    SHORTLISTED,
    SUBMITTED,
    UNDER_CONSIDERATION,
    WITHDRAWN,
    Moment,
    NotAllowed,
    Refused,
    Verdict,
    choices,
    judge,
    step,
    steps_from,
)
from storage.transitions import TooManyChanges

PAST = {
    "submit": "submitted",
    "amend": "reopened for changes",
    "withdraw": "withdrawn",
    "restart": "restarted",
    "shortlist": "shortlisted",
    "not-shortlist": "marked not shortlisted",
    "schedule": "scheduled for discussion",
    "cancel-discussion": "taken back to shortlisted (its discussion cancelled)",
    "consider": "put to a decision panel",
    "approve": "approved",
    "decline": "declined",
    "reopen": "reopened",
    "open": "marked open (first pupils)",
}
# What an officer can do next, as the end of "an officer can ...".
CAN: dict[str, str | Text] = {
    "submit": "finish and submit it",
    "amend": md("change its answers (type *review*)"),
    "withdraw": "withdraw it",
    "restart": md("start it again (type *start*)"),
    "shortlist": "shortlist it",
    "not-shortlist": "mark it not shortlisted",
    "schedule": "schedule a discussion",
    "cancel-discussion": "cancel the discussion",
    "consider": "ask a decision panel for recommendations",
    "approve": "approve it",
    "decline": "decline it (with a reason for the school)",
    "reopen": "reopen it",
    "open": "mark first pupils done once every other milestone is (the provision opens)",
}
# What a school is told it can do itself: "You can ...". Only the school's own steps.
SCHOOL_CAN: dict[str, str | Text] = {
    "submit": md("finish and submit it (type *start*)"),
    "amend": md("change its answers (type *review*)"),
    "withdraw": "withdraw it",
    "restart": md("start it again with your answers (type *start*)"),
}
# What the school is told ECC may do next (an officer's steps, in the school's words); None: not the school's
# concern (a panel asked, a decision reopened, a discussion moved).
ECC_NEXT: dict[str, str | None] = {
    "shortlist": "ECC may shortlist it at any time (then its answers are final)",
    "not-shortlist": None,
    "schedule": "ECC will invite you to a discussion",
    "cancel-discussion": None,
    "consider": None,
    "approve": "ECC will then make its decision and tell you why",
    "decline": None,
    "reopen": None,
    "open": None,
}
assert set(PAST) == set(EVENTS) == set(CAN), "every event in storage.lifecycle.LIFE needs its words here"
assert {s.event for s in LIFE if s.by in (SCHOOL, EITHER)} <= set(SCHOOL_CAN), "the school's steps need words"
assert set(ECC_NEXT) == {s.event for s in LIFE if s.by in (OFFICER, EITHER)}, "officers' steps, as schools hear"

# What is true of an EOI in each state, as its school reads it (no rule: the state itself).
IS: dict[str, str] = {
    DRAFT: "ECC sees it only once it is submitted.",
    SUBMITTED: "It is with ECC.",
    SHORTLISTED: "ECC has shortlisted it.",
    NOT_SHORTLISTED: "It was not shortlisted this time.",
    SCHEDULED: "It is shortlisted for a discussion with ECC.",
    UNDER_CONSIDERATION: "ECC is deciding with its stakeholders; you'll be told the decision, and why, here.",
    APPROVED: "ECC approved it: support continues through implementation.",
    DECLINED: "ECC decided not to go ahead with it this time.",
    WITHDRAWN: "You withdrew it.",
    OPENED: "The provision is open.",
}

# The shortlisting rule as LIFE has it ("shortlist" from submitted at any time; "amend" from submitted while the
# window is open), said in the same words to schools (submit confirmation, help) and officers (help).
SHORTLISTING_RULE = (
    "Shortlisting may begin as soon as an EOI is submitted; a school can change its answers until it is "
    "shortlisted or its window closes."
)


def _either(phrases: list[str | Text]) -> Text:
    if len(phrases) == 1:
        return rich(phrases[0])
    return rich(*(p for phrase in phrases[:-2] for p in (phrase, ", ")), phrases[-2], " or ", phrases[-1])


def _until(verdict: Verdict) -> str:
    """When an allowed step stops being allowed, as the end of a sentence ("" when nothing ends it)."""
    if verdict.until is None:
        return ""
    when = format_datetime(verdict.until)
    return f"until {when}, when its window closes" if verdict.until_why == "window" else f"until {when}"


def _can(words: dict[str, str | Text], verdicts: list[Verdict]) -> Text:
    """The allowed steps' phrases as one "or" list: those nothing ends first, then each deadline's, with it."""
    by_until: dict[str, list[str | Text]] = {"": []}
    for v in verdicts:
        if v.event in words:
            by_until.setdefault(_until(v), []).append(words[v.event])
    groups: list[str | Text] = []
    for until, phrases in by_until.items():
        unique = list({str(p): p for p in phrases}.values())
        if unique:
            groups.append(rich(_either(unique), f" {until}" if until else ""))
    return _either(groups) if groups else rich()


def _join(parts: list[Text]) -> Text:
    return rich(*(p for n, part in enumerate(parts) for p in (("; ",) if n else ()) + (part,)))


def window_words(moment: Moment) -> str:
    """What the calendar means for the school's own steps now: those its window's phase refuses, said as when they
    become possible (before it opens) or that they no longer are (after it closes); "" when none are."""
    waiting = [
        v for v in (judge(s.event, moment, SCHOOL) for s in steps_from(moment.state, SCHOOL)) if v.refused == "window"
    ]
    pasts = [PAST[v.event] for v in waiting]
    if not pasts:
        return ""
    if moment.phase == PLANNED:
        opens = f", on {format_datetime(moment.opens_at)}" if moment.opens_at else " (ECC hasn't set its dates yet)"
        return f"It can be {_either(pasts).plain} once its window opens{opens}."
    if moment.state == DRAFT:
        return "Its window closed before it was submitted: its answers move to the next window, to submit there."
    return f"Its window has closed, so it can no longer be {_either(pasts).plain}."


def for_school(moment: Moment, *, next_window: str = "", say_state: bool = True) -> Text:
    """An EOI's status as its school reads it: what is true, what the school can do (and until when), and what
    ECC may do next; `next_window` names a later window open now, where the school can begin a new EOI.
    Without `say_state`, only what can happen (what a confirmation says will follow a step)."""
    sentences: list[str | Text] = [IS[moment.state]] if say_state else []
    mine = _can(SCHOOL_CAN, choices(moment, SCHOOL))
    if mine:
        sentences.append(rich("You can ", mine, "."))
    calendar = window_words(moment)
    if calendar:
        sentences.append(calendar)
    ecc = [
        phrase
        for phrase in dict.fromkeys(ECC_NEXT.get(v.event) for v in choices(moment, OFFICER))
        if phrase is not None
    ]
    if ecc:
        sentences.append(rich(_either(list(ecc)).capitalize(), "."))
    if moment.discussion_at is not None:
        sentences.append(f"The discussion is on {format_datetime(moment.discussion_at)}.")
    if next_window and moment.state in (NOT_SHORTLISTED, DECLINED, WITHDRAWN) and moment.phase == NEXT_OPEN:
        sentences.append(md("You can start a new EOI in {}: type *start*.", next_window))
    return rich(*(p for n, s in enumerate(sentences) for p in ((" ",) if n else ()) + (s,)))


def for_officers(moment: Moment) -> Text:
    """What can happen next, as an officer reads it: their own steps, then the school's, each with its deadline."""
    parts: list[Text] = []
    theirs = choices(moment, OFFICER)
    schools = [v for v in choices(moment, SCHOOL) if v.event not in {o.event for o in theirs}]
    for who, verdicts in (("an officer can ", theirs), ("the school can ", schools)):
        phrases = _can(CAN, verdicts)
        if phrases:
            parts.append(rich(who, phrases))
    if not parts:
        return rich("nothing further")
    return _join(parts)


def after(moment: Moment, event: str) -> Text:
    """What the school will be able to do once `event` is done, as the table will judge it then: what a
    confirmation promises ("Withdraw it? You can change your mind until ...")."""
    found = step(event, moment.state)
    return for_school(moment.after(found.target), say_state=False) if found else rich()


# Other words that offer a school's step, as a handler writing its own might put them: `promises` looks for
# these too, so words written beside the table are caught (tests/unit/dialogs/test_life_at_every_moment.py).
SCHOOL_ALSO = {
    "submit": ("submit it",),
    "amend": ("change its answers", "change your answers", "change them"),
    "withdraw": ("withdraw it",),
    "restart": ("restart it", "start it again", "change your mind"),
}


def promises(text: str | Text, *, to: str) -> set[str]:
    """The events a text shown to `to` (SCHOOL or OFFICER) offers in words: the phrases above, found in it."""
    shown = (text.markup if isinstance(text, Text) else text).casefold()
    words = SCHOOL_CAN if to == SCHOOL else CAN
    found = {event for event, phrase in words.items() if text_of(phrase).markup.casefold() in shown}
    if to == SCHOOL:
        found |= {event for event, also in SCHOOL_ALSO.items() if any(a in shown for a in also)}
    return found


def refusal(refused: Refused) -> str | Text:
    """Why a request was refused, in words that say what is true now."""
    if isinstance(refused, TooManyChanges):
        return change_limit_words(refused)
    if isinstance(refused, NotAllowed):
        name = refused.ref or "This EOI"
        past = PAST[refused.event]
        if refused.reason == "who":
            found = step(refused.event, refused.state)
            who = {SCHOOL: "the school", OFFICER: "an ECC officer"}.get(found.by if found else "", "the school or ECC")
            return f"Only {who} can do that: {name} is {refused.state}."
        if refused.reason == "window":
            if refused.phase == PLANNED:
                return f"{name} can be {past} only once its window opens."
            if refused.phase in (CLOSED, NEXT_OPEN):
                return f"{name} can't be {past} now: its window has closed."
            return f"{name} can be {past} only while its window is open, and it isn't now."
        if refused.reason == "too late":
            since = "its opening" if refused.state == OPENED else "the decision"
            return f"{name} can be {past} only within {REOPEN_DAYS} days of {since}, and that time has passed."
        if refused.reason == "no discussion":
            return f"{name} has no discussion to come, so there is nothing to cancel."
        said = md("{} is {}, so it can't be {}.", name, refused.state, past)
        if refused.event == "cancel-discussion":  # "can't be taken back to shortlisted" says it less plainly
            said = md("{} has no discussion to cancel: it is {}.", name, refused.state)
        if refused.moment is not None and refused.by == OFFICER:
            return said + md(" Next: {}.", for_officers(refused.moment))
        if refused.moment is not None:
            return rich(said, " ", for_school(refused.moment, say_state=False))
        return said
    return str(refused)


def change_limit_words(refused: TooManyChanges) -> Text:
    """The per-person limit on reopening EOIs (storage.transitions.CHANGE_LIMIT), said from the rule itself."""
    hours = refused.limit.per.total_seconds() / 3600
    per = "hour" if hours == 1 else f"{hours:g} hours"
    return md(
        "You've opened EOIs for changes {} times in the last {}, the most one person can (ECC's officers are told "
        "each time). You can again from *{}*. What you've already changed is kept, and you can still submit it.",
        refused.limit.most,
        per,
        format_datetime(refused.again_at),
    )
