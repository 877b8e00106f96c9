"""`school`: which of the schools a person acts for their turns are about; and what a headteacher's command at
their school says when they act for several and have chosen none yet."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncSession

from dialogs import help
from dialogs.actions import Command
from dialogs.commands import HEADTEACHER
from dialogs.officer_turn import CommandTurn
from dialogs.registry import handles, registered
from dialogs.replies import Choice, Reply, refuse, say
from dialogs.rich import md
from storage import audit, people
from storage.models import Person

# What the choice buttons may carry on with once a school is chosen (`school URN start`).
CARRY_ON = ("start", "status")


async def which_school(session: AsyncSession, person: Person, then: str = "") -> list[Reply]:
    """Someone who acts for several schools chooses which one their turns are about; each button carries on
    with `then`."""
    schools = await people.schools_of(session, person)
    current = next((s for s in schools if s.urn == person.school_urn), None)
    text = (
        md(
            "You're acting for *{}*. You also act for the other schools below: choose one to switch.",
            current.name,
        )
        if current
        else "You act for more than one school. Which school is this about?"
    )
    choices = [
        Choice(s.name, Command(f"school {s.urn} {then}".strip()), style="primary" if s is current else "")
        for s in schools
    ]
    return [Reply(text=text, kind="question", choices=choices)]


async def no_school_chosen(t: CommandTurn, name: str) -> list[Reply]:
    """A command at the speaker's school (`at_school`) when they have none chosen: a headteacher of several
    schools is asked which (each button naming the command; a form's answer, `start`), an officer is told
    officers don't fill in EOIs, anyone else how to be linked."""
    if t.person.role == people.HEADTEACHER:
        return await which_school(t.session, t.person, name if name != "answer" else "start")
    if t.person.role == people.OFFICER:
        return [say(md("Officers don't fill in EOIs; try `list submitted`, or *help*."))]
    return [help.stranger_help(t.actor)]


@handles("school", HEADTEACHER)
async def school_command(t: CommandTurn) -> list[Reply]:
    """`school` lists the schools this person acts for; `school URN` switches to one (and `school URN start`,
    what the choice buttons send, carries on with what they asked for)."""
    schools = await people.schools_of(t.session, t.person)
    if not schools:
        if t.person.role == people.OFFICER:
            return [say(md("Officers don't act for a school; try `list submitted`, or *help*."))]
        return [help.stranger_help(t.actor)]
    wanted, _, then = t.rest.strip().partition(" ")
    if not wanted:
        if len(schools) == 1:
            return [say(f"You act for {schools[0].name} (URN {schools[0].urn}).")]
        return await which_school(t.session, t.person)
    school = next((s for s in schools if s.urn == wanted), None)
    if school is None:
        audit.record(t.session, at=t.now, actor=t.actor, action="refused", note=f"school {wanted[:40]}: not linked")
        return [
            refuse(f"You're not linked to a school with URN {wanted[:20]}."),
            *(await which_school(t.session, t.person) if len(schools) > 1 else []),
        ]
    people.choose_school(t.person, school)
    replies = [say(md("You're now acting for *{}*. Type *school* to switch.", school.name))]
    carried_on = registered(then.strip()) if then.strip() in CARRY_ON else None
    if carried_on is not None:
        replies += await carried_on.handler(replace(t, school=school, rest=""))
    return replies
