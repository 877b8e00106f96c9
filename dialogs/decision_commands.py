"""A decision with stakeholders: `panel` (an officer asks officers and stakeholders), `recommend` (each member,
in their own channel), and `decide` (an officer records it with a reason the school sees). The school sees
"under consideration" meanwhile; `show` says who recommended what."""

from __future__ import annotations

import re

from sqlalchemy.ext.asyncio import AsyncSession

from dialogs import discussion_notices, implementation, references
from dialogs.actions import Command, OpenForm
from dialogs.commands import OFFICER, PANEL
from dialogs.dates import format_datetime
from dialogs.lifecycle_words import refusal
from dialogs.officer_commands import officer_actions
from dialogs.officer_turn import PLATFORM_NAMES, CommandTurn, eoi_or_refuse, tell_school
from dialogs.registry import handles
from dialogs.replies import Choice, Fact, Form, FormField, Reply, refuse, say
from dialogs.rich import Text, md, rich, text_of
from dialogs.telling import tell
from storage import audit, eois, notices, panel, people
from storage.lifecycle import SCHOOL, UNDER_CONSIDERATION
from storage.models import EOI, Person, Recommendation, School

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PLATFORM_ID = re.compile(r"^(slack|msteams|console):\S+$", re.IGNORECASE)
# What each recommendation reads as, for members and officers.
SAID = {"approve": "approve", "decline": "decline", "abstain": "abstain", "": "not yet recommended"}
MIN_REASON = 5
PANEL_EXAMPLE = "panel EOI-2627A-001 me as SEND quadrant lead, finance@essex.gov.uk as finance"


async def find_person(session: AsyncSession, who: str) -> tuple[str, str] | Text:
    """A person named by platform id (`slack:U0123`, `msteams:29:…`, `console:pat`) or by the email their
    platform gave us: ("platform", "user id"), or why not (to say to the officer)."""
    who = who.strip().strip("<>")
    if PLATFORM_ID.match(who):
        platform, _, user_id = who.partition(":")
        return platform.casefold(), user_id
    if EMAIL.match(who):
        found = await people.by_email(session, who)
        if not found:
            return md(
                "I can't reach {} yet: nobody with that email has used the bot in Slack or Teams (I learn "
                "emails from their profiles when they first message me). Ask them to say *hi* to the bot, or "
                "name them by platform id, e.g. `slack:U0123ABCD`.",
                who,
            )
        if len({(p.platform, p.user_id) for p in found}) > 1:
            named = ", ".join(f"{p.platform}:{p.user_id}" for p in found)
            return text_of(
                f"{who} uses the bot as more than one person ({named}): name the one you mean by platform id."
            )
        return found[0].platform, found[0].user_id
    return md("“{}” isn't a platform id (`slack:U0123ABCD`, `msteams:29:…`) or an email address.", who)


def _member_name(key: str, names: dict[str, str]) -> str:
    platform = key.split(":", 1)[0]
    return f"{names[key]} ({PLATFORM_NAMES.get(platform, platform)})" if key in names else key


def recommend_choices(ref: str) -> list[Choice]:
    """Approve, decline or abstain, each asking for the reason (a Slack modal, a Teams card, typed in the
    console as `recommend REF approve REASON`)."""
    choices = []
    for word, label, style in (
        ("approve", "Approve", "primary"),
        ("decline", "Decline", "danger"),
        ("abstain", "Abstain", ""),
    ):
        form = Form(
            title=f"Recommend {word}: {ref}",
            command=f"recommend {ref} {word}",
            submit_label=f"Recommend {word}",
            fields=(FormField("reason", "Your reason (ECC officers see it)", multiline=True),),
        )
        choices.append(Choice(label, OpenForm("recommend", f"{ref} {word}"), style=style, form=form))
    return choices


