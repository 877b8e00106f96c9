"""Help for each kind of user."""

from __future__ import annotations

from dialogs.dates import MEETING_EXAMPLES
from dialogs.glossary import PROVISION_HELP
from dialogs.lifecycle_words import SHORTLISTING_RULE
from dialogs.replies import Choice, Reply, action
from storage.lifecycle import REOPEN_DAYS

HEADTEACHER_HELP = (
    "I help your school send Essex County Council an *Expression of Interest* in hosting a Resourced "
    "Provision or a Partnership Provision.\n"
    "• *start*: begin or carry on your school's EOI (one question at a time; saved as you go)\n"
    "• *status*: where your EOI is, and what happens next\n"
    "• *review*: see your EOI's answers; *amend*: change a submitted EOI's answers, then submit it again\n"
    "• *withdraw*: withdraw a submitted EOI (before a decision); *start* restarts it while the window is open\n"
    "• *school*: if you act for more than one school, which one you're working on\n"
    f"{SHORTLISTING_RULE}\n\n" + PROVISION_HELP
)

OFFICER_HELP = (
    "Officer commands:\n"
    "• *list* [status] [quadrant or district] [need type] [phase] [window] [page N]: e.g. `list submitted ASD "
    "Colchester`\n"
    "• *show* REF: answers and history\n"
    "• *shortlist* REF [note]   • *not-shortlisted* REF feedback\n"
    f"• *schedule* REF WHEN [for DURATION] [at PLACE]: WHEN like {MEETING_EXAMPLES}\n"
    "• *decide* REF approve|decline [note]\n"
    f"• *reopen* REF REASON: undo a decision or a not shortlisted within {REOPEN_DAYS} days; the school is told\n"
    "• *export* [window]: CSV of EOIs\n"
    "• *window* list | add | plan | preview | open | change | cancel | deliveries   • *need* [window]\n"
    "• *officer* list | add PLATFORM:USER | remove PLATFORM:USER   • *link* PLATFORM:USER URN\n"
    f"{SHORTLISTING_RULE}"
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
