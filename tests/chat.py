"""A small driver for dialog tests: talk to Conversations as a named user and read plain replies."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.console import render
from bot.service import Service
from dialogs.replies import Choice, Reply
from dialogs.turns import ReceivedFile, Speaker, Turn
from storage import people
from storage.models import School


@dataclass
class Chat:
    service: Service
    speaker: Speaker
    replies: list[Reply] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(render(r)[0] for r in self.replies)

    @property
    def last(self) -> Reply:
        return self.replies[-1]

    async def say(self, text: str, *, command: bool = False) -> str:
        self.replies = await self.service.conversations.handle(Turn(self.speaker, text=text, command=command))
        return self.text

    async def send(self, *files: ReceivedFile, text: str = "") -> str:
        """Send files (as a channel hands them over, fetched), with words or none."""
        self.replies = await self.service.conversations.handle(Turn(self.speaker, text=text, files=files))
        return self.text

    async def press(self, label: str) -> str:
        """Press the button whose label starts with `label` (any case) on the latest replies."""
        choice = self.find(label)
        self.replies = await self.service.conversations.handle(Turn(self.speaker, action=choice.action))
        return self.text

    def find(self, label: str) -> Choice:
        options = [c for r in self.replies for c in [*(f.change for f in r.facts if f.change), *r.choices]]
        for choice in options:
            if choice.label.casefold().startswith(label.casefold()):
                return choice
        raise AssertionError(f"no button {label!r} in {[c.label for c in options]}")


async def headteacher(service: Service, urn: str = "114000", user: str = "head-1") -> Chat:
    async with service.db.session() as session:
        school = await session.get(School, urn)
        assert school is not None, urn
        now = service.clock.now()
        person = await people.link(session, actor="test", platform="console", user_id=user, school=school, now=now)
        people.choose_school(person, school)
        await session.commit()
    return Chat(service, Speaker("console", user))


def officer(service: Service, user: str = "officer-1") -> Chat:
    return Chat(service, Speaker("console", user))


LONG_VISION = (
    "Every child belongs here. The provision would sit at the heart of the school, with shared lunch, "
    "assemblies and mainstream lessons whenever pupils are ready; success means confident, happy learners."
)
STAFFING = "A qualified teacher in charge, with one teaching assistant for every three pupils."
# A whole EOI as typed answers, in question order, for a primary school choosing a Resourced Provision.
RESOURCED_ANSWERS = [
    "Resourced Provision",
    "ASD",
    "none",
    "KS1, KS2",
    "12",
    "September 2027",
    "All at once",
    "1",
    "Dedicated space available now",
    "Two adjoining classrooms on the ground floor, with a sensory room and garden.",
    "Yes",
    "Yes",
    "Our SENCo and two TAs hold Level 3 autism training; all staff have annual Zones of Regulation training.",
    STAFFING,
    "Possibly later, once the provision is established",
    "14",
    "38",
    LONG_VISION,
    "done",
    "Yes, approved",
    "12 November 2026",
    "Sam Patel",
    "Headteacher",
    "sam.patel@school.example",
    "skip",
]


OTHER_NEED_EXPLAINED = "Local special schools report a waiting list of autistic pupils in this district."


async def answer_until(chat: Chat, question_id: str, answers: list[str] = RESOURCED_ANSWERS) -> None:
    """Start the EOI and type `answers` in order until `question_id` is asked."""
    await chat.say("start")
    for answer in answers:
        if chat.last.question_id == question_id:
            return
        await chat.say(answer)
    assert chat.last.question_id == question_id, chat.text


async def complete_eoi(chat: Chat, answers: list[str] = RESOURCED_ANSWERS) -> str:
    """Type `answers` in order. A school whose identified need doesn't match the offer is offered only
    "Another need" as option 1, and explains it."""
    await chat.say("start")
    for answer in answers:
        await chat.say(answer)
        if chat.last.question_id == "priority_need_other":
            await chat.say(OTHER_NEED_EXPLAINED)
    assert chat.last.kind == "review", chat.text
    await chat.press("Submit")
    await chat.press("I confirm")
    return chat.text


async def add_spring_window(service: Service) -> None:
    """An officer adds Spring Term 2 2026/27 (2627S: 22 February to 25 March 2027) with the demo's identified need."""
    from storage.register import import_need
    from storage.seed import demo_need_csv
    from storage.windows import find_window

    said = await officer(service).say('window add "Spring Term 2 2026/27" opens 22 Feb 2027 closes 25 Mar 2027')
    assert "Added" in said, said
    async with service.db.session() as session:
        window = await find_window(session, "2627S")
        assert window is not None
        await import_need(session, demo_need_csv(), window=window, actor="test", now=service.clock.now())
        await session.commit()