@handles("panel", OFFICER)
async def panel_command(t: CommandTurn) -> list[Reply]:
    """`panel REF MEMBER [as ROLE], MEMBER [as ROLE]…`: the EOI goes to a decision panel (it is under
    consideration); each member is asked for a recommendation in their own chat. `panel REF` shows it."""
    rest = t.rest
    ref, _, who = rest.strip().partition(" ")
    found = await eoi_or_refuse(t, ref, "panel", who)
    if isinstance(found, Reply):
        if found.kind != "error":
            return [found]
        return [refuse(found.text + md(" For example: `{}`.", PANEL_EXAMPLE))]
    eoi, school = found
    if not who.strip():
        return [await panel_summary(t.session, eoi, school)]
    members: list[panel.Member] = []
    for part in (p.strip() for p in re.split(r"[,;\n]", who) if p.strip()):
        named = re.match(r"^(.*?)\s+as\s+(.+)$", part, re.IGNORECASE)
        name, role = (named.group(1), named.group(2)) if named else (part, "")
        person = (t.person.platform, t.person.user_id) if name.strip().casefold() == "me" else None
        person = person or await find_person(t.session, name)
        if isinstance(person, Text):
            return [refuse(person + md(" Nothing has changed. For example: `{}`.", PANEL_EXAMPLE))]
        members.append(panel.Member(f"{person[0]}:{person[1]}", " ".join(role.split())))
    if eoi.status != UNDER_CONSIDERATION and not eois.can("consider", eoi.status):
        return [refuse(refusal(eois.NotAllowed(eoi.ref or "", eoi.status, "consider", "state")))]
    first = eoi.status != UNDER_CONSIDERATION
    before = eoi.status
    try:
        added = await panel.ask(t.session, eoi, members, actor=t.actor, now=t.now)
    except eois.Refused as refused:
        return [refuse(refusal(refused))]
    for row in added:
        await notices.to_person(
            t.session,
            recipient=row.member,
            eoi_id=eoi.id,
            kind="recommendation asked",
            now=t.now,
            body=await _ask_member(t.session, eoi, school, row, t.person),
        )
    if first:
        await tell_school(
            t,
            "consider",
            before,
            eoi,
            school,
            "under consideration",
            Reply(
                kind="notice",
                title=f"{eoi.ref}: under consideration",
                text=md(
                    "Your expression of interest {} is *under consideration*: ECC is deciding with its stakeholders "
                    "(such as the SEND quadrant lead and finance). We'll tell you the decision and the reasons here.",
                    eoi.ref,
                ),
            ),
        )
    names = await people.names_of(t.session, {r.member for r in added})
    asked = ", ".join(_member_name(r.member, names) + (f" ({r.role})" if r.role else "") for r in added)
    text = f"{eoi.ref} is under consideration. Asked for a recommendation: {asked or 'nobody new (all already asked)'}."
    if first:
        text += f" {school.name} has been told it is under consideration."
    return [say(text, choices=await officer_actions(t.session, eoi, t.now))]


async def _ask_member(session: AsyncSession, eoi: EOI, school: School, row: Recommendation, asker: Person) -> dict:
    role = f" as {row.role}" if row.role else ""
    offer = implementation.offer_words(eoi)
    return Reply(
        kind="notice",
        title=f"{eoi.ref}: your recommendation, please",
        text=md(
            "{} has asked you{} to recommend whether ECC should approve the expression of interest {} from {} "
            "({}, {}). Choose approve, decline or abstain and give your reason; ECC officers see it, and the "
            "decision is theirs. Or type `recommend {} approve|decline|abstain REASON`.",
            asker.display_name or "An ECC officer",
            role,
            eoi.ref,
            school.name,
            offer,
            school.district,
            eoi.ref,
        ),
        choices=recommend_choices(eoi.ref or ""),
    ).to_dict()


