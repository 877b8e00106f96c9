"""Help for each kind of user."""

from __future__ import annotations

from dialogs.actions import Command
from dialogs.commands import ANYONE, BY_NAME, COMMANDS, HEADTEACHER, OFFICER, PANEL, SHARED, CommandSpec
from dialogs.dates import MEETING_EXAMPLES
from dialogs.glossary import PROVISION_HELP
from dialogs.lifecycle_words import SHORTLISTING_RULE
from dialogs.officer_turn import CommandTurn
from dialogs.registry import handles
from dialogs.replies import Choice, Reply
from dialogs.rich import Text, lines_of, md, rich
from storage import people


def _line(command: CommandSpec, *, with_example: bool) -> Text:
    words = command.usage.split(" ")
    typed = {command.name, *command.aliases}
    lead = max(k for k in range(1, len(words) + 1) if k == 1 or " ".join(words[:k]) in typed)
    line = md("• *{}*", " ".join(words[:lead])) + rich(*(" " + w for w in words[lead:]), ": ", command.help)
    if command.name == "schedule":
        line += md("; WHEN like {}", MEETING_EXAMPLES)
    elif with_example and command.example:
        line += md(", e.g. `{}`", command.example)
    return line


HEADTEACHER_HELP = md(
    "I help your school send Essex County Council an *Expression of Interest* in hosting a Resourced "
    "Provision or a Partnership Provision.\n{}\n{}\n\n{}",
    lines_of(_line(c, with_example=False) for c in COMMANDS if c.who in (HEADTEACHER, SHARED) and not c.hidden),
    SHORTLISTING_RULE,
    PROVISION_HELP,
)

OFFICER_HELP = md(
    "Officer commands:\n{}\n{}",
    lines_of(_line(c, with_example=True) for c in COMMANDS if c.who in (OFFICER, SHARED, PANEL) and not c.hidden),
    SHORTLISTING_RULE,
)


def headteacher_help() -> Reply:
    return Reply(
        text=HEADTEACHER_HELP,
        choices=[Choice("Start or continue", Command("start")), Choice("Status", Command("status"))],
    )


def officer_help() -> Reply:
    return Reply(text=OFFICER_HELP, choices=[Choice("List submitted EOIs", Command("list submitted"))])


def shared_greeting() -> Reply:
    """What the bot says when it is added to a team or group chat: it posts there; the EOI is done privately."""
    return Reply(
        text=md(
            "Hello! I'm the EOI Bot for Essex County Council's Resourced and Partnership Provision. I'll post ECC's "
            "announcements and updates about your school's Expression of Interest here. To fill in an EOI, message "
            "me directly; officers can @mention me with *help*."
        )
    )


def stranger_help(key: str) -> Reply:
    return Reply(
        text=md(
            "I help Essex schools send an Expression of Interest in hosting a Resourced or Partnership Provision, "
            "but I couldn't match you to a school: I match headteachers by the email address in the council's "
            "school register. Ask your ECC SEND officer to link you; they can type `link {} URN` with your "
            "school's URN.\nIf an ECC officer asked you for a recommendation on an EOI, answer with the buttons on "
            "their message, or:\n{}\n\n{}",
            key,
            _line(BY_NAME["recommend"], with_example=True),
            PROVISION_HELP,
        )
    )


@handles("help", ANYONE)
async def help_command(t: CommandTurn) -> list[Reply]:
    """`help` (or nothing at all): what this person can do, as who they are to the bot."""
    if t.person.role == people.OFFICER:
        return [officer_help()]
    return [headteacher_help() if t.person.role == people.HEADTEACHER else stranger_help(t.actor)]
