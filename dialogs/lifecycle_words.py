"""The EOI's life (storage/lifecycle.py) in words: what each event is called, what can happen next from a
state, and why a request is refused. Generated from the table, so the words can't drift from the rules."""

from __future__ import annotations

from dialogs.dates import format_datetime
from dialogs.rich import Text, md, rich
from storage.eois import TooManyChanges
from storage.lifecycle import (
    DECLINED,
    DRAFT,
    EVENTS,
    NOT_SHORTLISTED,
    OFFICER,
    OPENED,
    REOPEN_DAYS,
    SCHOOL,
    NotAllowed,
    Refused,
    step,
    steps_from,
)

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
# What each kind of person can do next, as the end of "the school can ..." / "an officer can ...".
CAN: dict[str, str | Text] = {
    "submit": "finish and submit it while its window is open",
    "amend": md("change its answers while its window is open (type *review*)"),
    "withdraw": "withdraw it",
    "restart": md("start it again while its window is open (type *start*)"),
    "shortlist": "shortlist it",
    "not-shortlist": "mark it not shortlisted",
    "schedule": "schedule a discussion",
    "cancel-discussion": "cancel the discussion",
    "consider": "ask a decision panel for recommendations",
    "approve": "approve it",
    "decline": "decline it (with a reason for the school)",
    "reopen": f"reopen the decision within {REOPEN_DAYS} days of it",
    "open": "mark its implementation plan's milestones done, up to first pupils",
}
FINAL = {
    NOT_SHORTLISTED: "it was not shortlisted",
    DECLINED: "a decision has been made",
    OPENED: "the provision is open",
}
assert set(PAST) == set(EVENTS) == set(CAN), "every event in storage.lifecycle.LIFE needs its words here"

# The shortlisting rule as LIFE has it ("shortlist" from submitted at any time; "amend" from submitted while the
# window is open), said in the same words to schools (submit confirmation, help, status) and officers (help).
SHORTLISTING_RULE = (
    "Shortlisting may begin as soon as an EOI is submitted; a school can change its answers until it is "
    "shortlisted or its window closes."
)


def _either(phrases: list[str | Text]) -> Text:
    if len(phrases) == 1:
        return rich(phrases[0])
    return rich(*(p for phrase in phrases[:-2] for p in (phrase, ", ")), phrases[-2], " or ", phrases[-1])


def next_steps(state: str, *, window_open: bool = True) -> Text:
    """What can happen next to an EOI in `state`, as the table allows; once its window has closed
    (`window_open` False), without the steps that need it open, and a draft says where it goes."""
    parts: list[Text] = []
    for by, who in ((SCHOOL, "the school"), (OFFICER, "an officer")):
        steps = [s for s in steps_from(state, by) if window_open or not s.while_open]
        phrases = list({str(CAN[s.event]): CAN[s.event] for s in steps}.values())
        if phrases:
            parts.append(rich(f"{who} can ", _either(phrases)))
    said = rich(*(p for n, part in enumerate(parts) for p in (("; ",) if n else ()) + (part,)))
    if state == DRAFT and not window_open:
        moved = "its window has closed, so its answers move to the next window under a new reference"
        return rich(moved, "; ", said) if parts else rich(moved)
    if state in FINAL:
        return md("nothing further: {}", FINAL[state]) + (md(" (though {})", said) if said else "")
    return said or rich("nothing further")


def refusal(refused: Refused) -> str | Text:
    """Why a request was refused, and what can happen instead."""
    if isinstance(refused, TooManyChanges):
        return change_limit_words(refused)
    if isinstance(refused, NotAllowed):
        name = refused.ref or "This EOI"
        if refused.reason == "who":
            found = step(refused.event, refused.state)
            who = {SCHOOL: "the school", OFFICER: "an ECC officer"}.get(found.by if found else "", "the school or ECC")
            return f"Only {who} can do that: {name} is {refused.state}."
        if refused.reason == "window":
            return f"{name} can be {PAST[refused.event]} only while its window is open, and it isn't now."
        if refused.reason == "too late":
            return f"{name} can be {PAST[refused.event]} only within {REOPEN_DAYS} days of the decision."
        then = next_steps(refused.state)
        return md("{} is {}, so it can't be {}: {}.", name, refused.state, PAST[refused.event], then)
    return str(refused)


def change_limit_words(refused: TooManyChanges) -> Text:
    """The per-person limit on reopening EOIs (storage.eois.CHANGE_LIMIT), said from the rule itself."""
    hours = refused.limit.per.total_seconds() / 3600
    per = "hour" if hours == 1 else f"{hours:g} hours"
    return md(
        "You've opened EOIs for changes {} times in the last {}, the most one person can (ECC's officers are told "
        "each time). You can again from *{}*. What you've already changed is kept, and you can still submit it.",
        refused.limit.most,
        per,
        format_datetime(refused.again_at),
    )