@handles("recommend", PANEL)
async def recommend_command(t: CommandTurn) -> list[Reply]:
    """`recommend REF approve|decline|abstain REASON`, by a member of the EOI's open panel."""
    session, person, now, rest = t.session, t.person, t.now, t.rest
    ref, _, tail = rest.strip().partition(" ")
    word, _, reason = tail.strip().partition(" ")
    word = {"approved": "approve", "declined": "decline", "abstained": "abstain"}.get(word.casefold(), word.casefold())
    usage = "recommend {} approve The need in Colchester is high and the offer is strong"
    eoi = await references.by_ref(session, ref) if ref else None
    key = f"{person.platform}:{person.user_id}"
    if eoi is None:
        return [
            refuse(
                md(
                    "Which EOI? Give its reference and your recommendation, e.g. `{}`.",
                    usage.format(ref or "EOI-2627A-001"),
                )
            )
        ]
    if word not in panel.RECOMMENDATIONS:
        message = md("Say approve, decline or abstain, e.g. `{}`.", usage.format(eoi.ref or ref))
        return [refuse(message, field_errors={"reason": message})]
    reason = reason.strip()
    if len(reason) < MIN_REASON:
        message = md("Please give your reason: `recommend {} {} REASON`.", eoi.ref, word)
        return [refuse(message, field_errors={"reason": "Your reason is needed."})]
    try:
        await panel.recommend(session, eoi, member=key, recommendation=word, reason=reason, now=now)
    except panel.NotOnPanel:
        audit.record(session, at=now, actor=key, action="refused", eoi_id=eoi.id, note="recommend: not on panel")
        return [refuse(f"You're not on a decision panel for {eoi.ref} that is still open, so I can't record that.")]
    rows = await panel.open_panel(session, eoi.id)
    given = sum(1 for r in rows if r.recommendation)
    school = await session.get(School, eoi.school_urn)
    who = person.display_name or key
    await notices.to_officers(
        session,
        kind="recommendation",
        now=now,
        eoi_id=eoi.id,
        school_urn=eoi.school_urn,
        body=say(
            md(
                "{} recommends *{}* for {} ({}): {}\n{} of {} on the panel have recommended.",
                who,
                word,
                eoi.ref,
                school.name if school else eoi.school_urn,
                reason,
                given,
                len(rows),
            ),
            kind="notice",
            choices=[Choice("Show", Command(f"show {eoi.ref}"))],
        ).to_dict(),
    )
    return [say(f"Thank you: your recommendation ({word}) on {eoi.ref} is recorded, and ECC officers have been told.")]


def _tally(rows: list[Recommendation]) -> str:
    """' The panel recommended: 2 approve, 1 not yet recommended.' (empty without a panel)."""
    if not rows:
        return ""
    counts = {word: sum(1 for r in rows if r.recommendation == word) for word in SAID}  # in SAID's order
    return " The panel recommended: " + ", ".join(f"{n} {SAID[w]}" for w, n in counts.items() if n) + "."


async def panel_facts(session: AsyncSession, eoi: EOI) -> list[Fact]:
    """Who recommended what: the open panel, or the one the last decision took."""
    facts = []
    decision = await panel.latest_decision(session, eoi.id)
    rows = await panel.open_panel(session, eoi.id)
    label = "Decision panel"
    if not rows and decision is not None:
        rows, label = await panel.decided_panel(session, decision.id), "Panel's recommendations"
    keys = {r.member for r in rows} | ({decision.decided_by} if decision else set())
    names = await people.names_of(session, keys)
    if rows:
        lines = [
            f"• {_member_name(r.member, names)}{', ' + r.role if r.role else ''}: {SAID[r.recommendation]}"
            + (f" ({format_datetime(r.answered_at)}): {r.reason}" if r.answered_at else "")
            for r in rows
        ]
        facts.append(Fact(label, "\n".join(lines)))
    if decision is not None and eoi.status in (eois.APPROVED, eois.DECLINED, eois.OPENED):
        facts.append(
            Fact(
                "Decision",
                f"{decision.outcome} by {_member_name(decision.decided_by, names)} on "
                f"{format_datetime(decision.decided_at)}" + (f": {decision.note}" if decision.note else ""),
            )
        )
    return facts


