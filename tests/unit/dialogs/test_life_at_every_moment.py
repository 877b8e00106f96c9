"""Proof, not examples: at every (state x window phase x person) the life table (storage/lifecycle.py) decides
what each person sees and may do. For every situation, as the headteacher (`status`) and as an officer (`show`):

- every step offered, as a button or in words, is one the table allows at that moment;
- every step offered as a button succeeds when pressed, moving the EOI where the table says;
- every step the table refuses is not offered, and typing it is refused and changes nothing.

A random walk then moves the clock across a window's life (open, closed, the next window, a decision, 14 days)
with random steps from either side, and checks the same after each. A handler whose words or buttons are written
beside the table, or a row changed by hand, fails here (see `test_a_planted_promise_is_caught`)."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest

from dialogs.actions import OpenForm
from dialogs.lifecycle_words import promises
from dialogs.officer_commands import OFFERED_AS_BUTTONS
from dialogs.replies import Choice, Reply
from dialogs.rich import Text
from dialogs.turns import Turn
from storage import eois, implementation, lifecycle, transitions
from storage.lifecycle import (
    APPROVED,
    CLOSED,
    DECLINED,
    EVENTS,
    NEXT_OPEN,
    OFFICER,
    OPEN,
    PHASES,
    PLANNED,
    SCHOOL,
    STATES,
    judge,
)
from storage.models import EOI, Decision, Discussion, School
from storage.windows import LONDON, find_window
from tests.chat import Chat, add_spring_window, complete_eoi, headteacher, officer

# The demo window is open from 16 November to 28 December 2026 (tests/conftest.NOW is 30 November); spring is
# added from 22 February to 25 March 2027.
AT = {
    PLANNED: datetime(2026, 11, 10, 10, 0, tzinfo=LONDON),
    OPEN: datetime(2026, 11, 30, 10, 0, tzinfo=LONDON),
    CLOSED: datetime(2027, 1, 6, 10, 0, tzinfo=LONDON),
    NEXT_OPEN: datetime(2027, 3, 1, 10, 0, tzinfo=LONDON),
}
# The school's buttons that are steps of the table (the rest carry on answering, show answers, mark follow-ups).
SCHOOL_BUTTONS = {"Withdraw": ("withdraw",), "Change my answers": ("amend",), "Start it again": ("restart",)}
# What each step is when typed: by the school, or an officer. {ref} is the EOI; {when} a time a day ahead.
TYPED = {
    "submit": "start {ref}",
    "amend": "amend {ref}",
    "withdraw": "withdraw {ref} confirm",
    "restart": "start {ref}",
    "shortlist": "shortlist {ref}",
    "not-shortlist": "not-shortlisted {ref} The need in your area is met this year.",
    "schedule": "schedule {ref} confirm {when} for 60 minutes",
    "cancel-discussion": "cancel discussion {ref} The head is unwell",
    "consider": "panel {ref} me as SEND lead",
    "approve": "decide {ref} approve Opening September 2027",
    "decline": "decide {ref} decline The accommodation won't be ready in time",
    "reopen": "reopen {ref} The panel misread the accommodation plan",
    "open": "done {ref} first pupils",
}
# What a form asks for, filled in as an officer would.
FORM_VALUES = {
    "note": "The need in your area is met this year.",
    "reason": "The panel misread the accommodation plan",
    "members": "me as SEND lead",
    "when": "",  # set per situation: a day ahead
}


@pytest.fixture
def backend() -> str:
    return "sqlite"  # the rules are the same on both; storage's own tests run on PostgreSQL too


@dataclass
class Situation:
    state: str
    phase: str
    fresh: bool = True  # a decision made a day ago (False: 20 days ago, past the reopen period)
    discussion: str = "to come"  # "to come" | "held" | "none"


class County:
    """Schools to put EOIs in any state, each EOI with complete answers, and the windows to move across."""

    def __init__(self, service: Any, clock: Any, answers: dict[str, Any]) -> None:
        self.service, self.clock, self.answers = service, clock, answers
        self.next_urn = 300000
        self.asked: list[Reply] = []  # the last confirmation a button asked for

    async def school(self) -> str:
        """A new school like the demo's 114000 (same district and phase, so the same need puts it in scope)."""
        urn = str(self.next_urn)
        self.next_urn += 1
        async with self.service.db.session() as session:
            model = await session.get(School, "114000")
            assert model is not None
            session.add(
                School(
                    urn=urn,
                    name=f"Test School {urn}",
                    phase=model.phase,
                    quadrant=model.quadrant,
                    district=model.district,
                    headteacher_name=f"Head {urn}",
                    headteacher_email=f"head{urn}@test-school.example",
                    establishment_type=model.establishment_type,  # the same kind of school, so the same questions
                    establishment_group=model.establishment_group,
                )
            )
            await session.commit()
        return urn

    async def eoi(self, situation: Situation) -> tuple[str, int]:
        """An EOI in `situation` at a new school, the clock at its phase: (urn, its id)."""
        self.clock.set(AT[OPEN])
        urn = await self.school()
        now = AT[situation.phase]
        changed = now - timedelta(days=1 if situation.fresh else 20)
        async with self.service.db.session() as session:
            window = await find_window(session, "2627A")
            school = await session.get(School, urn)
            eoi = EOI(
                school_urn=urn,
                status=situation.state,
                offer="resourced",
                primary_need="ASD",
                answers=dict(self.answers),
                started_by="test",
                created_at=changed,
                updated_at=changed,
                submitted_at=None if situation.state == "draft" else changed,
            )
            session.add(eoi)
            await eois._assign_ref(session, eoi, window)
            await session.flush()
            if (
                situation.state in (*lifecycle.MAY_HAVE_A_DISCUSSION, APPROVED, DECLINED)
                and situation.discussion != "none"
            ):
                starts = now + timedelta(days=2) if situation.discussion == "to come" else now - timedelta(hours=5)
                session.add(
                    Discussion(
                        eoi_id=eoi.id,
                        starts_at=starts,
                        scheduled_by="console:officer-1",
                        scheduled_at=changed,
                        calendar_uid=f"test-{eoi.id}",
                    )
                )
            if situation.state in (APPROVED, DECLINED, "opened"):
                outcome = DECLINED if situation.state == DECLINED else APPROVED
                session.add(Decision(eoi_id=eoi.id, outcome=outcome, note="", decided_by="t", decided_at=changed))
                if outcome == APPROVED:
                    await implementation.make_plan(session, eoi, approved_at=changed)
            assert school is not None
            await session.commit()
            eoi_id = eoi.id
        self.clock.set(now)
        return urn, eoi_id

    async def _get(self, eoi_id: int) -> EOI:
        async with self.service.db.session() as session:
            found = await session.get(EOI, eoi_id)
            assert found is not None
            return found

    async def ref(self, eoi_id: int) -> str:
        """Its reference now (a draft carried to the next window has a new one)."""
        return (await self._get(eoi_id)).ref or ""

    async def state_of(self, eoi_id: int) -> str:
        return (await self._get(eoi_id)).status

    async def moment(self, eoi_id: int) -> lifecycle.Moment:
        async with self.service.db.session() as session:
            found = await session.get(EOI, eoi_id)
            assert found is not None
            return await transitions.moment(session, found, self.clock.now())


