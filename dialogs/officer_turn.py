"""What every command's handler is given (`CommandTurn`), and the helpers officers' commands share: naming an
EOI, telling its school of a step, a platform's name. Kept apart from the commands themselves so that any
command module may use them without importing another's (dialogs.officer_commands shows what
dialogs.discussion_outcomes adds, so neither may be where the other's turn comes from)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from dialogs import conversation_state, replies
from dialogs.actions import Command
from dialogs.dates import DEFAULT_WORKING_HOURS, WorkingHours
from dialogs.references import eoi_named
from dialogs.replies import Choice, Reply
from dialogs.telling import tell
from storage import people
from storage.audiences import Reach
from storage.models import EOI, School

if TYPE_CHECKING:
    from dialogs.questions import QuestionSet

PLATFORM_NAMES = {"slack": "Slack", "msteams": "Teams", "console": "console"}


@dataclass
class OfficerTurn:
    """Who is speaking, in which transaction, when, and the working hours (EOI_WORKING_HOURS: meetings outside
    them are confirmed first)."""

    session: AsyncSession
    person: people.Person
    now: datetime
    hours: WorkingHours = DEFAULT_WORKING_HOURS

    @property
    def actor(self) -> str:
        return f"{self.person.platform}:{self.person.user_id}"

    def check_first(self, asked: str, reasons: list[str], done: str, yes: Choice, no: Choice) -> Reply:
        """A step asked about before it is done (replies.check_first), which says "until you say yes": so the
        officer's conversation waits for that yes or no (CheckingStep), and typing it does what its button does."""
        typed = [choice.action.text for choice in (yes, no) if isinstance(choice.action, Command)]
        if len(typed) != 2:
            raise TypeError("a step checked first offers commands, so that a typed yes or no can run them")
        state = conversation_state.of(self.person)
        conversation_state.keep(self.person, conversation_state.checking_step(state, yes=typed[0], no=typed[1]))
        return replies.check_first(asked, reasons, done, yes, no)


@dataclass
class CommandTurn(OfficerTurn):
    """One command, as every handler registered in dialogs.registry is called: the speaker's turn (an
    OfficerTurn's session, person, now and working hours), the school they act for now (None when they have
    chosen none), what the service was started with (the EOI's questions, the officers it names, how schools
    are reached), and the rest of what was typed after the command's words. A form's values come as `values`,
    by field name, as typed: a handler that reads them never parses them back out of `rest`."""

    school: School | None = None
    rest: str = ""
    questions: QuestionSet | None = None
    officers: tuple[tuple[str, str], ...] = ()
    reach: Reach | None = None
    values: dict[str, str] = field(default_factory=dict)
    email: bool = False  # whether the service sends email


async def eoi_or_refuse(t: OfficerTurn, ref: str, command: str = "show", tail: str = "") -> tuple[EOI, School] | Reply:
    """The EOI named as `show` names one (dialogs.references); several matching are asked about, each with a
    button that runs `command` on it with the rest of what was typed."""
    return await eoi_named(t.session, ref, command, tail)


async def tell_school(
    t: OfficerTurn, event: str, source: str, eoi: EOI, school: School, kind: str, reply: Reply
) -> None:
    """The school hears of an officer's step in the words given, as the life table's row says (dialogs.telling)."""
    await tell(t.session, event, source, eoi, school, now=t.now, school_hears=[(kind, reply)])
