"""Help for each kind of user."""

from __future__ import annotations

from dialogs.commands import BY_NAME, COMMANDS, HEADTEACHER, OFFICER, PANEL, SHARED, CommandSpec
from dialogs.dates import MEETING_EXAMPLES
from dialogs.glossary import PROVISION_HELP
from dialogs.lifecycle_words import SHORTLISTING_RULE
from dialogs.replies import Choice, Reply, action


def _line(command: CommandSpec, *, with_example: bool) -> str:
    words = command.usage.split(" ")
    typed = {command.name, *command.aliases}
    lead = max(k for k in range(1, len(words) + 1) if k == 1 or " ".join(words[:k]) in typed)
    shown = " ".join([f"*{' '.join(words[:lead])}*", *words[lead:]])
    line = f"• {shown}: {command.help}"
    if command.name == "schedule":
        line += f"; WHEN like {MEETING_EXAMPLES}"
    elif with_example and command.example:
        line += f", e.g. `{command.example}`"
    return line


HEADTEACHER_HELP = (
    "I help your school send Essex County Council an *Expression of Interest* in hosting a Resourced "
    "Provision or a Partnership Provision.\n"
    + "\n".join(_line(c, with_example=False) for c in COMMANDS if c.who in (HEADTEACHER, SHARED) and not c.hidden)
    + f"\n{SHORTLISTING_RULE}\n\n"
    + PROVISION_HELP
)

OFFICER_HELP = (
    "Officer commands:\n"
    + "\n".join(_line(c, with_example=True) for c in COMMANDS if c.who in (OFFICER, SHARED, PANEL) and not c.hidden)
    + f"\n{SHORTLISTING_RULE}"
)


def headteacher_help() -> Reply:
    return Reply(
        text=HEADTEACHER_HELP,
        choices=[Choice("Start or continue", action("cmd", "start")), Choice("Status", action("cmd", "status"))],
    )


def officer_help() -> Reply:
    return Reply(text=OFFICER_HELP, choices=[Choice("List submitted EOIs", action("cmd", "list submitted"))])


def stranger_help(key: str) -> Reply:
    return Reply(
        text=(
            "I help Essex schools send an Expression of Interest in hosting a Resourced or Partnership Provision, "
            "but I couldn't match you to a school: I match headteachers by the email address in the council's "
            f"school register. Ask your ECC SEND officer to link you; they can type `link {key} URN` with your "
            "school's URN.\n"
            + "If an ECC officer asked you for a recommendation on an EOI, answer with the buttons on their "
            + "message, or:\n"
            + _line(BY_NAME["recommend"], with_example=True)
            + "\n\n"
            + PROVISION_HELP
        )
    )