def _buttons(replies: list[Reply], ref: str, role: str) -> dict[str, Choice]:
    """The buttons that are steps of the table, by event, on replies about `ref`."""
    table = SCHOOL_BUTTONS if role == SCHOOL else OFFERED_AS_BUTTONS
    found: dict[str, Choice] = {}
    for reply in replies:
        if ref not in reply.title and ref not in str(reply.text):
            continue
        for choice in reply.choices:
            for event in table.get(choice.label, ()):
                found[event] = choice
    return found


def _markup(reply: Reply) -> str:
    return reply.text.markup if isinstance(reply.text, Text) else str(reply.text)


def _said(replies: list[Reply], ref: str) -> str:
    """Everything said about `ref` (its status text), as markup."""
    return "\n".join(_markup(r) for r in replies if ref in r.title or ref in str(r.text))


def _when(clock: Any) -> str:
    day = (clock.now() + timedelta(days=1)).astimezone(LONDON)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return f"{day:%Y-%m-%d} 11:00"


async def _look(county: County, urn: str, eoi_id: int, role: str) -> tuple[Chat, str]:
    """What the person sees of the EOI (the head's `status`, an officer's `show`), and its reference then."""
    if role == SCHOOL:
        chat = await headteacher(county.service, urn, f"head-{urn}")
        await chat.say("status")
    else:
        chat = officer(county.service)
        await chat.say(f"show {await county.ref(eoi_id)}")
    return chat, await county.ref(eoi_id)


