"""Answers that depend on answers: each question declares what it depends on (dialogs/questions/eoi.yaml);
when an answer changes, every answer depending on it is checked again at once, the ones that no longer hold
are cleared and asked again, and the headteacher is told which and why, before the review. The choices
offered are always the ones that hold for the answers so far, and the declaration's words follow the
governance answer. A property-based test changes answers at random at the review and proves that no
submitted EOI breaks a rule."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.service import open_service
from dialogs import school_facts
from dialogs.actions import Answer, ChangeAnswer
from dialogs.answers import AnswerContext, asked_again_because, check_answer
from dialogs.demo import seed_demo
from dialogs.eoi_dialog import EoiTurn, answer_context
from dialogs.questions import QUESTIONS_FILE, eoi_questions, load_questions
from storage import eois
from storage.clock import Clock
from storage.db import Database
from storage.models import EOI, Person, School
from storage.report import academic_year_of_answer
from tests.chat import LONG_VISION, RESOURCED_ANSWERS, Chat, headteacher, officer
from tests.conftest import NOW, make_settings

COLCHESTER_PRIMARY, COLCHESTER_SECONDARY = "114000", "114003"


def _question_choices(chat: Chat) -> list[str]:
    return [c.label for c in chat.last.choices if isinstance(c.action, Answer)]


async def _to_review(chat: Chat, answers: list[str]) -> None:
    await chat.say("start")
    for answer in answers:
        await chat.say(answer)
    assert chat.last.kind == "review", chat.text


async def test_a_head_who_changes_resourced_to_partnership_is_asked_again_what_no_longer_holds(service):
    head = await headteacher(service, urn=COLCHESTER_PRIMARY)
    answers = list(RESOURCED_ANSWERS)
    answers[4] = "24"  # places: fine for a Resourced Provision (4-30), too many for a Partnership one (4-16)
    await _to_review(head, answers)
    await head.press("Change Provision type")
    told = await head.say("Partnership Provision")
    # Told at once, before the review, which answers no longer hold and why.
    assert "Because you changed Provision type" in told
    assert "Primary need isn't asked any more, so I've removed it." in told  # a Partnership Provision is SEMH
    assert "I'll ask Places again: it must now be from 4 to 16, and you said 24." in told
    assert "I'll ask Priority need answered again" in told
    # ...and asked again, one at a time, before the review: other needs first, as SEMH is now the primary need.
    assert "I'll ask Other needs again: the choices it offers are different now." in told
    assert head.last.question_id == "other_needs"
    await head.say("none")
    assert head.last.question_id == "places"
    await head.say("12")
    assert head.last.question_id == "priority_need"
    # Only what holds for a Partnership Provision in a Colchester primary: no identified PP need there.
    assert _question_choices(head) == ["Another need (explain)"]
    await head.say("1")
    await head.say("Three local primaries have asked for SEMH outreach this year; exclusions are rising.")
    assert head.last.kind == "review"
    await head.press("Submit")
    await head.press("I confirm")
    assert "submitted" in head.text
    ref = re.search(r"EOI-\w+-\d{3}", head.text).group(0)
    shown = await officer(service).say(f"show {ref}")
    assert "Partnership Provision" in shown and "Another need" in shown
    assert "ASD, Resourced" not in shown


async def test_a_head_who_amends_a_partnership_back_to_resourced_is_asked_the_priority_need_again(service):
    """ "Another need", written for an SEMH Partnership Provision, means something else for an ASD Resourced
    one, and Colchester has an identified ASD RP need: the head is asked again, and the old words go."""
    head = await headteacher(service, urn=COLCHESTER_PRIMARY)
    await head.say("start")
    for answer in ["Partnership Provision", *RESOURCED_ANSWERS[2:7]]:
        await head.say(answer)
    assert _question_choices(head) == ["Another need (explain)"]  # no identified PP need in Colchester
    await head.say("1")
    await head.say("Exclusions for SEMH are rising across our partner primaries this year.")
    for answer in RESOURCED_ANSWERS[8:]:
        await head.say(answer)
    await head.press("Submit")
    ref = re.search(r"EOI-\w+-\d{3}", await head.press("I confirm")).group(0)

    await head.say("amend")
    await head.press("Change Provision type")
    told = await head.say("Resourced Provision")
    assert "Because you changed Provision type" in told
    assert "I'll ask Priority need answered again: the choices it offers are different now." in told
    assert "Other need explained is cleared too, as it goes with Priority need answered." in told
    assert head.last.question_id == "primary_need"
    await head.say("ASD")
    await head.say("none")  # other needs: asked again, as ASD is no longer the primary need it left out
    assert head.last.question_id == "priority_need"
    assert _question_choices(head)[0].startswith("ASD: Autistic Spectrum Disorder, Resourced Provision, Colchester")
    await head.say("1")
    assert head.last.kind == "review", head.text
    assert "Exclusions for SEMH" not in head.text and "Another need" not in head.text
    await head.press("Submit")
    assert "resubmitted" in await head.press("I confirm")
    exported = officer(service)
    await exported.say("export")
    [row] = [r for r in csv.DictReader(io.StringIO(exported.last.file[1])) if r["ref"] == ref]
    assert row["priority_need"].startswith("ASD/resourced/Colchester") and row["priority_need_other"] == ""


async def test_a_head_who_changes_to_partnership_is_told_plainly_what_is_asked_again_and_why(service):
    head = await headteacher(service, urn=COLCHESTER_PRIMARY)
    await _to_review(head, list(RESOURCED_ANSWERS))
    await head.press("Change Provision type")
    told = await head.say("Partnership Provision")
    # Why, in the head's terms: not an error message with a list of options to choose from.
    assert "no longer available" not in told and "Please choose" not in told
    assert (
        "I'll ask Priority need answered again: “ASD: Autistic Spectrum Disorder, Resourced Provision, "
        "Colchester, primary (high priority)” isn't one of its choices now." in told
    )


async def test_a_colchester_secondary_offering_an_autism_rp_is_offered_only_needs_that_fit(service):
    head = await headteacher(service, urn=COLCHESTER_SECONDARY)
    await head.say("start")
    for answer in ("Resourced Provision", "ASD", "none", "KS3", "12", "September 2027", "All at once"):
        await head.say(answer)
    assert head.last.question_id == "priority_need"
    # The only identified need in scope is an SEMH Partnership Provision: it doesn't fit an ASD RP.
    assert _question_choices(head) == ["Another need (explain)"]
    # Offering a Partnership Provision instead, the SEMH need is offered.
    for _ in range(7):
        await head.say("back")
    assert head.last.question_id == "provision_type"
    await head.say("Partnership Provision")
    assert head.last.question_id == "other_needs"  # asked again: SEMH is the primary need now, ASD can be other
    await head.say("none")
    while head.last.question_id != "priority_need":
        await head.press("Keep this answer")
    assert _question_choices(head)[0].startswith("SEMH: Social, Emotional and Mental Health, Partnership")


async def test_after_not_yet_discussed_the_declaration_does_not_claim_the_governors_support(service):
    head = await headteacher(service)
    answers = [a for a in RESOURCED_ANSWERS if a != "12 November 2026"]  # no date when not discussed
    answers[answers.index("Yes, approved")] = "Not yet discussed"
    await _to_review(head, answers)
    text = await head.press("Submit")
    assert "has not discussed it yet" in text
    assert "governing body (or trust) support" not in text
    # Changed to approved: the date is asked (it now applies), and the declaration says they support it.
    await head.press("Not yet")
    await head.press("Change Governing body")
    await head.say("Yes, approved")
    assert head.last.question_id == "governance_date"
    await head.say("12 November 2026")
    assert "support this expression of interest" in await head.press("Submit")


def test_a_question_may_depend_only_on_answers_asked_before_it(tmp_path: Path) -> None:
    source = QUESTIONS_FILE.read_text(encoding="utf-8")
    swapped = source.replace("skip_when: {provision_type: partnership}", "skip_when: {places: 12}")
    (tmp_path / "eoi.yaml").write_text(swapped, encoding="utf-8")
    with pytest.raises(ValueError, match=r"primary_need.*places"):
        load_questions(tmp_path / "eoi.yaml")


def test_what_each_question_depends_on_is_read_from_the_data() -> None:
    questions = eoi_questions()
    assert {q.id for q in questions.dependents("provision_type")} >= {
        "primary_need",
        "other_needs",
        "places",
        "priority_need",
        "priority_need_other",
    }
    assert [q.id for q in questions.dependents("governance")] == ["governance_date"]
    assert questions.declaration.depends_on == {"governance"}


# ------------------------------------------------------------------------------ the property
SCHOOLS = ("114000", "114003", "114015", "114045")  # primaries and a secondary, in and out of identified need
TEXTS = {
    "priority_need_other": "Local special schools report a waiting list for this need in our district.",
    "accommodation_details": "Two adjoining classrooms on the ground floor, with a sensory room and garden.",
    "accessible_site_details": "A ramp at the side entrance.",
    "works_estimate": "Knock two classrooms into one and add an accessible toilet; the council's contractor.",
    "staffing_model": "A qualified teacher in charge, with one teaching assistant for every three pupils.",
    "outreach_details": "Our SENCo already advises two nearby primaries.",
    "trust_signoff_by": "Jane Smith, CEO",
    "staff_expertise": "Our SENCo and two TAs hold Level 3 autism training; all staff have annual training.",
    "inclusion_vision": LONG_VISION,
    "contact_name": "Sam Patel",
    "contact_role": "Headteacher",
    "contact_email": "sam.patel@school.example",
    "contact_phone": "01245 123456",
}
NUMBERS = ("2", "4", "12", "16", "20", "30", "31", "0", "38")
SUMS = ("£10,000", "60k", "nothing", "£12,000,000")
DATES = ("September 2027", "January 2028", "12 November 2026", "next month", "1/9/27", "2031")
CHANGEABLE = [q.id for q in eoi_questions().questions]


async def _answer_what_is_asked(head: Chat, draw: Any, tried: dict[str, set[str]]) -> None:
    """Answer the question on screen with a drawn answer (sometimes one the bot refuses and re-asks). A person
    refused tries something else: a number or date already typed for this question is not drawn again (else
    Hypothesis may draw the same refused date forty times over and the head never gets back to the review)."""
    reply = head.last
    options = [c for c in reply.choices if isinstance(c.action, Answer)]
    typed = tried.setdefault(str(reply.question_id), set())

    async def type_one_of(answers: tuple[str, ...]) -> None:
        fresh = [a for a in answers if a not in typed]
        assert fresh, f"every one of {answers} was refused for {reply.question_id}: {head.text}"
        answer = draw(st.sampled_from(fresh))
        typed.add(answer)
        await head.say(answer)

    if reply.answer_type in ("single", "confirm", "yesno") and options:
        await head.press(options[draw(st.integers(0, len(options) - 1))].label)
    elif reply.answer_type == "multi":
        picks = [str(i + 1) for i in range(len(options)) if draw(st.booleans())]
        await head.say(", ".join(picks) or ("none" if any(c.label == "None" for c in options) else "1"))
    elif reply.answer_type == "number":
        await type_one_of(NUMBERS)
    elif reply.answer_type == "date":
        await type_one_of(DATES)
    elif reply.answer_type == "money":
        await type_one_of(SUMS)
    elif reply.answer_type == "places_by_year":
        await head.say(await _a_plan(head))
    elif reply.question_id in TEXTS:
        await head.say(TEXTS[reply.question_id])
    else:
        await head.say("skip")


async def _scenario(data: st.DataObject, folder: str) -> None:
    clock = Clock(NOW)
    url = f"sqlite+aiosqlite:///{folder}/eoi.db"
    db = Database(url)
    await db.upgrade()
    async with db.session() as session:
        await seed_demo(session, now=clock.now())
    service = await open_service(make_settings(url), clock=clock, db=db)
    try:
        urn = data.draw(st.sampled_from(SCHOOLS))
        head = await headteacher(service, urn=urn)
        await complete_eoi_to_review(head)
        for _ in range(data.draw(st.integers(1, 6))):
            qid = data.draw(st.sampled_from(CHANGEABLE))
            facts = head.last.facts
            change = next((f.change for f in facts if f.change and f.change.action == ChangeAnswer(qid)), None)
            if head.last.kind != "review" or change is None:
                continue  # that question doesn't apply to these answers
            await head.press(change.label)
            tried: dict[str, set[str]] = {}
            for _ in range(40):  # the change, then whatever it cleared, until back at the review
                if head.last.kind == "review":
                    break
                await _answer_what_is_asked(head, data.draw, tried)
            assert head.last.kind == "review", head.text
        await head.press("Submit")
        tried: dict[str, set[str]] = {}
        for _ in range(40):  # a refused submit names the question to fix; answer until the declaration
            if head.last.question_id == "declaration":
                break
            if head.last.kind == "review":
                await head.press("Submit")
                continue
            await _answer_what_is_asked(head, data.draw, tried)
        await head.press("I confirm")
        await _assert_submitted_eoi_keeps_every_rule(service, urn)
    finally:
        await service.close()


async def _a_plan(head: Chat) -> str:
    """Places that build up to those proposed, from the year the provision opens: a plan that holds."""
    async with head.service.db.session() as session:
        eoi = await session.scalar(select(EOI).where(EOI.status == eois.DRAFT))
        answers = dict(eoi.answers) if eoi else {}
    first = int(academic_year_of_answer(answers.get("start"))[:4] or 2027)
    places = int(answers.get("places") or 12)
    return f"{first}/{(first + 1) % 100:02d}: {places // 2}, {first + 1}/{(first + 2) % 100:02d}: {places}"


async def complete_eoi_to_review(head: Chat) -> None:
    await head.say("start")
    for _ in range(80):
        if head.last.kind == "review":
            return
        qid = head.last.question_id
        answer = {
            "provision_type": "1",
            "primary_need": "ASD",
            "other_needs": "none",
            "places": "12",
            "attachments": "done",
        }.get(qid)
        if answer is None and qid in TEXTS:
            answer = TEXTS[qid]
        if answer is None:
            answer = {"date": "September 2027", "number": "14", "money": "£10,000"}.get(head.last.answer_type, "1")
            if qid in ("governance_date", "trust_signoff_date"):
                answer = "12 November 2026"
            if head.last.answer_type == "multi":
                answer = "all"
        await head.say(answer)
    raise AssertionError(head.text)


async def _assert_submitted_eoi_keeps_every_rule(service: Any, urn: str) -> None:
    questions = eoi_questions()
    async with service.db.session() as session:
        eoi = await session.scalar(select(EOI).where(EOI.school_urn == urn))
        school = await session.get(School, urn)
        person = await session.scalar(select(Person).where(Person.school_urn == urn))
        assert eoi is not None and school is not None and person is not None
        assert eoi.status == eois.SUBMITTED, eoi.status
        ctx = await answer_context(EoiTurn(session, person, school, service.clock.now(), questions), eoi)
    known = {**eoi.answers, **school_facts.for_questions(school)}  # the register's facts, as the dialog knows them
    effective = questions.effective_answers(known)
    applicable = {q.id for q in questions.applicable(known)}
    stale = set(eoi.answers) - applicable - {questions.declaration.id}
    assert not stale, f"answers kept for questions that don't apply: {stale}"
    for q in questions.applicable(known):
        assert q.id in eoi.answers, f"{q.id} unanswered"
        value = eoi.answers[q.id]
        if value is None:
            assert q.optional, q.id
            continue
        assert check_answer(q, value, ctx, effective) is None, (q.id, value, effective)
    assert eoi.primary_need == effective.get("primary_need")


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_no_sequence_of_changes_at_the_review_submits_an_eoi_that_breaks_a_rule(data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(_scenario(data, folder))


def test_a_meeting_month_still_to_come_is_asked_again_in_words_when_the_governors_have_approved() -> None:
    """The governors' meeting was "September 2027" (kept as a month); the head then says they have approved it,
    so a day that has passed is wanted: the reason names the month as the head gave it (a month once crashed
    the review)."""
    q = eoi_questions().get("governance_date")
    assert q is not None
    ctx = AnswerContext(today=NOW.date())
    reason = asked_again_because(q, "2027-09", ctx, {"governance": "next_meeting"}, {"governance": "approved"})
    assert reason == "September 2027 is still to come, and it now asks for a day that has passed"