async def panel_summary(session: AsyncSession, eoi: EOI, school: School) -> Reply:
    facts = await panel_facts(session, eoi)
    if not facts:
        return say(
            md(
                "{} has no decision panel. Ask one: `{}`.",
                eoi.ref,
                PANEL_EXAMPLE.replace("EOI-2627A-001", eoi.ref or ""),
            )
        )
    return Reply(text=f"{eoi.ref}: {school.name} · {eoi.status}", kind="summary", title=eoi.ref or "", facts=facts)


@handles("decide", OFFICER)
async def decide_command(t: CommandTurn) -> list[Reply]:
    """`decide REF approve|decline [reason]`: the decision, with the reason the school sees (needed to decline).
    A decline calls off a pending discussion (the school is told); an approval starts the implementation plan."""
    rest = t.rest
    ref, _, tail = rest.strip().partition(" ")
    outcome, _, note = tail.strip().partition(" ")
    found = await eoi_or_refuse(t, ref, "decide", tail)
    if isinstance(found, Reply):
        return [found]
    eoi, school = found
    outcome = {"approve": "approve", "approved": "approve", "decline": "decline", "declined": "decline"}.get(
        outcome.casefold(), ""
    )
    note = note.strip()
    if not outcome:
        message = md("Say approve or decline, e.g. `decide {} approve Opening September 2027`.", eoi.ref)
        return [refuse(message, field_errors={"outcome": message})]
    if outcome == "decline" and len(note) < MIN_REASON:
        message = md(
            "A decline needs a reason for the school: `decide {} decline The panel found the accommodation won't be "
            "ready in time`. Nothing has changed.",
            eoi.ref,
        )
        return [refuse(message, field_errors={"note": "A reason is needed to decline."})]
    tally = _tally(await panel.open_panel(t.session, eoi.id))
    before = eoi.status
    try:
        decided = await eois.decide(t.session, eoi, outcome=outcome, note=note, actor=t.actor, now=t.now)
    except eois.Refused as refused:
        return [refuse(refusal(refused))]
    if decided.decision.outcome == eois.APPROVED:
        text = md(
            "ECC has *approved* your expression of interest {}. Support continues through implementation: your "
            "plan is below, and `status` shows your next steps.",
            eoi.ref,
        )
    else:
        text = text_of(f"ECC has decided not to go ahead with your expression of interest {eoi.ref} this time.")
    # A discussion whose time had come when the decision was made took place: said as such, never "cancelled".
    held = await eois.current_discussion(t.session, eoi.id)
    if held is not None and held.starts_at <= t.now:
        text += f" The decision follows your discussion with ECC on {format_datetime(held.starts_at)}."
    if note:
        text += f"\n{'Why' if outcome == 'decline' else 'Note from ECC'}: {note}"
    facts = await implementation.plan_facts(t.session, eoi, t.now) if outcome == "approve" else []
    choices = await implementation.done_choices(t.session, eoi, by=SCHOOL, now=t.now) if outcome == "approve" else []
    title = f"{eoi.ref}: {decided.decision.outcome}"
    told = [("decision", Reply(kind="notice", title=title, text=text, facts=facts, choices=choices))]
    replies = [say(f"Recorded: {eoi.ref} {decided.decision.outcome}. {school.name} has been told.{tally}")]
    if decided.called_off is not None:
        when = format_datetime(decided.called_off.starts_at)
        # The school is told, with the calendar's CANCEL for the event it was invited to.
        told += await discussion_notices.called_off_notices(
            t.session,
            decided.called_off,
            eoi,
            school,
            told=md("The discussion of {} on *{}* is cancelled: ECC has made its decision.", eoi.ref, when),
            now=t.now,
        )
        replies[0].text += f" Its discussion on {when} is cancelled, and the school has been told that too."
    await tell(t.session, decided.event, before, eoi, school, now=t.now, school_hears=told)
    if outcome == "approve":
        replies[0].text += md(" Its implementation plan has started: `show {}`, or `list implementing`.", eoi.ref)
        if decided.planned is not None:
            warned = implementation.flags(decided.planned, eoi)
            if warned.plain:
                replies[0].text += rich("\n", warned)
    return replies
