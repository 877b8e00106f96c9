"""`withdraw`: a school withdraws its EOI (LIFE's "withdraw"), confirmed first; a discussion booked for it is
called off, in the school's calendar too, and officers are told."""

from __future__ import annotations

from dialogs import discussion_notices, eoi_dialog, lifecycle_words
from dialogs.actions import Command
from dialogs.commands import HEADTEACHER
from dialogs.dates import format_datetime
from dialogs.lifecycle_words import refusal
from dialogs.officer_turn import CommandTurn
from dialogs.registry import handles
from dialogs.replies import Choice, Reply, refuse, say
from dialogs.rich import md
from dialogs.telling import tell
from storage import discussions, eois, transitions
from storage.lifecycle import SCHOOL, judge


@handles("withdraw", HEADTEACHER, at_school=True)
async def withdraw_command(t: CommandTurn) -> list[Reply]:
    return await withdraw(eoi_dialog.at_school(t), t.rest)


async def withdraw(t: eoi_dialog.EoiTurn, rest: str) -> list[Reply]:
    eoi = await eoi_dialog.named_or_current(t, rest)  # another school's EOI is refused there, audited
    if isinstance(eoi, Reply):
        return [eoi]
    words = rest.split()
    if eoi is None:
        return [say(f"{t.school.name} has no EOI to withdraw.")]
    moment = await transitions.moment(t.session, eoi, t.now)
    verdict = judge("withdraw", moment, SCHOOL)
    if verdict.refused:  # said before asking to confirm something impossible
        return [refuse(refusal(eois.NotAllowed(eoi.ref or "", eoi.status, "withdraw", verdict.refused)))]
    if "confirm" not in [w.casefold() for w in words]:
        return [
            Reply(
                text=md(
                    "Withdraw {}? ECC will stop considering it. {}",
                    eoi.ref,
                    lifecycle_words.after(moment, "withdraw"),
                ),
                kind="question",
                choices=[
                    Choice(
                        "Yes, withdraw",
                        Command(f"withdraw {eoi.ref} confirm").shown_for(eoi.id, eoi.status),
                        style="danger",
                    ),
                    Choice("No, keep it", Command("status")),
                ],
            )
        ]
    before = eoi.status
    await transitions.transition(t.session, eoi, "withdraw", by=SCHOOL, actor=t.actor, now=t.now)
    eoi_dialog.leave(t)
    # A discussion booked for a withdrawn EOI is called off, in the school's calendar too.
    discussion = await discussions.cancel_discussion(
        t.session, eoi, by=t.actor, reason="the school withdrew the EOI", now=t.now
    )
    called_off = ""
    if discussion is not None:
        when = format_datetime(discussion.starts_at)
        await discussion_notices.called_off(
            t.session,
            discussion,
            eoi,
            t.school,
            told=md("{} withdrew {}, so its discussion with ECC on *{}* is cancelled.", t.school.name, eoi.ref, when),
            now=t.now,
        )
        called_off = f" Its discussion on {when} is cancelled, and the school has been sent the calendar cancellation."
    told = say(f"{t.school.name} withdrew {eoi.ref}.{called_off}", kind="notice")
    await tell(t.session, "withdraw", before, eoi, t.school, now=t.now, officers_hear=[("withdrawn", told)])
    cancelled = " Its discussion with ECC is cancelled (a calendar cancellation is on its way)." if discussion else ""
    then = await eoi_dialog.where_it_stands(t.session, eoi, t.now, say_state=False)
    return [say(md("{} is withdrawn. ECC has been told.{} {}", eoi.ref, cancelled, then))]
