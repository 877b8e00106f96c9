"""Officer look-ups people expect: `show` by school name or URN as well as reference (with the decision panel
and the implementation plan), `list implementing` beside the other `list` filters, and `officer add` by email
as well as platform id."""

from __future__ import annotations

from dialogs import commands, decision_commands, implementation, officer_commands, references, registry
from dialogs.officer_turn import CommandTurn, OfficerTurn
from dialogs.replies import Reply, refuse, say
from dialogs.rich import Text, md, text_of
from storage import eois
from storage.lifecycle import OFFICER


@registry.handles("show", commands.OFFICER)
async def show_command(t: CommandTurn) -> list[Reply]:
    """`show REF`, `show 114000` or `show Oakfield`: one EOI in full; a school with several, or several schools,
    a list to choose from (dialogs.references, the way every command names an EOI). `show REF files`: its files."""
    rest = t.rest
    wanted = " ".join(rest.split())
    first, _, then = wanted.partition(" ")
    if references.looks_like_ref(first) and then.split(" ")[0].casefold() in ("files", "file"):
        return await officer_commands.show_command(t, wanted)  # the EOI's files, fetched into this chat
    if not wanted or references.looks_like_ref(wanted.split()[0]):
        return await _show_one(t, wanted.split()[0] if wanted else "")
    found = await references.matching(t.session, wanted)
    if len(found) == 1:
        return await _show_one(t, found[0][0].ref or "")
    if found:
        return [references.which_one(found, wanted, "show")]
    schools, _ = await eois.of_schools_named(t.session, wanted)
    if schools:
        named = ", ".join(f"{s.name} (URN {s.urn})" for s in schools[: references.MAX_MATCHES])
        return [say(f"{named}: no EOI yet.")]
    return [refuse(md("No EOI reference, URN or school name matches “{}”. Try `list`, or a reference.", wanted[:80]))]


async def _show_one(t: OfficerTurn, ref: str) -> list[Reply]:
    replies = await officer_commands.show_command(t, ref)
    shown = replies[0]
    if shown.kind == "error":
        return replies
    eoi = await references.by_ref(t.session, ref)
    if eoi is not None:
        extra = await decision_commands.panel_facts(t.session, eoi) + await implementation.plan_facts(
            t.session, eoi, t.now
        )
        at = next((i for i, f in enumerate(shown.facts) if f.label == "History"), len(shown.facts))
        shown.facts[at:at] = extra
        shown.choices += await implementation.done_choices(t.session, eoi, by=OFFICER, now=t.now)
    return replies


@registry.handles("list", commands.OFFICER)
async def list_command(t: CommandTurn) -> list[Reply]:
    """`list implementing` is the implementation portfolio; `list not-started` and `list drafts` who hasn't
    submitted (dialogs.chasing); anything else, the EOIs filtered."""
    from dialogs import chasing  # only the two chasing listings need it

    rest = t.rest
    if rest.strip().casefold() in ("implementing", "implementation", "plans"):
        return await implementation.implementing_command(t.session, t.now)
    if chasing_asked := chasing.listing_asked(rest):
        return await chasing.listing(t, *chasing_asked)
    return await officer_commands.list_command(t, rest)


@registry.handles("officer", commands.OFFICER)
async def officer_command(t: CommandTurn) -> list[Reply]:
    """`officer add|remove` by email as well as platform id: the email names the person the bot has met; the
    officers the service was started with (EOI_OFFICERS) can't be removed here."""
    rest, bootstrap = t.rest, t.officers
    sub, _, target = rest.strip().partition(" ")
    target = target.strip()
    if sub.casefold() in ("add", "remove") and "@" in target and ":" not in target:
        target, confirm = (target[: -len(" confirm")], " confirm") if target.endswith(" confirm") else (target, "")
        person = await decision_commands.find_person(t.session, target)
        if isinstance(person, Text):
            return [refuse(person)]
        replies = await officer_commands.officer_command(t, f"{sub} {person[0]}:{person[1]}{confirm}", bootstrap)
        said = replies[0].text.plain.replace(f"{person[0]}:{person[1]}", f"{target} ({person[0]}:{person[1]})", 1)
        replies[0].text = text_of(said)  # the officer commands' words here are plain
        return replies
    return await officer_commands.officer_command(t, rest, bootstrap)