async def _press(chat: Chat, choice: Choice, county: County, event: str) -> None:
    """Press a button for `event` as its person would: a form is filled in and sent; a confirmation confirmed."""
    if isinstance(choice.action, OpenForm) and choice.form is not None:
        values = {**FORM_VALUES, "when": _when(county.clock), "outcome": event}
        parts = [choice.form.command]
        for field in choice.form.fields:
            value = values.get(field.name, "")
            if value and field.name == "when":
                value = f"confirm {value}"
            if value:
                parts.append(f"{field.prefix}{value}")
        await chat.say(" ".join(parts))
        return
    chat.replies = await county.service.conversations.handle(Turn(chat.speaker, action=choice.action))
    for confirm in ("Yes, withdraw",):
        if any(c.label.startswith(confirm) for r in chat.replies for c in r.choices):
            county.asked = chat.replies  # what the confirmation promised, checked by the caller
            await chat.press(confirm)


async def _check(county: County, situation: Situation, role: str) -> list[str]:
    """The three checks for one situation and person; returns what failed, in words."""
    failures: list[str] = []
    urn, eoi_id = await county.eoi(situation)
    chat, ref = await _look(county, urn, eoi_id, role)
    moment = await county.moment(eoi_id)  # after the look: a draft may have been carried to the next window
    where = f"{situation} as {role}"
    buttons = _buttons(chat.replies, ref, role)
    said = promises(_said(chat.replies, ref), to=role)
    for event in set(buttons) | said:
        verdicts = [judge(event, moment, role)] + ([judge(event, moment, SCHOOL)] if role == OFFICER else [])
        if not any(v.allowed for v in verdicts):
            failures.append(f"{where}: offers {event!r}, which the table refuses ({verdicts[0].refused})")
    # Offered buttons succeed, each on its own copy of the situation.
    for event in buttons:
        if not judge(event, moment, role).allowed:
            continue
        urn2, id2 = await county.eoi(situation)
        chat2, ref2 = await _look(county, urn2, id2, role)
        again = _buttons(chat2.replies, ref2, role).get(event)
        if again is None:
            failures.append(f"{where}: {event!r} offered once but not on a copy")
            continue
        county.asked = []
        await _press(chat2, again, county, event)
        target = lifecycle.step(event, moment.state)
        got = await county.state_of(id2)
        if target is None or got != target.target:
            failures.append(f"{where}: pressing {event!r} left it {got!r}: {chat2.text[:300]}")
            continue
        # What the confirmation promised for afterwards, and what the answer says, hold at that moment.
        after = await county.moment(id2)
        told = [("confirmation", county.asked), ("answer", chat2.replies)]
        for what, replies in told:
            for promised in promises("\n".join(_markup(r) for r in replies), to=role) if role == SCHOOL else ():
                if not judge(promised, after, SCHOOL).allowed:
                    failures.append(
                        f"{where}: after {event!r}, the {what} promises {promised!r}: {_markup(replies[-1])}"
                    )
    # Every step the table allows this person works when typed, each on its own copy (so a row changed by hand,
    # say a step given to the wrong person, fails here); "open" waits on the plan's own order of milestones too.
    for event in EVENTS:
        found = lifecycle.step(event, moment.state)
        if found is None or event == "open" or not judge(event, moment, role).allowed:
            continue
        urn3, id3 = await county.eoi(situation)
        chat3, ref3 = await _look(county, urn3, id3, role)
        if (await county.moment(id3)).state != moment.state:
            continue  # looking moved it (a draft carried forward): judged again on its next look
        typed = await _type(chat3, event, ref3, county)
        if await county.state_of(id3) != found.target:
            failures.append(f"{where}: allowed {event!r} typed as {typed!r} left it: {chat3.text[:300]}")
    # Refused steps are not offered, and typed they change nothing.
    for event in EVENTS:
        found = lifecycle.step(event, moment.state)
        if found is None or judge(event, moment, role).allowed:
            continue
        if event in buttons:
            failures.append(f"{where}: refused {event!r} is offered as a button")
        typed = await _type(chat, event, ref, county)
        if await county.state_of(eoi_id) != moment.state:
            failures.append(f"{where}: refused {event!r} typed as {typed!r} changed the EOI: {chat.text[:300]}")
    return failures


async def _type(chat: Chat, event: str, ref: str, county: County) -> str:
    """Type `event` as its person would (a submit goes on through the review's Submit and the declaration)."""
    typed = TYPED[event].format(ref=ref, when=_when(county.clock))
    await chat.say(typed)
    if event == "submit":
        for label in ("Submit", "I confirm"):
            if any(c.label.startswith(label) for r in chat.replies for c in r.choices):
                await chat.press(label)
    return typed


