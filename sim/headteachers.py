"""Simulated headteachers: each reads what the bot actually asked and answers it, in the ways people do (drawn
from the seed): ignore the window, start and abandon, finish late, change answers at the review (the provision
type too), withdraw and resubmit, double-click the confirm button, start in Slack and carry on in Teams.

What each headteacher saw acknowledged is logged (`Head.log`), so the invariants can check nothing acknowledged
was lost."""

from __future__ import annotations

import asyncio
import random
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sim.platforms import Heard, Platforms
from sim.world import School

QUESTIONS = yaml.safe_load((Path(__file__).parents[1] / "dialogs/questions/eoi.yaml").read_text())
# A question is known by its words, including those it is asked in after an earlier answer (ask_by_answer).
_ASKS = [
    (" ".join(ask.split()), q["id"])
    for q in QUESTIONS["questions"]
    for ask in [q["ask"], *(v for by in q.get("ask_by_answer", {}).values() for v in by.values())]
]
_DECLARATIONS = [" ".join(QUESTIONS["declaration"]["ask"].split())[:60]] + [
    " ".join(v.split())[:60] for by in QUESTIONS["declaration"].get("ask_by_answer", {}).values() for v in by.values()
]
MARKERS: list[tuple[str, str]] = [
    *sorted(_ASKS, key=lambda m: -len(m[0])),
    *[(d, "declaration") for d in _DECLARATIONS],
    ("Here is everything you", "review"),
    ("Your reference is", "submitted"),  # the confirmation of a submission, and nothing else
]
REF = re.compile(r"EOI-\d{4}[A-Z]-\d{3,}")
LONG_VISION = (
    "Every child belongs here. Our vision is a school where pupils with autism learn alongside their friends, "
    "with a calm base to return to, staff trained together, and families who are partners in every plan."
)
ANSWERS: dict[str, str] = {
    "provision_type": "Resourced Provision",
    "primary_need": "ASD",
    "other_needs": "none",
    "places": "12",
    "start": "September 2028",
    "priority_need": "1",
    "priority_need_other": "Rising numbers of autistic pupils in our district and no local specialist places.",
    "accommodation": "Dedicated space available now",
    "accommodation_details": "Two adjoining classrooms on the ground floor, with a sensory room and garden.",
    "accessible_site": "Yes",
    "accessible_site_details": "skip",
    "senco_qualification": "Yes",
    "staff_expertise": "Our SENCo holds the NASENCO award and six staff are trained in Autism Education Trust "
    "programmes, with speech and language therapy weekly.",
    "ehcp_count": "14",
    "sen_support_count": "38",
    "places_by_year": "All at once",
    "staffing_model": "A qualified teacher in charge, with one teaching assistant for every three pupils.",
    "outreach": "No",
    "inclusion_vision": LONG_VISION,
    "attachments": "done",
    "governance": "Yes, approved",
    "governance_date": "12 June 2027",
    "trust_signoff": "Yes",
    "trust_signoff_by": "Jane Smith, CEO",
    "trust_signoff_date": "12 June 2027",
    "contact_name": "Sam Patel",
    "contact_role": "Headteacher",
    "contact_email": "sam.patel@school.example",
    "contact_phone": "skip",
}
# What each kind of headteacher does, and how often (weights), for schools in scope that can be reached.
BEHAVIOURS = (
    ("ignore", 50),
    ("abandon", 10),
    ("submit", 14),
    ("late", 7),
    ("change_provision", 5),
    ("withdraw_resubmit", 4),
    ("withdraw", 3),
    ("double_click", 5),
    ("after_close", 2),
)
REPLY_TIMEOUT = 20.0
QUICK_REPLY_TIMEOUT = 6.0
THINK = (0.1, 0.6)  # seconds between reading a reply and sending the next message
QUICK_THINK = (0.02, 0.1)  # the small seed in the test suite: people who type fast
# How long a head waits, after a message that asks nothing, for the rest of the answer. Slack posts about one
# message a second per channel (run.py enforces it on the fake), so a turn's next message ("Got it: …" then the
# question) may come after a 1 s Retry-After, or two. A head who moved on sooner took that late question as the
# answer to their next message, answered questions out of turn and lost their place: seed 2 ended an EOI the head
# had seen submitted as a draft, its withdraw answered by a late "This question needs an answer".
QUIET = 2.0
MAX_TURNS = 60


def prompt_in(text: str) -> str | None:
    flat = " ".join(text.split())
    for marker, what in MARKERS:
        if marker in flat:
            return what
    return None


