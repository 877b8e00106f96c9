"""Help for each kind of user."""

from __future__ import annotations

from dialogs.dates import MEETING_EXAMPLES
from dialogs.glossary import PROVISION_HELP
from dialogs.replies import Choice, Reply, action

HEADTEACHER_HELP = (
    "I help your school send Essex County Council an *Expression of Interest* in hosting a Resourced "
    "Provision or a Partnership Provision.\n"
    "• *start*: begin or carry on your school's EOI (one question at a time; saved as you go)\n"
    "• *status*: where your EOI is, and what happens next\n"
    "• *withdraw*: withdraw a submitted EOI (before a decision)\n"
    "• *school*: if you act for more than one school, which one you're working on\n\n" + PROVISION_HELP
)

OFFICER_HELP = (
    "Officer commands:\n"
    "• *list* [status] [quadrant or district] [need type] [phase] [window] [page N]: e.g. `list submitted ASD "
    "Colchester`\n"
    "• *show* REF: answers and history\n"
    "• *shortlist* REF [note]   • *not-shortlisted* REF feedback\n"
    f"• *schedule* REF WHEN [for DURATION] [at PLACE]: WHEN like {MEETING_EXAMPLES}\n"
    "• *cancel discussion* REF [reason]: call it off; the school is told\n"
    "• *decide* REF approve|decline [note]\n"
    "• *export* [window]: CSV of EOIs\n"
    "• *window* list | add | plan | preview | open | change | cancel | deliveries   • *need* [window]\n"
    "• *officer* list | add PLATFORM:USER | remove PLATFORM:USER   • *link* PLATFORM:USER URN"
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
            "school's URN.\n\n" + PROVISION_HELP
        )
    )
