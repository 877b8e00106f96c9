"""The one entry point for every channel: a Turn in, neutral Replies out, state committed per turn."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import ClassVar

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from dialogs import (
    conversation_state,
    decision_commands,
    digest,
    discussion_notices,
    discussion_outcomes,
    discussion_replies,
    eoi_dialog,
    help,
    implementation,
    lifecycle_words,
    lookups,
    officer_commands,
    officer_status,
    references,
    report,
    window_commands,
)
from dialogs.actions import Action, Command, DiscussionReply, OpenForm, Unreadable
from dialogs.announcements import as_now
from dialogs.commands import COMMANDS, OFFICER_COMMANDS, has_prefix, parse_command
from dialogs.conversation_state import AwaitingTimes, CheckingAnswer, ConfirmingCancel, FillingIn
from dialogs.dates import DEFAULT_WORKING_HOURS, WorkingHours, format_datetime
from dialogs.glossary import ENHANCED_PROVISION_NOTE, mentions_enhanced_provision
from dialogs.lifecycle_words import refusal
from dialogs.questions import QuestionSet, eoi_questions
from dialogs.replies import Choice, Form, Reply, refuse, say
from dialogs.rich import md
from dialogs.telling import tell
from dialogs.turns import Speaker, Turn
from storage import audit, discussions, eois, events, notices, people, transitions
from storage.clock import Clock
from storage.db import Database
from storage.lifecycle import SCHOOL, judge
from storage.models import Notice, Person, School
from storage.windows import current_or_next, window_name

log = logging.getLogger("eoi-bot.turns")


def _switches_school(text: str) -> bool:
    """`school` or `school URN` switches school even in the middle of a dialog: no answer is just that."""
    cmd = parse_command(text)
    return cmd.name == "school" and bool(re.fullmatch(r"(\d{5,8})?", cmd.rest))


SchoolHandler = Callable[[eoi_dialog.EoiTurn, str], Awaitable[list[Reply]]]
OfficerHandler = Callable[[officer_commands.OfficerTurn, str], Awaitable[list[Reply]]]
ReplyHandler = Callable[[discussion_replies.ReplyTurn, str], Awaitable[list[Reply]]]
# Commands for whoever they concern (a panel member, a school or an officer): each checks who may, itself.
SharedHandler = Callable[[AsyncSession, Person, School | None, datetime, str], Awaitable[list[Reply]]]


class DroppedBeforeCommit(Exception):
    """The database dropped the turn's connection before its commit was sent: nothing of the turn was kept."""


