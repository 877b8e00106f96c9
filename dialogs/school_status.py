"""`status`: where a school's EOIs are and what happens next (an officer's `status` is dialogs/officer_status.py)."""

from __future__ import annotations

from dialogs import eoi_dialog, officer_status, schools
from dialogs.actions import Command
from dialogs.commands import HEADTEACHER
from dialogs.officer_turn import CommandTurn
from dialogs.registry import handles
from dialogs.replies import Choice, Reply, say
from dialogs.rich import md
from storage import eois, people
from storage.windows import current_or_next, window_name


@handles("status", HEADTEACHER)
async def status_command(t: CommandTurn) -> list[Reply]:
    """A school's status; an officer, who has no school, reads ECC's own next steps (dialogs.officer_status)."""
    if t.school is None:
        if t.person.role == people.OFFICER:
            return await officer_status.status(t.session, t.now)
        return await schools.no_school_chosen(t, "status")
    return await school_status(eoi_dialog.at_school(t))


async def school_status(t: eoi_dialog.EoiTurn) -> list[Reply]:
    """Each of the school's EOIs in this window (an RP and a PP are two), or its last one elsewhere, and every
    EOI that still has something ahead whatever its window (approved and being implemented, a decision or a
    follow-up to come): finished is not forgotten."""
    here = await eois.school_eois(t.session, t.school, t.now)
    shown = {e.id for e in here}
    ahead = await eois.still_ahead(t.session, t.school, shown)
    earlier = [await eoi_dialog.status_reply(t.session, e, t.school, t.now, for_school=True) for e in ahead]
    shown |= {e.id for e in ahead}
    start = Choice("Start a new EOI", Command("start"), style="primary")
    if not here:
        # None in this window: the school's last EOI, wherever it ended, and a way to begin one here.
        latest = await eois.latest_eoi(t.session, t.school)
        if latest is None:
            return [
                say(
                    md("{} has no EOI yet. Type *start* to begin one.", t.school.name),
                    choices=[Choice("Start", Command("start"))],
                )
            ]
        window = await current_or_next(t.session, t.now)
        replies = earlier
        if latest.id not in shown:
            replies.append(await eoi_dialog.status_reply(t.session, latest, t.school, t.now, for_school=True))
        where = f"in {window_name(window)}" if window else "for the next window"
        replies[-1].text += md("\n{} has no EOI {} yet: type *start* to begin a new one.", t.school.name, where)
        replies[-1].choices.insert(0, start)
        return replies
    replies = await eoi_dialog.statuses(t, here)
    for draft, reply in zip(here, replies, strict=True):
        if draft.status == eois.DRAFT:
            continue_it = f"start {draft.ref}" if draft.ref else "start"
            reply.choices.append(Choice("Continue", Command(continue_it), style="primary"))
    return earlier + replies
