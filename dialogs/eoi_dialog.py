"""The guided Expression of Interest: one question at a time, from the data in questions/eoi.yaml.

The answers live on the EOI row; where the person is in the dialog (the question asked, the review, the
declaration, an answer being changed, a yes or no waited for) is their conversation state
(dialogs.conversation_state). Both are committed after every turn, so the dialog resumes exactly where it stopped.
The dialog is a table of handlers in the manner of a ConversationHandler: entry points (`start`, `review`,
`amend`, answering a form), a handler for each state a message can find the person in (`on_text`), and the
controls that work in every state (`CONTROL_HANDLERS`: *help*, *back*, *skip*, *save*, *review*, *cancel*, *submit*).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from dialogs import (
    attachments,
    conversation_state,
    discussion_notices,
    discussion_outcomes,
    implementation,
    references,
    school_copy,
    school_facts,
)
from dialogs.actions import (
    Action,
    Answer,
    ChangeAnswer,
    Command,
    KeepAnswer,
    NotSure,
    OpenForm,
    Shown,
    Step,
    Sure,
)
from dialogs.answers import (
    AnswerContext,
    Problem,
    Understood,
    asked_again_because,
    check_answer,
    choices_for,
    format_answer,
    read_answer,
    value_of,
)
from dialogs.commands import HEADTEACHER
from dialogs.conversation_state import (
    Answering,
    Changing,
    CheckingAnswer,
    ConfirmingCancel,
    Declaring,
    Place,
    Reviewing,
    State,
)
from dialogs.dates import format_date, format_datetime
from dialogs.glossary import KEY_STAGES_BY_PHASE, PROVISION_NAMES, need_label
from dialogs.lifecycle_words import SHORTLISTING_RULE, refusal
from dialogs.lifecycle_words import for_school as for_school_words
from dialogs.officer_turn import CommandTurn
from dialogs.questions import FACTS, Question, QuestionSet
from dialogs.registry import handles
from dialogs.replies import Choice, Fact, Form, FormField, Reply, refuse, say
from dialogs.rich import Text, italic, lines_of, md, rich
from dialogs.telling import tell
from dialogs.turns import ReceivedFile
from storage import audit, eois, evidence, transitions
from storage.lifecycle import NEXT_OPEN, SCHOOL, Moment, judge
from storage.models import EOI, Person, School, Window
from storage.windows import LONDON, need_in_scope, need_key, open_window, window_name

REVIEW, DECLARATION = "review", "declaration"
ANSWER_FIELD = "answer"
# Answers typed in full, where a question mark may be part of the answer.
FREE_TEXT = ("short_text", "long_text")
CONTROLS = md("Type *help*, *back*, *skip* (optional questions), *save*, *review* or *cancel* at any time.")
# Replies to "Do you mean September 2027?" (an answer read with a doubt, waiting as CheckingAnswer).
YES_WORDS = ("yes", "y", "yep", "yeah", "yes please", "correct", "that's right", "thats right", "right", "ok", "okay")
NO_WORDS = ("no", "n", "nope", "no thanks", "wrong", "not quite", "that's wrong")
# A message ending in "?" that starts like a question is about the question ("What is RP?"), not an answer
# ("not sure, maybe ten?").
QUESTION_WORDS = ("what", "why", "how", "who", "which", "where", "when", "is ", "are ", "can", "could", "do ", "does")


@dataclass
class EoiTurn:
    """Everything one turn of the dialog needs."""

    session: AsyncSession
    person: Person
    school: School
    now: datetime
    questions: QuestionSet
    # The answer context depends only on the school, the window and the day: work it out once a turn.
    contexts: dict[int | None, AnswerContext] = field(default_factory=dict)
    email: bool = False  # whether the service sends email (the school's copy goes to its contact email too)

    @property
    def actor(self) -> str:
        return f"{self.person.platform}:{self.person.user_id}"


async def answer_context(t: EoiTurn, eoi: EOI) -> AnswerContext:
    if eoi.window_id not in t.contexts:
        t.contexts[eoi.window_id] = await _answer_context(t, eoi)
    ctx = t.contexts[eoi.window_id]
    if any(q.type == "files" and eoi.answers.get(q.id) for q in t.questions.questions):
        ctx = replace(ctx, files=await attachments.labels(t.session, eoi.id))  # as they are now: they come and go
    return ctx


async def _answer_context(t: EoiTurn, eoi: EOI) -> AnswerContext:
    window = await t.session.get(Window, eoi.window_id) if eoi.window_id else None
    options: list[tuple[str, str]] = []
    facts: dict[str, dict[str, str]] = {}
    if window:
        for need in await need_in_scope(t.session, window, t.school):
            place = need.district or f"{need.quadrant} quadrant"
            options.append(
                (
                    need_key(need),
                    f"{need_label(need.need_type)}, {PROVISION_NAMES[need.provision_type]}, "
                    f"{place}, {need.phase} ({need.priority} priority)",
                )
            )
            facts[need_key(need)] = {"provision_type": need.provision_type, "primary_need": need.need_type}
    return AnswerContext(
        today=t.now.astimezone(LONDON).date(),
        window_closes=window.closes_at.astimezone(LONDON).date() if window else None,
        key_stages=KEY_STAGES_BY_PHASE.get(t.school.phase, ()),
        priority_options=tuple(dict(options).items()),  # one option per need key
        option_facts=facts,
        defaults={
            "school.headteacher_name": t.school.headteacher_name,
            "school.headteacher_email": t.school.headteacher_email,
        },
    )


def known(t: EoiTurn, eoi: EOI) -> dict[str, Any]:
    """The answers that hold, with those skip rules fix (a Partnership Provision's need is SEMH): what an
    answer is checked against, and what decides the options offered."""
    return t.questions.effective_answers(_known_to(t, eoi))


# "change the date the governors discussed it" typed at a question changes that answer; a longer message that
# happens to begin with "change" is an answer.
CHANGE_WORDS = 10
PROVISION_QUESTION = "provision_type"  # its answer is the EOI's offer: one EOI per provision per school and window


def _known_to(t: EoiTurn, eoi: EOI) -> dict[str, Any]:
    """The answers with what the register says of the school now (dialogs.questions.FACTS), which questions may
    depend on like earlier answers (a trust's sign-off is asked of an academy); the facts are never stored."""
    return {**eoi.answers, **school_facts.for_questions(t.school)}


def _state(t: EoiTurn) -> State:
    return conversation_state.of(t.person)


def _becomes(t: EoiTurn, state: State) -> None:
    conversation_state.keep(t.person, state)


def _enter(t: EoiTurn) -> None:
    """Into the dialog, at the place kept; whatever was waited for (a yes or no) is dropped."""
    _becomes(t, conversation_state.filling_in(_state(t)))


def leave(t: EoiTurn) -> None:
    """Out of the dialog: which EOI this person works on and their place in it are kept, for `start`."""
    _becomes(t, conversation_state.idle(_state(t)))


def remember(t: EoiTurn, eoi: EOI) -> None:
    """`eoi` is the one this person is working on now (a school may have an RP and a PP in one window), so
    `status`, `review`, `amend` and `withdraw` know, across restarts."""
    _becomes(t, conversation_state.working_on(_state(t), eoi.id))


def current_id(person: Person) -> int | None:
    return conversation_state.of(person).eoi


def _place(t: EoiTurn, eoi: EOI) -> Place | None:
    return conversation_state.place_in(_state(t), eoi.id)


def _at(t: EoiTurn, eoi: EOI) -> str:
    """Where this person is in `eoi`: a question's id, REVIEW or DECLARATION; "" when not known yet (then the
    first question not answered)."""
    match _place(t, eoi):
        case Answering(question) | Changing(question):
            return question
        case Reviewing():
            return REVIEW
        case Declaring():
            return DECLARATION
    return ""


def _changing(t: EoiTurn, eoi: EOI) -> bool:
    """An answer is being changed: after it come the questions not answered, then the review."""
    return isinstance(_place(t, eoi), Changing)


def _go(t: EoiTurn, eoi: EOI, to: str, *, changing: bool | None = None) -> None:
    """Move this person to `to` in `eoi` (a question's id, REVIEW, DECLARATION, or "": not known), changing an
    answer or not (None: as they were)."""
    changing = _changing(t, eoi) if changing is None else changing
    place: Place | None
    if to == REVIEW:
        place = Reviewing()
    elif to == DECLARATION:
        place = Declaring()
    elif to:
        place = Changing(to) if changing else Answering(to)
    else:
        place = None
    _becomes(t, conversation_state.at(_state(t), eoi.id, place))


async def current(t: EoiTurn) -> EOI | None:
    """The school's EOI in this window this person is working on (or, not having said, its draft or newest)."""
    return await eois.school_eoi(t.session, t.school, t.now, current=current_id(t.person))


async def named_or_current(t: EoiTurn, rest: str) -> EOI | Reply | None:
    """The EOI a command names (`review EOI-2627A-003`), the school's own only; else the current one, else the
    school's newest in any window. A reference that isn't the school's is refused (audited)."""
    words = rest.split()
    if words and references.looks_like_ref(words[0]):
        named = await references.by_ref(t.session, words[0])
        if named is None or named.school_urn != t.school.urn:
            note = f"not the school's EOI: {words[0][:40]}"
            audit.record(t.session, at=t.now, actor=t.actor, action="refused", note=note)
            return refuse(f"{t.school.name} has no EOI {words[0][:40]}.")
        remember(t, named)
        return named
    return await current(t) or await eois.latest_eoi(t.session, t.school)


def offer_name(offer: str) -> str:
    return PROVISION_NAMES.get(offer, "")


async def _offer_refused(t: EoiTurn, eoi: EOI, q: Question, value: Any) -> list[Reply] | None:
    """One EOI per provision per school and window: a second RP is refused, naming the first, and nothing is
    changed (the answer stays as it was)."""
    if q.id != PROVISION_QUESTION or value == eoi.offer:
        return None
    other = await eois.offer_taken(t.session, eoi, str(value or ""))
    if other is None:
        return None
    name = offer_name(other.offer)
    text = md(
        "Your school already has a {} EOI, {}, in this window ({}): type *start {}* to carry on with it. A "
        "school makes one EOI for each kind of provision in a window; nothing here has changed.",
        name,
        other.ref,
        other.status,
        other.ref,
    )
    return [refuse(text), await resume(t, eoi)]


def _save(t: EoiTurn, eoi: EOI, answers: dict[str, Any], to: str, *, changing: bool | None = None) -> None:
    """Store the answers, and move this person to `to` (see `_go`)."""
    _go(t, eoi, to, changing=changing)
    effective = t.questions.effective_answers({**answers, **school_facts.for_questions(t.school)})
    answers = {k: v for k, v in answers.items() if k not in FACTS}  # the register's, not the school's answers
    eois.save_answers(
        eoi,
        answers,
        now=t.now,
        primary_need=str(effective.get("primary_need") or ""),
        offer=str(answers.get(PROVISION_QUESTION) or ""),
    )


@dataclass(frozen=True)
class Cleared:
    """An answer that stopped holding when an answer it depends on changed."""

    question: Question
    reason: str  # why it is asked again; "" when it is removed
    goes_with: str = ""  # removed because this answer, which it goes with, is asked again


def with_answer(
    t: EoiTurn, eoi: EOI, q: Question, value: Any, ctx: AnswerContext
) -> tuple[dict[str, Any], list[Cleared]]:
    """The answers with `q` answered `value`, and every answer that depends on it (Question.depends_on)
    checked again at once: one whose question no longer applies is removed, one that no longer holds or whose
    choices are different now is cleared so the dialog asks it again, and with it the detail that goes with it.
    A question answered for the first time is checked too: after an amend, later answers may already exist."""
    answers = {**_known_to(t, eoi), q.id: value}
    if q.id in eoi.answers and eoi.answers[q.id] == value:
        return answers, []
    before = t.questions.effective_answers(_known_to(t, eoi))
    cleared: list[Cleared] = []
    for dependent in t.questions.dependents(q.id):
        if dependent.id not in answers:
            continue
        went_with = next((c.question for c in cleared if c.reason and c.question.goes_with(dependent)), None)
        if went_with is not None or not dependent.applies(answers):
            del answers[dependent.id]
            cleared.append(Cleared(dependent, "", went_with.label if went_with else ""))
            continue
        current = answers[dependent.id]
        if current is None and dependent.optional:
            continue  # skipped, and still may be
        reason = asked_again_because(dependent, current, ctx, before, t.questions.effective_answers(answers))
        if reason:
            del answers[dependent.id]
            cleared.append(Cleared(dependent, reason))
    return answers, cleared


def _told(changed: Question, cleared: list[Cleared]) -> list[Reply]:
    """What the headteacher is told when a change clears answers that depended on it: which, and why."""
    if not cleared:
        return []
    lines = [md("Because you changed *{}*:", changed.label)]
    for c in cleared:
        if c.reason:
            lines.append(md("• I'll ask *{}* again: {}.", c.question.label, c.reason))
        elif c.goes_with:
            lines.append(md("• *{}* is cleared too, as it goes with *{}*.", c.question.label, c.goes_with))
        else:
            lines.append(md("• *{}* isn't asked any more, so I've removed it.", c.question.label))
    if any(c.reason for c in cleared):
        lines.append("You'll see the review once that's done.")
    return [say(lines_of(lines))]


def _position(t: EoiTurn, eoi: EOI, q: Question) -> tuple[str, int]:
    """("9a", 20): the question's number and how many main questions; follow-ups don't change the count."""
    numbers, total = t.questions.numbered(_known_to(t, eoi))
    return numbers.get(q.id, str(total)), total


def ask(t: EoiTurn, eoi: EOI, q: Question, ctx: AnswerContext, *, intro: str | Text = "") -> Reply:
    n, total = _position(t, eoi, q)
    lines = [intro] if intro else []
    lines.append(md("*Question {} of {}.* {}", n, total, q.ask_for(known(t, eoi))))
    if q.why:
        lines.append(rich(italic(q.why.strip())))
    choices = [Choice(label, Answer(q.id, value)) for value, label in choices_for(q, ctx, known(t, eoi))]
    if q.type == "multi" and q.optional:
        choices.append(Choice(q.none_label, Answer(q.id, "none")))
    default = ctx.defaults.get(q.default_from, "") if q.default_from else ""
    if default and q.id not in eoi.answers:
        choices.append(Choice(f"Use {default}", Answer(q.id, default)))
    current = eoi.answers.get(q.id)
    if q.type == "files":
        lines.append(_files_so_far(q, current, ctx))
        choices.append(Choice("Done" if current else "No files to attach", Answer(q.id, "done"), style="primary"))
    elif q.id in eoi.answers:
        shown = "(skipped)" if current is None else format_answer(q, current, ctx)
        lines.append(f"Current answer: {shown}")
        choices.append(Choice("Keep this answer", KeepAnswer(q.id)))
    if q.type in ("short_text", "long_text", "email", "phone", "date", "number", "money", "places_by_year"):
        limit = f" ({q.min:,}–{q.max:,} characters)" if q.type == "long_text" and q.min and q.max else ""
        lines.append(
            f"Type your answer{limit}."
            if not q.optional
            else md(
                "Type your answer{}, or *skip*.",
                limit,
            )
        )
    if q.type == "long_text":
        shown = current if isinstance(current, str) else ""
        choices.append(Choice("Write it in a larger box", OpenForm("answer", q.id), form=answer_form(q, shown)))
    selected = list(current) if q.type == "multi" and isinstance(current, list) else []
    asked = Reply(
        text=lines_of(lines),
        kind="question",
        question_id=q.id,
        choices=choices,
        multi=q.type == "multi",
        selected=selected,
        answer_type=q.type,
    )
    return shown_for(eoi, asked)


def _files_so_far(q: Question, current: Any, ctx: AnswerContext) -> Text:
    accepted = rich(italic(f"I accept {evidence.accepted_words()}."))  # storage.evidence's rule, in its words
    if not current:
        return md("{}\nSend each file as an attachment here, then press *Done* (or type *done*).", accepted)
    listed = "\n".join(f"{n}. {ctx.files.get(i, '(a file since removed)')}" for n, i in enumerate(current, 1))
    return md("Attached so far:\n{}\nSend more, type *remove* and a file's number to take it off, or *done*.", listed)


def shown_for(eoi: EOI, reply: Reply) -> Reply:
    """Every button of `reply` carries the EOI and the state it is shown for: pressed once the EOI has moved on
    (submitted since, say), it is refused with where the EOI is now (dialogs.conversation), never acted on."""
    if eoi.id is None:
        return reply

    def stamped(choice: Choice) -> Choice:
        return replace(choice, action=choice.action.shown_for(eoi.id, eoi.status))

    reply.choices = [stamped(c) for c in reply.choices]
    reply.facts = [replace(f, change=stamped(f.change)) if f.change else f for f in reply.facts]
    return reply


def answer_form(q: Question, current: str = "") -> Form:
    """A long answer written in a form (a Slack modal, a Teams card): room for paragraphs, the current answer
    in the box to edit, and a problem shown on the form with the text still in it."""
    return Form(
        title=q.label,
        command=f"answer {q.id}",
        submit_label="Save answer",
        fields=(
            FormField(
                ANSWER_FIELD,
                q.ask,
                q.example.strip('"') if q.example else "",
                multiline=True,
                max_length=q.max,
                value=current,
            ),
        ),
    )


def form_as_now(t: EoiTurn, eoi: EOI, form: Form) -> Form:
    """A question's larger box as it opens now: holding the current answer (`answer QID` forms only)."""
    command, _, qid = form.command.partition(" ")
    q = t.questions.get(qid) if command == "answer" else None
    current = eoi.answers.get(qid) if q else None
    return answer_form(q, current) if q is not None and isinstance(current, str) else form


async def answer_from_form(t: EoiTurn, eoi: EOI, qid: str, text: str) -> list[Reply]:
    """What answer_form sends: the answer to the question being asked, or a change to an earlier one."""
    q = t.questions.get(qid)
    if q is None or not q.applies(_known_to(t, eoi)) or (qid != _at(t, eoi) and qid not in eoi.answers):
        return [say("That form is from an earlier message; here is where we are."), await resume(t, eoi)]
    ctx = await answer_context(t, eoi)
    value = read_answer(q, text, ctx, known(t, eoi))
    if isinstance(value, Problem):
        return [refuse(value.message, field_errors={ANSWER_FIELD: value.message})]
    value = value_of(value)  # a long text answer is taken as written
    _enter(t)
    refused = await _offer_refused(t, eoi, q, value)
    if refused:
        return refused
    answers, cleared = with_answer(t, eoi, q, value, ctx)
    if qid == _at(t, eoi):
        return _told(q, cleared) + await _advance(t, eoi, q.id, answers)
    return [say(f"Changed {q.label.lower()}."), *_told(q, cleared), await _ask_cleared(t, eoi, answers, cleared)]


def _next_question(t: EoiTurn, answers: dict[str, Any], after: str | None, *, unanswered_only: bool) -> Question | None:
    applicable = t.questions.applicable({**answers, **school_facts.for_questions(t.school)})
    ids = [q.id for q in applicable]
    start = ids.index(after) + 1 if after in ids else 0
    for q in applicable[start:]:
        if not unanswered_only or q.id not in answers:
            return q
    if unanswered_only:
        return next((q for q in applicable if q.id not in answers), None)
    return None


async def start(t: EoiTurn, rest: str = "") -> list[Reply]:
    """Begin or carry on the school's EOI in the window open now (or planned next). A withdrawn one is restarted
    while its window is open; one submitted or finished in an earlier window leaves the school free to begin a
    new one here. A school makes one EOI per provision type per window: with its EOI here submitted (or further),
    it is offered one for the other type. `start EOI-…` carries on that one; `start PP` begins (or carries on)
    the school's Partnership Provision EOI."""
    if rest.strip():
        return await _start_named(t, rest.strip())
    here = await eois.school_eois(t.session, t.school, t.now)
    drafts = [e for e in here if e.status == eois.DRAFT]
    eoi = next((e for e in drafts if e.id == current_id(t.person)), drafts[-1] if drafts else None)
    if eoi is None:
        eoi = await current(t)
    if eoi and eoi.status == eois.WITHDRAWN:
        remember(t, eoi)
        return await _restart(t, eoi)
    if eoi and eoi.status != eois.DRAFT:
        leave(t)
        return await statuses(t, here)
    intro: str | Text = ""
    if eoi is None:
        earlier = await eois.latest_eoi(t.session, t.school)
        eoi = await eois.start_draft(t.session, t.school, actor=t.actor, now=t.now)
        intro = await _welcome(t, eoi, earlier)
    elif eoi.answers:
        intro = f"Welcome back. Carrying on with {t.school.name}'s draft {eoi.ref or ''}".rstrip() + "."
    remember(t, eoi)
    _enter(t)
    return [await resume(t, eoi, intro)]


async def _start_named(t: EoiTurn, rest: str) -> list[Reply]:
    """`start EOI-…` (that EOI) or `start PP` / `start Resourced Provision` (the school's EOI for that provision
    here: carried on, or begun with the first question answered)."""
    if references.looks_like_ref(rest.split()[0]):
        named = await named_or_current(t, rest)
        if isinstance(named, Reply) or named is None:
            return [named] if named else await start(t)
        if named.status == eois.WITHDRAWN:
            return await _restart(t, named)
        if named.status != eois.DRAFT:
            return [await status_reply(t.session, named, t.school, t.now, for_school=True)]
        _enter(t)
        return [await resume(t, named, f"Carrying on with {named.ref or 'your draft'}.")]
    q = t.questions.get(PROVISION_QUESTION)
    assert q is not None
    read = read_answer(q, rest, AnswerContext(today=t.now.astimezone(LONDON).date()), {})
    if isinstance(read, Understood) and read.confirm:  # "start resorced": asked, never taken
        yes, no = Choice("Yes", Command(f"start {read.value}"), style="primary"), Choice("No", Command("start"))
        return [Reply(text=read.confirm, kind="question", choices=[yes, no])]
    offer = "" if isinstance(read, Problem) else str(value_of(read))
    if offer not in PROVISION_NAMES:
        hint = md("Type *start RP* or *start PP* to begin an EOI for that provision, or *start*.")
        return [refuse(hint), *await start(t)]
    earlier = await eois.latest_eoi(t.session, t.school)
    try:
        eoi = await eois.start_draft(
            t.session, t.school, actor=t.actor, now=t.now, offer=offer, answers={PROVISION_QUESTION: offer}
        )
    except eois.OfferTaken as taken:
        return await _start_named(t, taken.eoi.ref or "") if taken.eoi.ref else await start(t)
    remember(t, eoi)
    _enter(t)
    fresh = earlier is None or earlier.id != eoi.id
    intro = (
        await _welcome(t, eoi, earlier) + f" It offers a {offer_name(offer)}."
        if fresh
        else f"Carrying on with {eoi.ref or 'your draft'}, a {offer_name(offer)}."
    )
    return [await resume(t, eoi, intro)]


async def statuses(t: EoiTurn, here: list[EOI]) -> list[Reply]:
    """Each of the school's EOIs in this window, and a way to begin one for a provision it hasn't offered yet
    (when it has no draft on the go)."""
    replies = [await status_reply(t.session, eoi, t.school, t.now, for_school=True) for eoi in here]
    offered = {eoi.offer for eoi in here}
    if here and all(eoi.status != eois.DRAFT for eoi in here):
        for offer, name in PROVISION_NAMES.items():
            if offer not in offered:
                replies[-1].choices.insert(0, Choice(f"Start a {name} EOI", Command(f"start {offer}")))
                replies[-1].text += md(
                    "\nA school may also offer a {} in the same window, as a separate EOI: type *start {}* or "
                    "press the button.",
                    name,
                    offer,
                )
    return replies


async def _welcome(t: EoiTurn, eoi: EOI, earlier: EOI | None = None) -> Text:
    window = await t.session.get(Window, eoi.window_id) if eoi.window_id else None
    when = (
        f"{window_name(window)} closes {format_datetime(window.closes_at)}."
        if window
        else "No window is open yet; you can save a draft and submit when one opens."
    )
    ref = md(" Your reference is *{}*.", eoi.ref) if eoi.ref else ""
    before = (
        md(
            " This is a new EOI: your earlier one, {}, is {} (type *status* to see it).",
            earlier.ref,
            earlier.status,
        )
        if earlier is not None and earlier.id != eoi.id and earlier.ref
        else ""
    )
    known_as = school_facts.described(t.school)
    return md(
        "Let's start an expression of interest from {} to host a Resourced or Partnership Provision.{}{} {} Your "
        "answers are saved after every step. {}{}",
        t.school.name,
        ref,
        before,
        when,
        CONTROLS,
        f"\n{known_as}" if known_as else "",
    )


async def _closes(t: EoiTurn, eoi: EOI) -> str:
    window = await t.session.get(Window, eoi.window_id) if eoi.window_id else None
    return f"{window_name(window)} closes {format_datetime(window.closes_at)}" if window else "the window closes"


def _back_to_draft(t: EoiTurn, eoi: EOI) -> None:
    """Answers kept, the declaration to be made again, the dialog at the review."""
    answers = {k: v for k, v in eoi.answers.items() if k != t.questions.declaration.id}
    _save(t, eoi, answers, REVIEW, changing=False)
    _enter(t)


async def _restart(t: EoiTurn, eoi: EOI) -> list[Reply]:
    """LIFE's "restart": a school that withdrew changes its mind while the window is open."""
    try:
        await transitions.transition(t.session, eoi, "restart", by=SCHOOL, actor=t.actor, now=t.now)
    except eois.Refused as refused:
        leave(t)
        return [refuse(refusal(refused)), await status_reply(t.session, eoi, t.school, t.now, for_school=True)]
    return await _draft_again(
        t,
        eoi,
        "restart",
        eois.WITHDRAWN,
        "restarted",
        f"{t.school.name} restarted {eoi.ref}, which it had withdrawn: it is a draft again.",
        f"{eoi.ref} is a draft again, with your answers: check them, then submit it before {{closes}}. ECC has "
        "been told.",
    )


async def _draft_again(
    t: EoiTurn, eoi: EOI, event: str, source: str, kind: str, for_officers: str, for_school: str
) -> list[Reply]:
    """After LIFE's "restart" or "amend": the EOI is a draft again with its answers, officers are told, and the
    school sees its review (`for_school` may name {closes}: when the window closes)."""
    _back_to_draft(t, eoi)
    await _tell_officers(t, event, source, eoi, kind, for_officers)
    return [await review(t, eoi, intro=for_school.format(closes=await _closes(t, eoi)))]


async def amend(t: EoiTurn, rest: str = "") -> list[Reply]:
    """LIFE's "amend": a submitted EOI back to draft, while its window is open and it isn't shortlisted yet, to
    be submitted again under the same reference."""
    eoi = await named_or_current(t, rest)
    if isinstance(eoi, Reply):
        return [eoi]
    if eoi is None:
        return [say(md("{} has no EOI yet. Type *start* to begin one.", t.school.name))]
    if eoi.status == eois.DRAFT:
        _enter(t)
        return await _review(t, eoi)
    try:
        await transitions.transition(t.session, eoi, "amend", by=SCHOOL, actor=t.actor, now=t.now)
    except eois.Refused as refused:
        return [refuse(refusal(refused)), await submitted_review(t, eoi)]
    return await _draft_again(
        t,
        eoi,
        "amend",
        eois.SUBMITTED,
        "changing",
        f"{t.school.name} is changing {eoi.ref}: it is a draft until they submit it again.",
        f"{eoi.ref} is open for changes, and ECC has been told. Change what you need, then submit it again "
        "(same reference) before {closes}: until then ECC sees it as a draft.",
    )


async def review_command(t: EoiTurn, rest: str = "") -> list[Reply]:
    """`review` outside the dialog: a draft's review (in the dialog), or the answers as the school submitted them."""
    eoi = await named_or_current(t, rest)
    if isinstance(eoi, Reply):
        return [eoi]
    if eoi is None:
        start_one = Choice("Start", Command("start"))
        return [say(md("{} has no EOI yet. Type *start* to begin one.", t.school.name), choices=[start_one])]
    if eoi.status == eois.DRAFT:
        _enter(t)
        return await _review(t, eoi)
    return [await submitted_review(t, eoi)]


async def can_amend(t: EoiTurn, eoi: EOI) -> bool:
    try:
        await transitions.allowed(t.session, eoi, "amend", by=SCHOOL, now=t.now)
    except eois.NotAllowed:
        return False
    return True


async def submitted_review(t: EoiTurn, eoi: EOI) -> Reply:
    """The answers as submitted, read-only; with a way to change them while LIFE allows it."""
    ctx = await answer_context(t, eoi)
    facts = [Fact(q.label_for(eoi.answers.get(q.id), ctx.today), shown) for q, shown in _answer_facts(t, eoi, ctx)]
    choices = []
    if await can_amend(t, eoi):
        text = md(
            "{} as you submitted it. {} Press *Change my answers* to change them before {}.",
            eoi.ref,
            SHORTLISTING_RULE,
            await _closes(t, eoi),
        )
        choices.append(Choice("Change my answers", Command(f"amend {eoi.ref}"), style="primary"))
    else:
        text = md(
            "{} as you submitted it. It is *{}*, so its answers can't be changed now. {}",
            eoi.ref,
            eoi.status,
            await where_it_stands(t.session, eoi, t.now, say_state=False),
        )
    title = f"{t.school.name}: {eoi.ref} ({eoi.status})"
    return shown_for(eoi, Reply(text=text, kind="summary", title=title, facts=facts, choices=choices))


async def _tell_officers(t: EoiTurn, event: str, source: str, eoi: EOI, kind: str, text: str) -> None:
    """Officers hear of the school's step in these words, as the life table's row says (dialogs.telling)."""
    told = say(text, kind="notice", choices=[Choice("Show", Command(f"show {eoi.ref}"))])
    await tell(t.session, event, source, eoi, t.school, now=t.now, officers_hear=[(kind, told)])


def carried_forward(carried: eois.Carried, now: datetime) -> Reply:
    """What the school is told when its unsubmitted draft moves to the next window."""
    window, ref, school = carried.window, carried.eoi.ref, carried.school
    if carried.old_ref:
        text = md(
            "{}'s draft {} wasn't submitted before its window closed, so it has moved to {} with a new "
            "reference, *{}*. Your answers are kept.",
            school.name,
            carried.old_ref,
            window_name(window),
            ref,
        )
    else:
        text = md(
            "{}'s draft now belongs to {}: its reference is *{}*. Your answers are kept.",
            school.name,
            window_name(window),
            ref,
        )
    if window.opens_at > now:  # not yet a promise: it can't be submitted until the window opens
        text += (
            f" It can be submitted once {window_name(window)} opens, {format_datetime(window.opens_at)}, until it "
            f"closes {format_datetime(window.closes_at)}."
        )
    else:
        text += f" Submit it before {window_name(window)} closes {format_datetime(window.closes_at)}."
    return Reply(kind="notice", title=f"{ref}: your draft has a new reference", text=text)


async def resume(t: EoiTurn, eoi: EOI, intro: str | Text = "") -> Reply:
    ctx = await answer_context(t, eoi)
    at = _at(t, eoi)
    if at == REVIEW:
        return await review(t, eoi, intro=intro)
    if at == DECLARATION:
        return ask_declaration(t, eoi, intro=intro)
    q = t.questions.get(at) if at else None
    if q is None or not q.applies(_known_to(t, eoi)):
        q = _next_question(t, _known_to(t, eoi), None, unanswered_only=True)
        if q is None:
            _go(t, eoi, REVIEW)
            return await review(t, eoi, intro=intro)
        _go(t, eoi, q.id)
    return ask(t, eoi, q, ctx, intro=intro)


def ask_declaration(t: EoiTurn, eoi: EOI, *, intro: str | Text = "") -> Reply:
    q = t.questions.declaration
    text = (intro + "\n" if intro else "") + q.ask_for(known(t, eoi))  # the words follow the governance answer
    choices = [
        Choice(label, Answer(q.id, value), style="primary" if value == "yes" else "") for value, label in q.choices
    ]
    return shown_for(eoi, Reply(text=text, kind="question", question_id=q.id, choices=choices, answer_type=q.type))


def _answer_facts(t: EoiTurn, eoi: EOI, ctx: AnswerContext) -> list[tuple[Question, str]]:
    """Each question that applies, with its answer as the school reads it."""
    shown_facts = []
    for q in t.questions.applicable(_known_to(t, eoi)):
        if q.id in eoi.answers:
            value = eoi.answers[q.id]
            shown = "(skipped)" if value is None else format_answer(q, value, ctx)
        else:
            shown = "(not answered yet)"
        shown_facts.append((q, shown))
    return shown_facts


async def review(t: EoiTurn, eoi: EOI, *, intro: str | Text = "") -> Reply:
    ctx = await answer_context(t, eoi)
    facts = [
        Fact(label, shown, Choice(f"Change {label}", ChangeAnswer(q.id)))
        for q, shown in _answer_facts(t, eoi, ctx)
        for label in [q.label_for(eoi.answers.get(q.id), ctx.today)]
    ]
    text = (intro + "\n" if intro else "") + "Here is everything you've told us. Change anything, then submit."
    reviewed = Reply(
        text=text,
        kind="review",
        title=f"{t.school.name}: {eoi.ref or 'draft'}",
        facts=facts,
        choices=[Choice("Submit", Step("submit"), style="primary"), Choice("Save for later", Step("save"))],
    )
    return shown_for(eoi, reviewed)


async def on_text(t: EoiTurn, eoi: EOI, text: str) -> list[Reply]:
    """A message in the dialog. What the person was asked takes it first (`WAITING`: a yes or no); then the controls
    that work everywhere (`CONTROL_HANDLERS`); then what their place in the questions makes of it (`AT_PLACE`)."""
    word = text.strip().casefold().rstrip(".!")
    waiting = WAITING.get(type(_state(t)))
    if waiting is not None:
        replied = await waiting(t, eoi, word)
        if replied is not None:
            return replied
        _enter(t)  # anything else is read afresh: a new answer, or help, back, ...
    if word in TYPED_CONTROLS:
        return await CONTROL_HANDLERS[word](t, eoi)
    return await AT_PLACE[type(_place(t, eoi))](t, eoi, text, word)


async def _cancel_answered(t: EoiTurn, eoi: EOI, word: str) -> list[Reply]:
    """After "Cancel this draft?": yes deletes the answers; anything else keeps going."""
    if word in ("yes", "y", "1", "yes, delete the draft"):
        return await _cancel(t, eoi)
    return await _keep_going(t, eoi)


async def _reading_answered(t: EoiTurn, eoi: EOI, word: str) -> list[Reply] | None:
    """After "Do you mean September 2027?": yes stores the reading, no asks again; None: neither."""
    said = word.replace("’", "'")
    if said in YES_WORDS:
        return await _confirmed(t, eoi)
    if said in NO_WORDS:
        return await _not_confirmed(t, eoi)
    return None


async def _at_review(t: EoiTurn, eoi: EOI, text: str, word: str) -> list[Reply]:
    named = await _change_named(t, eoi, text)
    if named is not None:
        return named
    return [say(md("You're at the review. Choose an answer to change, or *submit*.")), await review(t, eoi)]


async def _aside(t: EoiTurn, eoi: EOI, text: str, word: str) -> list[Reply] | None:
    """At a question or the declaration, a message that isn't its answer: "change the date the governors discussed
    it" (that answer), or "What is RP?" (a question about the question). None: it is the answer."""
    if word.startswith("change ") and len(word.split()) <= CHANGE_WORDS:
        named = await _change_named(t, eoi, text)
        if named is not None:
            return named
    asked = t.questions.get(_at(t, eoi))
    if word.endswith("?") and asked and asked.type not in FREE_TEXT and word.startswith(QUESTION_WORDS):
        return await _help(t, eoi)
    return None


async def _at_declaration(t: EoiTurn, eoi: EOI, text: str, word: str) -> list[Reply]:
    return await _aside(t, eoi, text, word) or await _declare(t, eoi, text)


async def _at_question(t: EoiTurn, eoi: EOI, text: str, word: str) -> list[Reply]:
    """Asked a question (answering it, or changing its answer; not yet known: the first one not answered)."""
    return await _aside(t, eoi, text, word) or await _answer(t, eoi, _at(t, eoi), text)


async def still_as_shown(
    session: AsyncSession, person: Person, school: School | None, now: datetime, shown: Shown
) -> EOI | Reply:
    """The EOI a pressed button was shown for, if it is still in the state it was shown in: it is then the one this
    person is working on. Else what is true now, and that the button did nothing (nothing is changed)."""
    eoi = await eois.by_id(session, shown.eoi)
    if eoi is None or school is None or eoi.school_urn != school.urn:
        text = md(
            "That button is from a message about another school's EOI, so I've done nothing. Type *school* to "
            "choose which school you're working for, or *status*."
        )
        return refuse(text)
    if eoi.status == shown.state:
        if eoi.id != current_id(person):  # a button for another of the school's EOIs: now that one
            conversation_state.keep(person, conversation_state.Idle(eoi=eoi.id))
        return eoi
    now_true = await status_reply(session, eoi, school, now, for_school=True)
    said = md(
        "That button is from an earlier message, when {} was {}. It is {} now, so I've done nothing.",
        eoi.ref or "your draft",
        _a_state(shown.state),
        _a_state(eoi.status),
    )
    now_true.text = said + "\n" + now_true.text
    return now_true


def _a_state(status: str) -> str:
    return "a draft" if status == eois.DRAFT else status


async def on_action(t: EoiTurn, eoi: EOI, pressed: Action) -> list[Reply]:
    if eoi.status != eois.DRAFT:
        return [
            say(f"That button is from an earlier message: {eoi.ref} has already been {eoi.status}."),
            await status_reply(t.session, eoi, t.school, t.now, for_school=True),
        ]
    if isinstance(pressed, Sure | NotSure):
        waiting = _state(t)
        if not isinstance(waiting, CheckingAnswer) or pressed.question != waiting.question:
            _enter(t)
            return [say("That button is from an earlier message."), await resume(t, eoi)]
        return await (_confirmed(t, eoi) if isinstance(pressed, Sure) else _not_confirmed(t, eoi))
    if pressed != Step("cancel-confirmed"):
        _enter(t)  # any other button leaves a pending confirmation behind
    match pressed:
        case Answer(qid, value) if qid == t.questions.declaration.id:
            if _at(t, eoi) != DECLARATION:
                return [say("That button is from an earlier message."), await resume(t, eoi)]
            return await _declare(t, eoi, value)
        case Answer(qid, value) if qid == _at(t, eoi):
            return await _answer(t, eoi, qid, value)
        case Answer(qid, value):
            return await _stale_answer(t, eoi, qid, value)
        case KeepAnswer(qid) if qid == _at(t, eoi):
            return await _advance(t, eoi, qid, eoi.answers)
        case KeepAnswer():
            return [say("That button is from an earlier question."), await resume(t, eoi)]
        case ChangeAnswer(qid):
            return await _change(t, eoi, qid)
        case Step(name):
            return await CONTROL_HANDLERS[name](t, eoi)
    return [refuse("I didn't understand that button."), await resume(t, eoi)]


async def _answer(t: EoiTurn, eoi: EOI, qid: str, text: str) -> list[Reply]:
    q = t.questions.get(qid)
    if q is None:
        return [await resume(t, eoi)]
    if q.type == "files":
        return await _files_said(t, eoi, q, text)
    ctx = await answer_context(t, eoi)
    result = read_answer(q, text, ctx, known(t, eoi))
    if isinstance(result, Problem):
        return [refuse(result.message), ask(t, eoi, q, ctx)]
    if isinstance(result, Understood) and result.confirm:
        return [_ask_to_confirm(t, eoi, q, result)]
    return await _store(t, eoi, q, result, ctx)


async def _store(t: EoiTurn, eoi: EOI, q: Question, result: Any, ctx: AnswerContext) -> list[Reply]:
    """Store an answer (and the answers read from the same words), say back what was understood, and go on."""
    value = value_of(result)
    refused = await _offer_refused(t, eoi, q, value)
    if refused:
        return refused
    answers, cleared = with_answer(t, eoi, q, value, ctx)
    last = q.id
    also = result.also if isinstance(result, Understood) else {}
    for qid, detail in also.items():
        answers[qid] = detail
        last = qid  # the detail's question is answered too: carry on after it
    told = []
    if q.type == "date" or isinstance(result, Understood):
        note = result.note if isinstance(result, Understood) else ""
        told.append(say(md("Got it: {}.{}", format_answer(q, value, ctx), md(" {}", note) if note else "")))
    return told + _told(q, cleared) + await _advance(t, eoi, last, answers)


async def on_files(t: EoiTurn, eoi: EOI | None, files: tuple[ReceivedFile, ...]) -> list[Reply]:
    """Files sent with a message: kept as the answer to the question asking for them, while it is asked (or being
    changed); otherwise nothing is kept, and the headteacher is told where files go."""
    q = t.questions.get(_at(t, eoi)) if eoi is not None and eoi.status == eois.DRAFT else None
    if eoi is None or q is None or q.type != "files" or not q.applies(_known_to(t, eoi)):
        asks = next((x for x in t.questions.questions if x.type == "files"), None)
        if eoi is None or eoi.status != eois.DRAFT or asks is None or not asks.applies(_known_to(t, eoi)):
            return [refuse("I keep files only as part of a draft EOI, when it asks for them. Nothing was kept.")]
        _enter(t)
        return [
            refuse(
                md(
                    "I keep files as the answer to the question about attachments, so nothing was kept. I'll ask it "
                    "when we get there, or type *change {}* to send them now.",
                    asks.label.lower(),
                )
            ),
            await resume(t, eoi),
        ]
    _enter(t)
    said = await attachments.keep(t.session, eoi, files, by=t.actor, now=t.now)
    await _keep_files_answer(t, eoi, q)
    return [say(lines_of(said)), await resume(t, eoi)]


async def _keep_files_answer(t: EoiTurn, eoi: EOI, q: Question) -> None:
    """The answer to a files question is the files the EOI holds (by id), kept as they come, at the question."""
    ids = [f.id for f in await evidence.files_of(t.session, eoi.id)]
    _save(t, eoi, {**eoi.answers, q.id: ids}, q.id)


async def _files_said(t: EoiTurn, eoi: EOI, q: Question, text: str) -> list[Reply]:
    """Words at a files question: *done* (or no files), or which file to remove; anything else is told how."""
    word = text.strip().casefold().rstrip(".!")
    if word in attachments.DONE_WORDS:
        return await _files_done(t, eoi, q)
    which = attachments.removal(text)
    if which is not None:
        said = await attachments.remove(t.session, eoi, which, by=t.actor, now=t.now)
        await _keep_files_answer(t, eoi, q)
        return [say(said), await resume(t, eoi)]
    ctx = await answer_context(t, eoi)
    problem = read_answer(q, text, ctx, known(t, eoi))
    message = problem.message if isinstance(problem, Problem) else ""
    return [refuse(message), ask(t, eoi, q, ctx)]


async def _files_done(t: EoiTurn, eoi: EOI, q: Question) -> list[Reply]:
    ids = [f.id for f in await evidence.files_of(t.session, eoi.id)]
    return await _advance(t, eoi, q.id, {**eoi.answers, q.id: ids})


def _ask_to_confirm(t: EoiTurn, eoi: EOI, q: Question, understood: Understood) -> Reply:
    """Echo a doubtful reading back for a yes/no; it waits in the person's state, so it survives a restart."""
    note = understood.note if isinstance(understood.note, str) else understood.note.to_json()  # kept as JSON
    waiting = conversation_state.checking_answer(
        _state(t), question=q.id, value=understood.value, note=note, also=understood.also
    )
    _becomes(t, waiting)
    yes_or_no = Reply(
        text=understood.confirm,
        kind="question",
        question_id=q.id,
        choices=[Choice("Yes", Sure(q.id), style="primary"), Choice("No", NotSure(q.id))],
        answer_type="yesno",
    )
    return shown_for(eoi, yes_or_no)


def _note(kept: Any) -> str | Text:
    """A note kept with a reading waiting for yes or no: its rich text (a list of runs), or plain words."""
    return Text.from_json(kept) if isinstance(kept, list) else str(kept or "")


def _reading(t: EoiTurn) -> CheckingAnswer:
    """The reading waiting for yes or no (callers have checked one is), and back to the dialog."""
    waiting = _state(t)
    assert isinstance(waiting, CheckingAnswer)
    _enter(t)
    return waiting


async def _confirmed(t: EoiTurn, eoi: EOI) -> list[Reply]:
    pending = _reading(t)
    q = t.questions.get(pending.question)
    if q is None or q.id != _at(t, eoi) or not q.applies(_known_to(t, eoi)):
        return [say("That was about an earlier question; here is where we are."), await resume(t, eoi)]
    ctx = await answer_context(t, eoi)
    value = pending.value
    problem = check_answer(q, value, ctx, known(t, eoi))  # the answers may have changed since it was asked
    if problem:
        return [refuse(problem.message), ask(t, eoi, q, ctx)]
    also = {k: v for k, v in pending.also.items() if t.questions.get(k) is not None}
    return await _store(t, eoi, q, Understood(value, note=_note(pending.note), also=also), ctx)


async def _not_confirmed(t: EoiTurn, eoi: EOI) -> list[Reply]:
    pending = _reading(t)
    q = t.questions.get(pending.question)
    if q is None or q.id != _at(t, eoi):
        return [say("Nothing was saved."), await resume(t, eoi)]
    ctx = await answer_context(t, eoi)
    example = f" For example {q.example}." if q.example else ""
    return [say(f"Nothing was saved. Please type it another way.{example}"), ask(t, eoi, q, ctx)]


async def _advance(t: EoiTurn, eoi: EOI, qid: str, answers: dict[str, Any]) -> list[Reply]:
    changing = _changing(t, eoi)
    nxt = _next_question(t, answers, qid, unanswered_only=changing)
    _save(t, eoi, answers, nxt.id if nxt else REVIEW, changing=changing and nxt is not None)
    return [await resume(t, eoi)]


async def _stale_answer(t: EoiTurn, eoi: EOI, qid: str, text: str) -> list[Reply]:
    q = t.questions.get(qid)
    if q is None or not q.applies(_known_to(t, eoi)) or qid not in eoi.answers:
        return [say("That button is from an earlier message; here is where we are."), await resume(t, eoi)]
    ctx = await answer_context(t, eoi)
    value = read_answer(q, text, ctx, known(t, eoi))
    if isinstance(value, Problem):
        return [refuse(value.message), await resume(t, eoi)]
    value = value_of(value)  # a button's value is read exactly
    refused = await _offer_refused(t, eoi, q, value)
    if refused:
        return refused
    answers, cleared = with_answer(t, eoi, q, value, ctx)
    return [
        say(f"Changed {q.label.lower()} to {format_answer(q, value, ctx)}."),
        *_told(q, cleared),
        await _ask_cleared(t, eoi, answers, cleared),
    ]


async def _ask_cleared(t: EoiTurn, eoi: EOI, answers: dict[str, Any], cleared: list[Cleared]) -> Reply:
    """After a change made away from the question being asked: ask the cleared answers first (then back to
    the review), or carry on where the dialog was."""
    first = _next_question(t, answers, None, unanswered_only=True) if any(c.reason for c in cleared) else None
    if first is not None:
        _save(t, eoi, answers, first.id, changing=True)
    else:
        _save(t, eoi, answers, _at(t, eoi))
    return await resume(t, eoi)


async def _change_named(t: EoiTurn, eoi: EOI, text: str) -> list[Reply] | None:
    """ "change the date the governors discussed it": the answer named by the question's label, words or id; with
    two equally named, a button for each. None when nothing answered is named."""
    answered = [q for q in t.questions.applicable(_known_to(t, eoi)) if q.id in eoi.answers]
    named = references.questions_named(text, answered)
    if len(named) == 1:
        return await _change(t, eoi, named[0].id)
    if not named:
        return None
    today = t.now.astimezone(LONDON).date()
    return [
        Reply(
            text="Which answer do you want to change?",
            kind="question",
            choices=[Choice(f"Change {q.label_for(eoi.answers.get(q.id), today)}", ChangeAnswer(q.id)) for q in named],
        )
    ]


async def _change(t: EoiTurn, eoi: EOI, qid: str) -> list[Reply]:
    q = t.questions.get(qid)
    if q is None or not q.applies(_known_to(t, eoi)):
        return [say("That question doesn't apply any more."), await resume(t, eoi)]
    _save(t, eoi, eoi.answers, q.id, changing=True)
    return [await resume(t, eoi)]


async def _help(t: EoiTurn, eoi: EOI) -> list[Reply]:
    q = t.questions.get(_at(t, eoi))
    text = (q.help.strip() + "\n" if q and q.help else "") + CONTROLS
    return [say(text), await resume(t, eoi)]


async def _back(t: EoiTurn, eoi: EOI) -> list[Reply]:
    applicable = t.questions.applicable(_known_to(t, eoi))
    ids = [q.id for q in applicable]
    at = _at(t, eoi)
    if at in (REVIEW, DECLARATION):
        target = applicable[-1].id
    elif at in ids and ids.index(at) > 0:
        target = ids[ids.index(at) - 1]
    else:
        return [say("This is the first question."), await resume(t, eoi)]
    _save(t, eoi, eoi.answers, target, changing=False)
    return [await resume(t, eoi)]


async def _skip(t: EoiTurn, eoi: EOI) -> list[Reply]:
    q = t.questions.get(_at(t, eoi))
    if q is not None and q.type == "files":  # the files already sent stay: skipping is being done
        return await _files_done(t, eoi, q)
    if q is None or not q.optional:
        return [refuse("This question needs an answer, so it can't be skipped."), await resume(t, eoi)]
    return await _advance(t, eoi, q.id, {**eoi.answers, q.id: None})


async def _save_for_later(t: EoiTurn, eoi: EOI) -> list[Reply]:
    leave(t)
    if _changing(t, eoi):  # `start` carries on at the same question, as one to answer
        _go(t, eoi, _at(t, eoi), changing=False)
    return [
        say(
            md(
                "Saved. {} will be here when you come back: type *start* to carry on where you left off (anyone from "
                "your school can).",
                eoi.ref or "Your draft",
            )
        )
    ]


async def _review(t: EoiTurn, eoi: EOI) -> list[Reply]:
    _save(t, eoi, eoi.answers, REVIEW, changing=False)
    return [await review(t, eoi)]


async def _ask_cancel(t: EoiTurn, eoi: EOI) -> list[Reply]:
    _becomes(t, conversation_state.confirming_cancel(_state(t)))
    sure = Reply(
        text="Cancel this draft? Every answer so far will be deleted.",
        kind="question",
        choices=[
            Choice("Yes, delete the draft", Step("cancel-confirmed"), style="danger"),
            Choice("No, keep going", Step("cancel-kept")),
        ],
    )
    return [shown_for(eoi, sure)]


async def _keep_going(t: EoiTurn, eoi: EOI) -> list[Reply]:
    _enter(t)
    return [say("Good: nothing was deleted."), await resume(t, eoi)]


async def _cancel(t: EoiTurn, eoi: EOI) -> list[Reply]:
    if not isinstance(_state(t), ConfirmingCancel):
        return [say("That button is from an earlier message."), await resume(t, eoi)]
    kept = {}
    if eoi.offer and await eois.offer_taken(t.session, eoi, ""):
        # The school's other draft here is the one not yet saying which provision: this one stays its RP (or PP).
        kept = {PROVISION_QUESTION: eoi.offer}
    _save(t, eoi, kept, "", changing=False)
    audit.record(
        t.session,
        at=t.now,
        actor=t.actor,
        action="cancel draft",
        eoi_id=eoi.id,
        from_status=eois.DRAFT,
        to_status=eois.DRAFT,
        note="answers deleted",
    )
    leave(t)
    still = f" It stays {t.school.name}'s {offer_name(eoi.offer)} draft." if kept else ""
    return [
        say(
            md(
                "Your draft's answers have been deleted.{} Type *start* whenever you want to begin again.",
                still,
            )
        )
    ]


async def _submit(t: EoiTurn, eoi: EOI) -> list[Reply]:
    ctx = await answer_context(t, eoi)
    for q in t.questions.applicable(_known_to(t, eoi)):
        if q.id not in eoi.answers:
            _save(t, eoi, eoi.answers, q.id)
            return [say("Before you submit, this question needs an answer."), await resume(t, eoi)]
        value = eoi.answers[q.id]
        problem = None if value is None and q.optional else check_answer(q, value, ctx, known(t, eoi))
        if problem:
            _save(t, eoi, eoi.answers, q.id, changing=True)
            check = md("Before you submit, please check “{}”: {}", q.label, problem.message)
            return [refuse(check), await resume(t, eoi)]
    try:
        await eois.ensure_window_for_submit(t.session, eoi, t.now)
    except eois.SubmissionsClosed as closed:
        _save(t, eoi, eoi.answers, REVIEW)
        leave(t)
        return [refuse(submissions_closed(closed.upcoming))]
    _save(t, eoi, eoi.answers, DECLARATION)
    return [ask_declaration(t, eoi)]


async def _declare(t: EoiTurn, eoi: EOI, text: str) -> list[Reply]:
    q = t.questions.declaration
    ctx = await answer_context(t, eoi)
    value = read_answer(q, text, ctx, known(t, eoi))
    if isinstance(value, Problem):
        return [refuse(value.message), ask_declaration(t, eoi)]
    if value_of(value) != "yes":
        _save(t, eoi, eoi.answers, REVIEW)
        return [say("Not submitted. Your draft is saved."), await review(t, eoi)]
    try:
        window = await eois.ensure_window_for_submit(t.session, eoi, t.now)
    except eois.SubmissionsClosed as closed:
        _save(t, eoi, eoi.answers, REVIEW)
        leave(t)
        return [refuse(submissions_closed(closed.upcoming))]
    answers = {**eoi.answers, q.id: "yes"}
    _save(t, eoi, answers, "")
    again = eoi.submitted_at is not None  # amended, or restarted after a withdrawal: the same reference
    await transitions.transition(t.session, eoi, "submit", by=SCHOOL, actor=t.actor, now=t.now)
    leave(t)
    if again:
        await _tell_officers(
            t, "submit", eois.DRAFT, eoi, "resubmitted", f"{t.school.name} resubmitted {eoi.ref} (the same reference)."
        )
    else:
        await _tell_officers(t, "submit", eois.DRAFT, eoi, "submitted", f"{t.school.name} submitted {eoi.ref}.")
    closes = format_date(window.closes_at.astimezone(LONDON).date())
    answers_shown, files = await _as_sent(t, eoi)
    copy = await school_copy.send_school_copy(
        t.session,
        eoi=eoi,
        school=t.school,
        answers=answers_shown,
        files=files,
        now=t.now,
        email_configured=t.email,
        resubmitted=again,
    )
    copy.remake = f"copy {eoi.ref}"
    return [
        Reply(
            kind="summary",
            title=f"{'Resubmitted' if again else 'Submitted'}: {eoi.ref}",
            reference=eoi.ref or "",
            text=(
                md(
                    "Thank you. {}: your expression of interest is {}. Your reference is *{}*.\nWhat happens "
                    "next: {} The window closes on {}; type *review* to see or change your answers. Shortlisted "
                    "schools are invited to discuss operational standards and service level agreements with "
                    "ECC.\nType *status* at any time to see where it is.",
                    t.school.name,
                    "resubmitted" if again else "submitted",
                    eoi.ref,
                    SHORTLISTING_RULE,
                    closes,
                )
            ),
        ),
        copy,
    ]


async def _as_sent(t: EoiTurn, eoi: EOI) -> tuple[list[tuple[str, str]], list[tuple[str, str, int]]]:
    """The answers as the review shows them (label, answer), and the files (name, type, size): the school's copy."""
    ctx = await answer_context(t, eoi)
    answers = [
        (q.label_for(eoi.answers.get(q.id), ctx.today), shown)
        for q, shown in _answer_facts(t, eoi, ctx)
        if q.id in eoi.answers  # what was sent: a question added since it was submitted isn't in it
    ]
    files = [(f.name, evidence.kind_label(f.kind), f.size) for f in await evidence.files_of(t.session, eoi.id)]
    return answers, files


async def copy_of(t: EoiTurn, rest: str = "") -> list[Reply]:
    """`copy`: the PDF of the EOI as the school last sent it, again (read-only: nothing is sent anywhere else)."""
    eoi = await named_or_current(t, rest)
    if isinstance(eoi, Reply):
        return [eoi]
    if eoi is None or eoi.submitted_at is None:
        return [say(md("{} hasn't sent an EOI yet: a copy is made when you submit one.", t.school.name))]
    if eoi.status == eois.DRAFT:
        return [say(md("{} is being changed: the copy comes when you submit it again.", eoi.ref))]
    answers_shown, files = await _as_sent(t, eoi)
    pdf = await asyncio.to_thread(
        school_copy.school_copy,
        school_name=t.school.name,
        urn=t.school.urn,
        reference=eoi.ref or "",
        submitted_at=eoi.submitted_at,
        answers=answers_shown,
        files=files,
    )
    copy = school_copy.copy_reply(eoi.ref or "", pdf)
    copy.remake = f"copy {eoi.ref}"
    return [copy]


def submissions_closed(upcoming: Window | None) -> str:
    if upcoming:
        when = (
            f"The next window, {window_name(upcoming)}, opens {format_datetime(upcoming.opens_at)} and "
            f"closes {format_datetime(upcoming.closes_at)}."
        )
    else:
        when = "No further window has been announced yet; ECC will write to schools in scope when one is."
    return f"Submissions are closed: there is no window open now. Your draft is saved. {when}"


async def where_it_stands(
    session: AsyncSession, eoi: EOI, now: datetime, *, say_state: bool = True, moment: Moment | None = None
) -> Text:
    """What is true of the EOI now and what the school can do, as the life table judges it at this moment
    (dialogs.lifecycle_words.for_school), naming a later window open now where a new EOI can begin. Given the
    `moment` already read this turn, it isn't read again."""
    moment = moment or await transitions.moment(session, eoi, now)
    later = await open_window(session, now) if moment.phase == NEXT_OPEN else None
    return for_school_words(moment, next_window=window_name(later) if later else "", say_state=say_state)


async def status_reply(session: AsyncSession, eoi: EOI, school: School, now: datetime, *, for_school: bool) -> Reply:
    window = await session.get(Window, eoi.window_id) if eoi.window_id else None
    facts = [
        Fact("Reference", eoi.ref or "(given when a window opens)"),
        Fact("School", school.name),
        Fact("Status", eoi.status.capitalize()),
    ]
    if eoi.offer:
        facts.insert(2, Fact("Provision", offer_name(eoi.offer)))
    if window:
        facts.append(Fact("Window", window_name(window)))
    if eoi.submitted_at:
        facts.append(Fact("Submitted", format_datetime(eoi.submitted_at)))
    discussion = await eois.current_discussion(session, eoi.id)
    if discussion and eoi.status in eois.MAY_HAVE_A_DISCUSSION:
        where = f" at {discussion.place}" if discussion.place else ""
        held = discussion.starts_at <= now  # its time has come: what it was, not what is to come
        label, response = ("Discussion (held)", "") if held else ("Discussion", f" ({discussion.response})")
        facts.append(Fact(label, f"{format_datetime(discussion.starts_at)}{where}{response}"))
    if for_school:  # what was agreed at the discussion for someone to do, the school's own and ECC's
        actions = await discussion_outcomes.follow_up_lines(
            session, eoi, today=now.astimezone(LONDON).date(), for_school=True
        )
        if actions:
            facts.append(Fact("Actions from the discussion", "\n".join(actions)))
    moment = await transitions.moment(session, eoi, now)
    choices = []
    if for_school and eoi.status != eois.DRAFT:
        choices.append(Choice("See the answers", Command("review")))
    if for_school and discussion and moment.discussion_at is not None and discussion.response == "invited":
        # An invitation not yet answered: its buttons, as the invitation had them.
        choices += discussion_notices.answer_choices(eoi.ref or "")
    if for_school:
        choices += await discussion_outcomes.school_done_choices(session, eoi)
    if for_school and judge("restart", moment, SCHOOL).allowed:
        choices.append(Choice("Start it again", Command(f"start {eoi.ref}"), style="primary"))
    if for_school and eoi.status != eois.DRAFT and judge("withdraw", moment, SCHOOL).allowed:
        choices.append(Choice("Withdraw", Command(f"withdraw {eoi.ref}"), style="danger"))
    said = await where_it_stands(session, eoi, now, moment=moment)
    text = md("{} is *{}*. {}", eoi.ref or "Your draft", eoi.status, said)
    # Support through implementation: each side's next steps, and the school's Done buttons.
    facts += await implementation.next_steps_facts(session, eoi, now, for_school=for_school)
    if for_school:
        choices += await implementation.done_choices(session, eoi, by=SCHOOL, now=now)
    return Reply(text=text, kind="summary", title=f"{eoi.ref or 'Draft'}: {eoi.status}", facts=facts, choices=choices)


# The dialog's table, in the manner of a ConversationHandler (its entry points are the school's commands `start`,
# `review`, `amend` and `answer`, registered in dialogs.conversation).
EoiHandler = Callable[[EoiTurn, EOI], Awaitable[list[Reply]]]
# What the person was asked that waits for their next message (dialogs.conversation_state): it is taken first.
WAITING: dict[type[State], Callable[[EoiTurn, EOI, str], Awaitable[list[Reply] | None]]] = {
    ConfirmingCancel: _cancel_answered,
    CheckingAnswer: _reading_answered,
}
# The controls, typed (the words here) or pressed (dialogs.actions.Step), at any place in the dialog.
CONTROL_HANDLERS: dict[str, EoiHandler] = {
    "help": _help,
    "back": _back,
    "skip": _skip,
    "save": _save_for_later,
    "review": _review,
    "cancel": _ask_cancel,
    "submit": _submit,
    "cancel-confirmed": _cancel,
    "cancel-kept": _keep_going,
}
TYPED_CONTROLS = ("help", "back", "skip", "save", "review", "cancel", "submit")
# What a message is, by the person's place in the questions (None: not known yet, the first one not answered).
AT_PLACE: dict[type[Place] | type[None], Callable[[EoiTurn, EOI, str, str], Awaitable[list[Reply]]]] = {
    Answering: _at_question,
    Changing: _at_question,
    type(None): _at_question,
    Reviewing: _at_review,
    Declaring: _at_declaration,
}


def at_school(t: CommandTurn) -> EoiTurn:
    """A command's turn at the school the person acts for now (the router runs `at_school` handlers only once
    they have chosen one)."""
    assert t.school is not None and t.questions is not None
    return EoiTurn(t.session, t.person, t.school, t.now, t.questions, email=t.email)


@handles("start", HEADTEACHER, at_school=True)
async def start_command(t: CommandTurn) -> list[Reply]:
    return await start(at_school(t), t.rest)


@handles("review", HEADTEACHER, at_school=True)
async def review_at_school(t: CommandTurn) -> list[Reply]:
    return await review_command(at_school(t), t.rest)


@handles("copy", HEADTEACHER, at_school=True)
async def copy_command(t: CommandTurn) -> list[Reply]:
    return await copy_of(at_school(t), t.rest)


@handles("amend", HEADTEACHER, at_school=True)
async def amend_command(t: CommandTurn) -> list[Reply]:
    return await amend(at_school(t), t.rest)


@handles("answer", HEADTEACHER, at_school=True)
async def answer_command(t: CommandTurn) -> list[Reply]:
    """A long answer written in a form (answer_form: a Slack modal, a Teams card), its words as submitted in the
    form's one field; typed, `answer QID TEXT`."""
    here = at_school(t)
    eoi = await current(here)
    if eoi is None or eoi.status != eois.DRAFT:
        return [say(md("There is no draft to answer: type *start* to begin, or *status*."))]
    qid, _, text = t.rest.partition(" ")
    if ANSWER_FIELD in t.values:
        text = t.values[ANSWER_FIELD]
    return await answer_from_form(here, eoi, qid, text)