async def _county(service: Any, clock: Any) -> County:
    """The demo county with spring added and one EOI's complete answers to copy."""
    await add_spring_window(service)
    head = await headteacher(service, "114001", "head-model")
    ref = re.search(r"EOI-\d{4}[AS]-\d{3}", await complete_eoi(head))
    assert ref
    async with service.db.session() as session:
        model = await eois.by_ref(session, ref.group(0))
        assert model is not None
        answers = {k: v for k, v in model.answers.items() if k != "declaration"}
    return County(service, clock, answers)


def _situations() -> list[Situation]:
    found = []
    for state in STATES:
        for phase in PHASES:
            found.append(Situation(state, phase))
            if state in (APPROVED, DECLINED, "not shortlisted"):
                found.append(Situation(state, phase, fresh=False))
            if state in lifecycle.MAY_HAVE_A_DISCUSSION:
                found.append(Situation(state, phase, discussion="held"))
                found.append(Situation(state, phase, discussion="none"))
    return found


async def test_every_state_phase_and_person_is_offered_exactly_what_the_table_allows(service, clock):
    county = await _county(service, clock)
    failures: list[str] = []
    for situation in _situations():
        for role in (SCHOOL, OFFICER):
            failures += await _check(county, situation, role)
    assert not failures, "\n".join(failures)


async def test_random_timelines_keep_every_promise(service, clock):
    """Random steps by either side while the clock moves across the windows' life; after each, what both people
    are shown is checked against the table at that moment."""
    county = await _county(service, clock)
    rng = random.Random(2026)
    failures: list[str] = []
    for walk in range(6):
        clock.set(AT[OPEN])
        urn, eoi_id = await county.eoi(Situation("submitted", OPEN))
        now = AT[OPEN]
        for _ in range(8):
            now += timedelta(days=rng.choice([0, 1, 3, 9, 15, 40]))
            clock.set(now)
            role = rng.choice([SCHOOL, OFFICER])
            event = rng.choice(EVENTS)
            chat, ref = await _look(county, urn, eoi_id, role)
            await chat.say(TYPED[event].format(ref=ref, when=_when(clock)))
            for who in (SCHOOL, OFFICER):
                looked, ref = await _look(county, urn, eoi_id, who)
                moment = await county.moment(eoi_id)
                for promised in set(_buttons(looked.replies, ref, who)) | promises(_said(looked.replies, ref), to=who):
                    verdicts = [judge(promised, moment, who)] + (
                        [judge(promised, moment, SCHOOL)] if who == OFFICER else []
                    )
                    if not any(v.allowed for v in verdicts):
                        when = f"{now:%d %b %Y}, {moment.state}/{moment.phase}"
                        failures.append(f"walk {walk} at {when}: {who} offered {promised!r}")
    assert not failures, "\n".join(failures)


async def test_a_planted_promise_is_caught(service, clock, monkeypatch):
    """The checks can fail: a withdrawal's confirmation written by hand beside the table, as it was ("While its
    window is open you can change your mind"), is caught after the close."""
    from dialogs import lifecycle_words

    county = await _county(service, clock)
    assert not await _check(county, Situation("submitted", CLOSED), SCHOOL)
    planted = lifecycle_words.md("While its window is open you can change your mind: type *start* to restart it.")
    monkeypatch.setattr(lifecycle_words, "after", lambda moment, event: planted)
    failures = await _check(county, Situation("submitted", CLOSED), SCHOOL)
    assert any("the confirmation promises 'restart'" in f for f in failures), failures


async def test_a_rule_written_in_a_handler_beside_the_table_is_caught(service, clock, monkeypatch):
    """A handler deciding for itself (withdrawals refused once the window closes, which the table allows) is
    caught: the table offers the step, and typed it doesn't happen."""
    from dialogs import withdrawal

    def closed_to_withdrawals(event: str, moment: lifecycle.Moment, by: str) -> lifecycle.Verdict:
        if event == "withdraw" and moment.phase != OPEN:
            return lifecycle.Verdict(event, lifecycle.step(event, moment.state), "window")
        return judge(event, moment, by)

    county = await _county(service, clock)
    monkeypatch.setattr(withdrawal, "judge", closed_to_withdrawals)
    failures = await _check(county, Situation("submitted", CLOSED), SCHOOL)
    assert any("allowed 'withdraw' typed" in f for f in failures), failures