class Conversations:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        officers: tuple[tuple[str, str], ...] = (),
        questions: QuestionSet | None = None,
        reach: window_commands.Reach | None = None,
        working_hours: WorkingHours = DEFAULT_WORKING_HOURS,
        wake: Callable[[], None] | None = None,
    ) -> None:
        self.db, self.clock, self.officers = db, clock, officers
        self.wake = wake  # the dispatcher's kick: called after a turn that queued a notice or changed a window
        self.working_hours = working_hours
        self.questions = questions or eoi_questions()
        self.officer_handlers: dict[str, OfficerHandler] = {
            "list": lookups.list_command,
            "show": lookups.show_command,
            "shortlist": officer_commands.shortlist_command,
            "not-shortlisted": officer_commands.not_shortlisted_command,
            "schedule": officer_commands.schedule_command,
            "cancel-discussion": officer_commands.cancel_discussion_command,
            "outcome": discussion_outcomes.outcome_command,
            "panel": decision_commands.panel_command,
            "decide": decision_commands.decide_command,
            "report": report.report_command,
            "reopen": officer_commands.reopen_command,
            "export": officer_commands.export_command,
            "link": officer_commands.link_command,
            "officer": lambda t, rest: lookups.officer_command(t, rest, self.officers),
            "window": lambda t, rest: window_commands.window_command(t, rest, reach),
            "need": window_commands.need_command,
            "deliveries": lambda t, rest: window_commands.deliveries_command(t, rest, reach),
            "notify": digest.notify_command,
        }
        # What a school's staff can do; each takes the turn at their school and the rest of the command.
        self.school_handlers: dict[str, SchoolHandler] = {
            "start": eoi_dialog.start,
            "status": lambda t, rest: self._status(t),
            "withdraw": self._withdraw,
            "answer": self._answer_from_form,
            "review": eoi_dialog.review_command,
            "amend": eoi_dialog.amend,
        }
        # A school's answer to a discussion invitation names its EOI, so it is taken from any school the person
        # acts for, chosen or not (dialogs.discussion_replies).
        self.reply_handlers: dict[str, ReplyHandler] = {
            "accept": discussion_replies.accept,
            "another-time": discussion_replies.another_time,
        }
        self.shared_handlers: dict[str, SharedHandler] = {
            "recommend": lambda session, person, school, now, rest: decision_commands.recommend_command(
                session, person, now, rest
            ),
            "done": implementation.done_command,
            "follow-up": discussion_outcomes.follow_up_command,
        }
        # Every registered command has exactly one handler (dialogs.commands.COMMANDS): checked here, once, so
        # no command can reach a missing one.
        handled = {
            *self.officer_handlers,
            *self.school_handlers,
            *self.shared_handlers,
            *self.reply_handlers,
            "help",
            "school",
        }
        registered = {c.name for c in COMMANDS}
        if handled != registered:
            raise ValueError(
                f"commands without a handler: {sorted(registered - handled)}; "
                f"handlers without a command: {sorted(handled - registered)}"
            )

    async def handle(self, turn: Turn) -> list[Reply]:
        replies = await self.handle_once(turn, "")
        assert replies is not None
        return replies

    async def handle_once(self, turn: Turn, key: str) -> list[Reply] | None:
        """Handle a platform delivery identified by `key` ("slack:Ev123") at most once: the key is recorded in
        the same transaction as the turn's changes. A redelivery returns None; a crash before the commit
        records neither, so the platform's own retry is handled as if it were the first.

        A connection the database dropped (a restart, a failover, an idle timeout) fails the first statement
        sent on it, and SQLAlchemy then discards every connection opened before: the turn runs once more, on a
        new one, rather than being apologised for; only when the drop came before its commit, so nothing of it
        was kept."""
        try:
            return await self._handle_once(turn, key)
        except DroppedBeforeCommit:
            log.warning("a database connection was dropped mid-turn; the turn runs again on a new one")
        return await self._handle_once(turn, key)

    async def _handle_once(self, turn: Turn, key: str) -> list[Reply] | None:
        async with self.db.session() as session:
            now = self.clock.now()
            try:
                if key and not await events.record(session, key, now):
                    return None
                person = await self._identify(session, turn.speaker, now)
                routed = await self._route(session, person, turn, now)
            except DBAPIError as error:
                if error.connection_invalidated:
                    raise DroppedBeforeCommit from error
                raise
            replies = self._lost_schools(person) + (await self._carried_forward(session, now)) + routed
            try:
                await session.commit()
            except IntegrityError:
                if not key:
                    raise
                return None  # the same delivery, handled by another worker a moment ago
            if self.wake is not None and notices.wake_dispatcher(session):
                self.wake()
            return replies

    async def _identify(self, session: AsyncSession, speaker: Speaker, now: datetime) -> Person:
        return await people.identify(
            session,
            platform=speaker.platform,
            user_id=speaker.user_id,
            display_name=speaker.display_name,
            email=speaker.email,
            officers=self.officers,
            now=now,
        )

    @staticmethod
    def _lost_schools(person: Person) -> list[Reply]:
        """Schools this person was unlinked from since their last turn (storage.people), said once."""
        key = f"{person.platform}:{person.user_id}"
        told = [
            say(
                md(
                    "You're no longer linked to {}: the school register now names a different headteacher "
                    "email. Ask an "
                    "ECC officer to link you (`link {} {}`) if you still act for the school.",
                    lost["name"],
                    key,
                    lost["urn"],
                )
            )
            for lost in person.lost_schools or []
        ]
        if told:
            person.lost_schools = []
        return told

    @staticmethod
    async def _carried_forward(session: AsyncSession, now: datetime) -> list[Reply]:
        """Drafts this turn moved to the next window (storage.eois.school_eoi): said to whoever triggered it,
        and to the school (its channel and staff) as a notice."""
        told = []
        for carried in eois.take_carried(session):
            reply = eoi_dialog.carried_forward(carried, now)
            await notices.to_school(
                session,
                school_urn=carried.school.urn,
                eoi_id=carried.eoi.id,
                kind="carried forward",
                now=now,
                body=reply.to_dict(),
            )
            told.append(say(reply.text))
        return told

    async def _which_school(self, session: AsyncSession, person: Person, then: str = "") -> list[Reply]:
        """Someone who acts for several schools chooses which one their turns are about."""
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

    async def _school_command(self, session: AsyncSession, person: Person, rest: str, now: datetime) -> list[Reply]:
        """`school` lists the schools this person acts for; `school URN` switches to one (and `school URN start`,
        what the choice buttons send, carries on with what they asked for)."""
        schools = await people.schools_of(session, person)
        key = f"{person.platform}:{person.user_id}"
        if not schools:
            if person.role == people.OFFICER:
                return [say(md("Officers don't act for a school; try `list submitted`, or *help*."))]
            return [help.stranger_help(key)]
        wanted, _, then = rest.strip().partition(" ")
        if not wanted:
            if len(schools) == 1:
                return [say(f"You act for {schools[0].name} (URN {schools[0].urn}).")]
            return await self._which_school(session, person)
        school = next((s for s in schools if s.urn == wanted), None)
        if school is None:
            audit.record(session, at=now, actor=key, action="refused", note=f"school {wanted[:40]}: not linked")
            return [
                refuse(f"You're not linked to a school with URN {wanted[:20]}."),
                *(await self._which_school(session, person) if len(schools) > 1 else []),
            ]
        people.choose_school(person, school)
        replies = [say(md("You're now acting for *{}*. Type *school* to switch.", school.name))]
        if then.strip() in ("start", "status"):
            replies += await self._command(session, person, school, then.strip(), now)
        return replies

    async def home(self, speaker: Speaker) -> list[Reply]:
        """Where things stand for this person, for a platform's home page: a headteacher sees their school's
        EOI status; an officer, what they can do; anyone else, how to get linked."""
        async with self.db.session() as session:
            now = self.clock.now()
            person = await self._identify(session, speaker, now)
            school = await session.get(School, person.school_urn) if person.school_urn else None
            replies = self._lost_schools(person)
            if school is not None:
                status = await self._status(eoi_dialog.EoiTurn(session, person, school, now, self.questions))
                replies += (await self._carried_forward(session, now)) + status
            elif person.role == people.HEADTEACHER:
                replies += await self._which_school(session, person, "status")
            elif person.role == people.OFFICER:
                replies += [help.officer_help()]
            else:
                replies += [help.stranger_help(f"{person.platform}:{person.user_id}")]
            await session.commit()
            if self.wake is not None and notices.wake_dispatcher(session):
                self.wake()
            return replies

    async def _times_take(
        self, session: AsyncSession, person: Person, school: School | None, text: str, explicit: bool, now: datetime
    ) -> list[Reply] | None:
        """Asked which times suit for a discussion (dialogs.discussion_replies): any message but a command."""
        if not explicit and not parse_command(text).name:
            return await discussion_replies.on_times(self._reply_turn(session, person, now), text)
        discussion_replies.stop_waiting(person)  # a command instead: the question is dropped
        return None

    async def _eoi_dialog_takes(
        self, session: AsyncSession, person: Person, school: School | None, text: str, explicit: bool, now: datetime
    ) -> list[Reply] | None:
        """In the EOI dialog: a message is read as the answer to the question asked, except a command typed with a
        prefix, `school URN`, and a command naming an EOI or provision (`start EOI-…`, `start PP`). With its EOI no
        longer a draft, the dialog ends there."""
        provisions = self.questions.get(eoi_dialog.PROVISION_QUESTION)
        mid = provisions is not None and references.command_mid_question(text, provisions.choices, provisions.aliases)
        if school is None or explicit or _switches_school(text) or mid:
            return None
        eoi = await eois.school_eoi(session, school, now, current=eoi_dialog.current_id(person))
        t = eoi_dialog.EoiTurn(session, person, school, now, self.questions)
        if eoi is None or eoi.status != eois.DRAFT:
            eoi_dialog.leave(t)
            return None
        if text.casefold() == "start":  # what "save" promises: carry on where you left off
            return await eoi_dialog.start(t)
        if text.casefold() == "status":
            here = await eois.school_eois(session, school, now)  # all of them: an RP and a PP are two
            return [*await eoi_dialog.statuses(t, here), await eoi_dialog.resume(t, eoi)]
        return await eoi_dialog.on_text(t, eoi, text)

    # Which conversation takes a message, by the state the person is in.
    _conversations: ClassVar[dict[type, Callable[..., Awaitable[list[Reply] | None]]]] = {
        AwaitingTimes: _times_take,
        FillingIn: _eoi_dialog_takes,
        CheckingAnswer: _eoi_dialog_takes,
        ConfirmingCancel: _eoi_dialog_takes,
    }

    async def _route(self, session: AsyncSession, person: Person, turn: Turn, now: datetime) -> list[Reply]:
        if turn.action:
            return await self._on_action(session, person, turn.action, now)
        text = (turn.text or "").strip()
        notes = [say(ENHANCED_PROVISION_NOTE)] if mentions_enhanced_provision(text) else []
        school = await session.get(School, person.school_urn) if person.school_urn else None
        explicit = turn.command or has_prefix(text)
        # The conversation the person's state is in (dialogs.conversation_state) takes the message first; Idle is
        # in none. One that doesn't take it (a command instead: its fallback) leaves the message to the commands.
        conversation = self._conversations.get(type(conversation_state.of(person)))
        if conversation is not None:
            taken = await conversation(self, session, person, school, text, explicit, now)
            if taken is not None:
                return notes + taken
        return notes + await self._command(session, person, school, text, now)

    async def _command(
        self, session: AsyncSession, person: Person, school: School | None, text: str, now: datetime
    ) -> list[Reply]:
        cmd = parse_command(text)
        key = f"{person.platform}:{person.user_id}"
        if cmd.name in OFFICER_COMMANDS:
            if person.role != people.OFFICER:
                audit.record(session, at=now, actor=key, action="refused", note=f"officer command: {text[:200]}")
                return [
                    refuse(
                        md(
                            "Sorry, `{}` is for ECC officers only. Type *help* to see what you can do.",
                            cmd.name,
                        )
                    )
                ]
            handler = self.officer_handlers[cmd.name]
            return await handler(officer_commands.OfficerTurn(session, person, now, self.working_hours), cmd.rest)
        if cmd.name in self.shared_handlers:
            return await self.shared_handlers[cmd.name](session, person, school, now, cmd.rest)
        if cmd.name == "help" or (not cmd.name and not text):
            if person.role == people.OFFICER:
                return [help.officer_help()]
            return [help.headteacher_help() if person.role == people.HEADTEACHER else help.stranger_help(key)]
        if cmd.name == "school":
            return await self._school_command(session, person, cmd.rest, now)
        if cmd.name in self.reply_handlers:
            return await self.reply_handlers[cmd.name](self._reply_turn(session, person, now), cmd.rest)
        if cmd.name in self.school_handlers:
            if school is None:
                if person.role == people.HEADTEACHER:  # acts for several schools and hasn't chosen one yet
                    return await self._which_school(session, person, cmd.name if cmd.name != "answer" else "start")
                if person.role == people.OFFICER:
                    if cmd.name == "status":  # an officer's status: ECC's own next steps in implementation
                        return await officer_status.status(session, now)
                    return [say(md("Officers don't fill in EOIs; try `list submitted`, or *help*."))]
                return [help.stranger_help(key)]
            t = eoi_dialog.EoiTurn(session, person, school, now, self.questions)
            return await self.school_handlers[cmd.name](t, cmd.rest)
        if not cmd.name and (mentions_enhanced_provision(text)):
            return []
        if person.role == people.OFFICER:
            return [refuse(f"I don't know the command “{cmd.word}”."), help.officer_help()]
        if person.role == people.HEADTEACHER:
            hint = md(
                "Type *start* to begin or carry on your school's EOI, *status* to see where it is, or *help*.",
            )
            return [refuse(md("I don't know “{}”. {}", cmd.word[:40], hint))]
        return [help.stranger_help(key)]

    async def _answer_from_form(self, t: eoi_dialog.EoiTurn, rest: str) -> list[Reply]:
        eoi = await eoi_dialog.current(t)
        if eoi is None or eoi.status != eois.DRAFT:
            return [say(md("There is no draft to answer: type *start* to begin, or *status*."))]
        qid, _, text = rest.partition(" ")
        return await eoi_dialog.answer_from_form(t, eoi, qid, text)

    async def _status(self, t: eoi_dialog.EoiTurn) -> list[Reply]:
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

    async def _withdraw(self, t: eoi_dialog.EoiTurn, rest: str) -> list[Reply]:
        eoi = await eoi_dialog.named_or_current(t, rest)  # another school's EOI is refused there, audited
        if isinstance(eoi, Reply):
            return [eoi]
        words = rest.split()
        if eoi is None:
            return [say(f"{t.school.name} has no EOI to withdraw.")]
        moment = await eois.moment(t.session, eoi, t.now)
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
                told=md(
                    "{} withdrew {}, so its discussion with ECC on *{}* is cancelled.", t.school.name, eoi.ref, when
                ),
                now=t.now,
            )
            called_off = (
                f" Its discussion on {when} is cancelled, and the school has been sent the calendar cancellation."
            )
        told = say(f"{t.school.name} withdrew {eoi.ref}.{called_off}", kind="notice")
        await tell(t.session, "withdraw", before, eoi, t.school, now=t.now, officers_hear=[("withdrawn", told)])
        cancelled = (
            " Its discussion with ECC is cancelled (a calendar cancellation is on its way)." if discussion else ""
        )
        then = await eoi_dialog.where_it_stands(t.session, eoi, t.now, say_state=False)
        return [say(md("{} is withdrawn. ECC has been told.{} {}", eoi.ref, cancelled, then))]

    async def _on_action(self, session: AsyncSession, person: Person, pressed: Action, now: datetime) -> list[Reply]:
        key = f"{person.platform}:{person.user_id}"
        school = await session.get(School, person.school_urn) if person.school_urn else None
        shown = None  # the EOI the button was shown for (buttons from before they said act on the current one)
        if pressed.shown is not None:
            shown = await eoi_dialog.still_as_shown(session, person, school, now, pressed.shown)
            if isinstance(shown, Reply):
                return [shown]
        match pressed:
            case Unreadable(reason):
                # Forged, cut short or from another program: said plainly, recorded, nothing changed.
                audit.record(session, at=now, actor=key, action="refused", note=f"unreadable button: {reason[:150]}")
                return [
                    refuse(
                        md(
                            "I can't read that button, so I've done nothing. Type *help* to see what you can do.",
                        )
                    )
                ]
            case Command(text):
                return await self._command(session, person, school, text, now)
            case DiscussionReply(answer, ref):
                return await self._discussion_reply(session, person, answer, ref, now)
            case OpenForm():
                return [say("Use the form to fill that in.")]
        if school is None and person.role == people.HEADTEACHER:
            return [say("Which school is that for?"), *await self._which_school(session, person, "start")]
        if school is None:
            note = f"dialog action without a school: {pressed}"[:200]
            audit.record(session, at=now, actor=key, action="refused", note=note)
            return [
                refuse("That button is for a school's EOI, and you're not linked to a school."),
                help.stranger_help(key),
            ]
        eoi = shown or await eois.school_eoi(session, school, now, current=eoi_dialog.current_id(person))
        t = eoi_dialog.EoiTurn(session, person, school, now, self.questions)
        if eoi is None:
            # Nothing in this window to answer for: where things stand (a new EOI is begun only when asked for).
            return [say("That button is from an earlier message."), *await self._status(t)]
        return await eoi_dialog.on_action(t, eoi, pressed)

    def _reply_turn(self, session: AsyncSession, person: Person, now: datetime) -> discussion_replies.ReplyTurn:
        return discussion_replies.ReplyTurn(session, person, now, self.working_hours)

    async def form_as_now(self, speaker: Speaker, form: Form) -> Form:
        """A form filled in with what is known now (a question's larger box holds its current answer). For a
        channel whose buttons can't carry a long answer (Slack's 2,000 characters), asked when one is pressed.
        Reads only: nothing is committed."""
        if not form.command.startswith("answer "):
            return form
        async with self.db.session() as session:
            now = self.clock.now()
            person = await self._identify(session, speaker, now)
            school = await session.get(School, person.school_urn) if person.school_urn else None
            eoi = await eois.school_eoi(session, school, now, current=eoi_dialog.current_id(person)) if school else None
            if eoi is None or school is None:
                return form
            t = eoi_dialog.EoiTurn(session, person, school, now, self.questions)
            return eoi_dialog.form_as_now(t, eoi, form)

    async def _discussion_reply(
        self, session: AsyncSession, person: Person, answer: str, ref: str, now: datetime
    ) -> list[Reply]:
        """Invitations sent before answers were commands carry `reply|accept|REF` / `reply|another|REF`."""
        if not ref:
            return [refuse("That invitation isn't for your school.")]
        t = self._reply_turn(session, person, now)
        if answer == "accept":
            return await discussion_replies.accept(t, ref)
        return await discussion_replies.another_time(t, ref)

    async def pending_notices(
        self, *, destination: str, audience: str, school_urn: str | None, recipient: str = ""
    ) -> list[Notice]:
        """Notices not yet delivered to this destination (and, with `recipient`, those for that one person);
        marks them delivered (the console's outbox)."""
        async with self.db.session() as session:
            found = await notices.undelivered(
                session, destination=destination, audience=audience, school_urn=school_urn, recipient=recipient
            )
            now = self.clock.now()
            for notice in found:
                notices.mark_delivered(session, notice, destination=destination, now=now)
            await session.commit()
            return [await as_now(session, notice, now) for notice in found]  # a late-read announcement: closed
