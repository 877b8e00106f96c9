"""The one entry point for every channel: a Turn in, neutral Replies out, state committed per turn."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import ClassVar

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

# Every module that registers a command's handler (dialogs.registry.handles), imported so that it has.
from dialogs import (  # noqa: F401
    chasing,
    conversation_state,
    decision_commands,
    digest,
    discussion_outcomes,
    discussion_replies,
    eoi_dialog,
    help,
    implementation,
    lookups,
    officer_commands,
    references,
    report,
    school_status,
    schools,
    shortlisting,
    window_commands,
    withdrawal,
)
from dialogs.actions import Action, Command, DiscussionReply, OpenForm, SubmitForm, Unreadable
from dialogs.announcements import as_now
from dialogs.commands import COMMANDS, OFFICER, ParsedCommand, has_prefix, parse_command
from dialogs.conversation_state import AwaitingTimes, CheckingAnswer, CheckingStep, ConfirmingCancel, FillingIn
from dialogs.dates import DEFAULT_WORKING_HOURS, WorkingHours
from dialogs.glossary import mentions_enhanced_provision, name_notes
from dialogs.officer_turn import CommandTurn
from dialogs.questions import QuestionSet, eoi_questions
from dialogs.registry import Registered, registered, unhandled
from dialogs.replies import Form, Reply, refuse, say
from dialogs.rich import md
from dialogs.turns import Speaker, Turn
from storage import audit, eois, events, notices, people
from storage.audiences import Reach
from storage.clock import Clock
from storage.db import Database
from storage.models import Notice, Person, School

log = logging.getLogger("eoi-bot.turns")


def _switches_school(text: str) -> bool:
    """`school` or `school URN` switches school even in the middle of a dialog: no answer is just that."""
    cmd = parse_command(text)
    return cmd.name == "school" and bool(re.fullmatch(r"(\d{5,8})?", cmd.rest))


# A channel's own writes for a delivery, made in the turn's transaction (bot.turn_runner.Inbound.keep).
Keep = Callable[[AsyncSession, datetime], Awaitable[None]]


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
        reach: Reach | None = None,
        working_hours: WorkingHours = DEFAULT_WORKING_HOURS,
        wake: Callable[[], None] | None = None,
        email: bool = False,
    ) -> None:
        self.db, self.clock, self.officers = db, clock, officers
        self.email = email  # whether email is sent (a school's copy goes to its contact email too)
        self.wake = wake  # the dispatcher's kick: called after a turn that queued a notice or changed a window
        self.working_hours = working_hours
        self.questions = questions or eoi_questions()
        self.reach = reach  # how schools are reached, for `window` and `deliveries`
        # Every registered command has exactly one handler, registered with it by its module
        # (dialogs.registry.handles): checked here, once, so no command can reach a missing one.
        missing = unhandled(COMMANDS)
        if missing:
            raise ValueError(f"commands without a handler: {missing}")

    async def handle(self, turn: Turn) -> list[Reply]:
        replies = await self.handle_once(turn, "")
        assert replies is not None
        return replies

    async def handle_once(self, turn: Turn, key: str, *, keep: Keep | None = None) -> list[Reply] | None:
        """Handle a platform delivery identified by `key` ("slack:Ev123") at most once: the key is recorded in
        the same transaction as the turn's changes. A redelivery returns None; a crash before the commit
        records neither, so the platform's own retry is handled as if it were the first.

        A connection the database dropped (a restart, a failover, an idle timeout) fails the first statement
        sent on it, and SQLAlchemy then discards every connection opened before: the turn runs once more, on a
        new one, rather than being apologised for; only when the drop came before its commit, so nothing of it
        was kept.

        `keep` is the channel's own record of the delivery (where to reach the speaker later), written in the
        turn's transaction."""
        try:
            return await self._handle_once(turn, key, keep)
        except DroppedBeforeCommit:
            log.warning("a database connection was dropped mid-turn; the turn runs again on a new one")
        return await self._handle_once(turn, key, keep)

    async def _handle_once(self, turn: Turn, key: str, keep: Keep | None = None) -> list[Reply] | None:
        async with self.db.session() as session:
            now = self.clock.now()
            try:
                if key and not await events.record(session, key, now):
                    return None
                if keep is not None:
                    await keep(session, now)
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

    async def home(self, speaker: Speaker) -> list[Reply]:
        """Where things stand for this person, for a platform's home page: a headteacher sees their school's
        EOI status; an officer, what they can do; anyone else, how to get linked."""
        async with self.db.session() as session:
            now = self.clock.now()
            person = await self._identify(session, speaker, now)
            school = await session.get(School, person.school_urn) if person.school_urn else None
            replies = self._lost_schools(person)
            if school is not None:
                status = await school_status.school_status(
                    eoi_dialog.EoiTurn(session, person, school, now, self.questions, email=self.email)
                )
                replies += (await self._carried_forward(session, now)) + status
            elif person.role == people.HEADTEACHER:
                replies += await schools.which_school(session, person, "status")
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
        t = eoi_dialog.EoiTurn(session, person, school, now, self.questions, email=self.email)
        if eoi is None or eoi.status != eois.DRAFT:
            eoi_dialog.leave(t)
            return None
        if text.casefold() == "start":  # what "save" promises: carry on where you left off
            return await eoi_dialog.start(t)
        if text.casefold() == "status":
            here = await eois.school_eois(session, school, now)  # all of them: an RP and a PP are two
            return [*await eoi_dialog.statuses(t, here), await eoi_dialog.resume(t, eoi)]
        return await eoi_dialog.on_text(t, eoi, text)

    async def _step_check_takes(
        self, session: AsyncSession, person: Person, school: School | None, text: str, explicit: bool, now: datetime
    ) -> list[Reply] | None:
        """An officer asked to check a step first (CheckingStep): yes or no typed does what its button does; any
        other message is read afresh. Asked once: the question is dropped whatever comes."""
        state = conversation_state.of(person)
        assert isinstance(state, CheckingStep)
        conversation_state.keep(person, conversation_state.idle(state))
        said = " ".join(text.casefold().strip(" .!").split())
        if explicit or said not in (*eoi_dialog.YES_WORDS, *eoi_dialog.NO_WORDS):
            return None
        command = state.yes if said in eoi_dialog.YES_WORDS else state.no
        return await self._command(session, person, school, command, now)

    # Which conversation takes a message, by the state the person is in.
    _conversations: ClassVar[dict[type, Callable[..., Awaitable[list[Reply] | None]]]] = {
        AwaitingTimes: _times_take,
        CheckingStep: _step_check_takes,
        FillingIn: _eoi_dialog_takes,
        CheckingAnswer: _eoi_dialog_takes,
        ConfirmingCancel: _eoi_dialog_takes,
    }

    async def _route(self, session: AsyncSession, person: Person, turn: Turn, now: datetime) -> list[Reply]:
        if turn.files:
            return await self._files(session, person, turn, now)
        if turn.action:
            state = conversation_state.of(person)
            if isinstance(state, CheckingStep):  # answered by a button (or another pressed): asked once
                conversation_state.keep(person, conversation_state.idle(state))
            return await self._on_action(session, person, turn.action, now)
        text = (turn.text or "").strip()
        notes = [say(note) for note in name_notes(text, answering=True)]
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

    async def _files(self, session: AsyncSession, person: Person, turn: Turn, now: datetime) -> list[Reply]:
        """Files sent: evidence for the school's draft EOI, when it is asking for them (dialogs.eoi_dialog.on_files).
        Any words sent with them are not read as an answer: the files are what the message was for."""
        school = await session.get(School, person.school_urn) if person.school_urn else None
        if school is None:
            return [refuse("I keep files only as part of a school's EOI, so nothing was kept.")]
        eoi = await eois.school_eoi(session, school, now, current=eoi_dialog.current_id(person))
        return await eoi_dialog.on_files(
            eoi_dialog.EoiTurn(session, person, school, now, self.questions, email=self.email), eoi, turn.files
        )

    async def _command(
        self,
        session: AsyncSession,
        person: Person,
        school: School | None,
        text: str,
        now: datetime,
        *,
        cmd: ParsedCommand | None = None,
        values: dict[str, str] | None = None,
    ) -> list[Reply]:
        """The command `text` names (or `cmd`, already read), run by its registered handler."""
        cmd = cmd or parse_command(text)
        key = f"{person.platform}:{person.user_id}"
        if not cmd.name and not text:
            cmd = ParsedCommand("help", "", "")
        found = registered(cmd.name)
        if found is not None:
            t = CommandTurn(
                session,
                person,
                now,
                self.working_hours,
                school=school,
                rest=cmd.rest,
                questions=self.questions,
                officers=self.officers,
                reach=self.reach,
                values=values or {},
                email=self.email,
            )
            return await self._run(found, t, text)
        if not cmd.name and name_notes(text):
            return [say(note) for note in name_notes(text) if not mentions_enhanced_provision(text)]
        if person.role == people.OFFICER:
            return [refuse(f"I don't know the command “{cmd.word}”."), help.officer_help()]
        if person.role == people.HEADTEACHER:
            hint = md(
                "Type *start* to begin or carry on your school's EOI, *status* to see where it is, or *help*.",
            )
            return [refuse(md("I don't know “{}”. {}", cmd.word[:40], hint))]
        return [help.stranger_help(key)]

    async def _run(self, found: Registered, t: CommandTurn, text: str) -> list[Reply]:
        """A registered command's handler, for whoever the command's `who` allows: an officer's command is
        refused to anyone else (audited); a command at the speaker's school waits for them to choose one."""
        if found.spec.who == OFFICER and t.person.role != people.OFFICER:
            audit.record(t.session, at=t.now, actor=t.actor, action="refused", note=f"officer command: {text[:200]}")
            return [
                refuse(md("Sorry, `{}` is for ECC officers only. Type *help* to see what you can do.", found.spec.name))
            ]
        if found.at_school and t.school is None:
            return await schools.no_school_chosen(t, found.spec.name)
        return await found.handler(t)

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
            case SubmitForm():
                return await self._submitted(session, person, school, pressed, now)
        if school is None and person.role == people.HEADTEACHER:
            return [say("Which school is that for?"), *await schools.which_school(session, person, "start")]
        if school is None:
            note = f"dialog action without a school: {pressed}"[:200]
            audit.record(session, at=now, actor=key, action="refused", note=note)
            return [
                refuse("That button is for a school's EOI, and you're not linked to a school."),
                help.stranger_help(key),
            ]
        eoi = shown or await eois.school_eoi(session, school, now, current=eoi_dialog.current_id(person))
        t = eoi_dialog.EoiTurn(session, person, school, now, self.questions, email=self.email)
        if eoi is None:
            # Nothing in this window to answer for: where things stand (a new EOI is begun only when asked for).
            return [say("That button is from an earlier message."), *await school_status.school_status(t)]
        return await eoi_dialog.on_action(t, eoi, pressed)

    async def _submitted(
        self, session: AsyncSession, person: Person, school: School | None, form: SubmitForm, now: datetime
    ) -> list[Reply]:
        """A form's values, for the command the form is for: read as a command, never as an answer to the
        question asked (as `/eoi …` is), and given to its handler by field name as well as in words."""
        words = form.words
        notes = [say(note) for note in name_notes(words)]
        if isinstance(conversation_state.of(person), AwaitingTimes):
            discussion_replies.stop_waiting(person)  # a form instead: the question is dropped
        named = parse_command(form.command)
        cmd = ParsedCommand(named.name, " ".join([named.rest, *(v for _, v in form.values if v)]).strip(), named.word)
        return notes + await self._command(session, person, school, words, now, cmd=cmd, values=form.by_name)

    def _reply_turn(self, session: AsyncSession, person: Person, now: datetime) -> discussion_replies.ReplyTurn:
        return discussion_replies.ReplyTurn(session, person, now, self.working_hours)

    async def form_as_now(self, speaker: Speaker, form: Form) -> Form:
        """A form filled in with what is known now (a question's larger box holds its current answer). For a
        channel whose buttons can't carry a long answer (Slack's 2,000 characters), asked when one is pressed.
        Reads only: nothing is committed."""
        if form.command.startswith(("score ", "not-shortlisted ")):
            async with self.db.session() as session:
                person = await self._identify(session, speaker, self.clock.now())
                if person.role != people.OFFICER:
                    return form  # an officer's form: nothing of it for anyone else
                return await shortlisting.form_as_now(session, f"{person.platform}:{person.user_id}", form)
        if not form.command.startswith("answer "):
            return form
        async with self.db.session() as session:
            now = self.clock.now()
            person = await self._identify(session, speaker, now)
            school = await session.get(School, person.school_urn) if person.school_urn else None
            eoi = await eois.school_eoi(session, school, now, current=eoi_dialog.current_id(person)) if school else None
            if eoi is None or school is None:
                return form
            t = eoi_dialog.EoiTurn(session, person, school, now, self.questions, email=self.email)
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