@dataclass
class Head:
    school: School
    behaviour: str
    rng: random.Random
    platforms: Platforms
    log: list[dict[str, Any]] = field(default_factory=list)  # what the bot acknowledged, in order
    refs: set[str] = field(default_factory=set)
    expected: dict[str, str] = field(default_factory=dict)  # ref -> the state this head saw acknowledged
    errors: list[str] = field(default_factory=list)
    turns: int = 0
    duplicates_sent: int = 0
    # Pressed "I confirm" and never saw the confirmation (its reply lost with a killed process): the EOI may be
    # submitted or not, and either is right.
    confirm_unseen: bool = False
    withdraw_unseen: bool = False  # likewise for "withdraw … confirm"
    unanswered: int = 0  # Slack turns whose reply never came (the process was killed after Slack's 200)
    redeliveries: int = 0
    platform: str = ""
    offer: str = "Resourced Provision"
    heard_after_close: list[str] = field(default_factory=list)
    think: tuple[float, float] = THINK
    reply_timeout: float = REPLY_TIMEOUT

    def __post_init__(self) -> None:
        self.platform = "slack" if self.school.reach == "slack" else "msteams"
        if self.school.reach == "both":
            self.platform = self.rng.choice(["slack", "msteams"])
        if self.school.phase == "secondary":
            self.offer = "Partnership Provision (SEMH)"

    @property
    def user(self) -> str:
        return self.school.slack_user if self.platform == "slack" else self.school.teams_user

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.user}"

    # ------------------------------------------------------------------------------------------- one turn
    async def _wait(self, since: int) -> list[Heard]:
        """Slack answers after its 200: read until a reply asks something, or replies stop coming. A reply lost
        with a killed process (the answer was kept, the reply not yet posted) is waited for only so long."""
        box = self.platforms.inbox[self.key]
        deadline = time.monotonic() + self.reply_timeout
        while time.monotonic() < deadline:
            replies = [h for h in box[since:] if not h.proactive]
            if replies and (replies[-1].prompt(prompt_in) or time.monotonic() - replies[-1].at >= QUIET):
                return replies
            await asyncio.sleep(0.03)
        self.unanswered += 1
        return [h for h in box[since:] if not h.proactive]

    async def _send_once(self, text: str | None, button: dict[str, Any] | None, dup: bool) -> tuple[int, Any]:
        """Deliver one message or click; a duplicated delivery sends the same request twice at once."""
        p = self.platforms
        if self.platform == "slack":
            if button is not None:
                action_id, value = button["slack"]
                status, body = await p.slack_press(self.user, action_id, value, button["label"])
                if dup:
                    self.duplicates_sent += 1
                    status = max(status, await p.slack_again(body, retry=None))  # a second click: a new request
                return status, body
            from tests.fakes import slack_requests as sr

            body = sr.message_im_event_body(self.user, text or "")
            if dup:
                self.duplicates_sent += 1
                results = await asyncio.gather(
                    p.slack_message(self.user, "", body=body), p.slack_message(self.user, "", body=body, retry=1)
                )
                return max(r[0] for r in results), body
            return await p.slack_message(self.user, "", body=body)
        if button is not None:
            status, activity = await p.teams_press(self.user, button["teams"])
        else:
            status, activity = await p.teams_message(self.user, text or "")
        if dup:
            self.duplicates_sent += 1
            status = max(status, await p.teams_again(activity))
        return status, activity

    async def turn(
        self, text: str | None = None, button: dict[str, Any] | None = None, *, dup: bool = False
    ) -> list[Heard]:
        """Say something (or press a button) and read what comes back. A request the service never answered
        (killed mid-turn) is delivered again, as Slack retries an event; a reply lost with the process is
        recovered by asking again."""
        self.turns += 1
        await asyncio.sleep(self.rng.uniform(*self.think))  # reading and typing
        since = len(self.platforms.inbox[self.key])
        status, sent = await self._send_once(text, button, dup)
        for attempt in range(1, 30):
            if status and status < 500:
                break
            self.redeliveries += 1
            await asyncio.sleep(1)
            if self.platform == "slack":
                status = await self.platforms.slack_again(sent, retry=attempt)
            else:
                status = await self.platforms.teams_again(sent)
        if self.platform == "msteams" and status and status < 500:
            # Teams hears a turn's replies within the request (they go before its 200): the answer is complete.
            return [h for h in self.platforms.inbox[self.key][since:] if not h.proactive]
        return await self._wait(since)

    # ------------------------------------------------------------------------------------------- the EOI
    def _answer(self, prompt: str) -> str:
        if prompt == "provision_type":
            return self.offer
        if prompt == "age_range":
            return "KS3, KS4" if self.school.phase == "secondary" else "KS1, KS2"
        if prompt == "places" and "Partnership" in self.offer:
            return "8"
        return ANSWERS.get(prompt, "skip")

    @staticmethod
    def _last_prompt(heard: list[Heard]) -> str | None:
        for h in reversed(heard):
            found = h.prompt(prompt_in)
            if found:
                return found
        return None

    def _note_refs(self, heard: list[Heard]) -> None:
        for h in heard:
            self.refs.update(REF.findall(h.text))

    @staticmethod
    def _button(heard: list[Heard], label: str) -> dict[str, Any] | None:
        for h in reversed(heard):
            for b in h.buttons:
                if b["label"].casefold().startswith(label.casefold()):
                    return b
        return None

    async def fill(
        self,
        *,
        stop_after: int | None = None,
        change_at_review: bool = False,
        double_click: bool = False,
        first: str = "start",
    ) -> str:
        """Work through the EOI from wherever it stands. Returns 'submitted', 'stopped' or what went wrong."""
        heard = await self.turn(first)
        answered = 0
        changed = False
        previous, same, reviews = "", 0, 0
        for _ in range(MAX_TURNS):
            self._note_refs(heard)
            prompt = self._last_prompt(heard)
            if prompt is None:
                heard = await self.turn("start")  # lost or unexpected: ask where we are
                prompt = self._last_prompt(heard)
                if prompt is None:
                    last = heard[-1].text if heard else "nothing"
                    self.errors.append(f"{self.school.urn}: no question after {first!r}: {last[:200]}")
                    return "lost"
            same = same + 1 if prompt == previous and prompt not in ("review",) else 0
            if same > 3:
                self.errors.append(f"{self.school.urn}: {prompt} asked again and again")
                return "stuck"
            previous = prompt
            if prompt == "submitted":
                self.confirm_unseen = False
                ref = next(iter(REF.findall(" ".join(h.text for h in heard))), "")
                self.log.append({"event": "submitted", "ref": ref})
                if ref:
                    self.expected[ref] = "submitted"
                return "submitted"
            if stop_after is not None and answered >= stop_after:
                return "stopped"
            if prompt == "review":
                reviews += 1
                if reviews > 4:
                    self.errors.append(f"{self.school.urn}: back at the review again and again")
                    return "review loop"
                if change_at_review and not changed:
                    changed = True
                    button = self._button(heard, "Change Provision type")
                    if button is None:
                        self.errors.append(f"{self.school.urn}: no 'Change Provision type' at the review")
                        return "no change button"
                    self.offer = "Partnership Provision (SEMH)" if "Resourced" in self.offer else "Resourced Provision"
                    self.log.append({"event": "change provision", "to": self.offer})
                    heard = await self.turn(button=button)
                    continue
                heard = await self.turn("submit")
                continue
            if prompt == "declaration":
                self.confirm_unseen = True  # until the confirmation ("Your reference is") is seen
                button = self._button(heard, "I confirm")
                heard = await self.turn(button=button, dup=double_click) if button else await self.turn("1")
                continue
            self.log.append({"event": "answered", "question": prompt})
            answered += 1
            heard = await self.turn(self._answer(prompt))
        self.errors.append(f"{self.school.urn}: not finished after {MAX_TURNS} turns")
        return "too long"

    async def withdraw(self) -> bool:
        ref = sorted(self.refs)[-1] if self.refs else ""
        heard = await self.turn(f"withdraw {ref} confirm".strip())
        text = " ".join(h.text for h in heard)
        if "withdrawn" in text.casefold():
            self.log.append({"event": "withdrawn", "ref": ref})
            self.expected[ref] = "withdrawn"
            return True
        self.withdraw_unseen = True  # its reply may come later than the one read (Slack answers after its 200)
        self.errors.append(f"{self.school.urn}: withdraw {ref} not acknowledged: {text[:200]}")
        return False

    @property
    def maybe(self) -> set[str]:
        """States the head's EOI may be in beyond what they saw acknowledged."""
        return {
            state
            for state, unseen in (("submitted", self.confirm_unseen), ("withdrawn", self.withdraw_unseen))
            if unseen
        }

    async def switch_platform(self) -> None:
        """Carry on from the other platform (a head with both Slack and Teams)."""
        if self.school.reach == "both":
            self.platform = "msteams" if self.platform == "slack" else "slack"
            self.log.append({"event": "switched", "to": self.platform})


def behaviour_for(rng: random.Random, school: School) -> str:
    return rng.choices([b for b, _ in BEHAVIOURS], weights=[w for _, w in BEHAVIOURS])[0]
