"""A headteacher's EOI, told as stories through the same dialogs every channel uses."""

from __future__ import annotations

import re
from datetime import timedelta

from bot.service import open_service
from dialogs.rich import md
from storage import eois
from tests.chat import RESOURCED_ANSWERS, complete_eoi, headteacher, officer
from tests.conftest import make_settings


async def test_a_headteacher_completes_an_eoi_from_first_question_to_reference(service):
    head = await headteacher(service)
    text = await complete_eoi(head)
    assert "submitted" in text
    ref = re.search(r"EOI-2627A-\d{3}", text).group(0)
    assert "Shortlisting may begin as soon as an EOI is submitted" in text
    assert "The window closes on 18 December 2026" in text
    assert ref in await head.say("status")
    assert md("is *submitted*") in head.replies[0].text


async def test_a_headteacher_resumes_a_half_finished_eoi_after_a_restart(service, test_db, clock):
    head = await headteacher(service)
    await head.say("start")
    for answer in RESOURCED_ANSWERS[:7]:
        await head.say(answer)
    assert "Question 8 of" in head.text
    await head.say("save")
    await service.close()

    restarted = await open_service(make_settings(test_db.url), clock=clock, db=test_db.open())
    try:
        again = await headteacher(restarted)
        text = await again.say("start")
        assert "Welcome back" in text
        assert "Question 8 of" in text and "priority need" in text
        await again.say("review")
        facts = {f.label: f.value for f in again.last.facts}
        assert facts["Places"] == "12"
        assert facts["Proposed start"] == "September 2027"  # a month, as typed
    finally:
        await restarted.close()


async def test_a_second_member_of_staff_continues_the_same_draft(service):
    head = await headteacher(service, user="head-1")
    await head.say("start")
    await head.say("Partnership Provision")
    senco = await headteacher(service, user="senco-1")
    text = await senco.say("start")
    assert "Welcome back" in text
    # Partnership Provision fixes the need to SEMH and skips the primary need question.
    assert "Any other needs" in text


async def test_submission_is_refused_when_the_window_has_closed_and_the_next_dates_are_given(service, clock):
    head = await headteacher(service)
    await head.say("start")
    for answer in RESOURCED_ANSWERS:
        await head.say(answer)
    clock.advance(timedelta(days=60))  # past the demo window's close
    text = await head.press("Submit")
    assert "Submissions are closed" in text
    assert "draft is saved" in text
    assert "No further window" in text or "next window" in text


async def test_a_headteacher_cannot_see_another_schools_eoi(service):
    other = await headteacher(service, urn="114001", user="other-head")
    text = await complete_eoi(other)
    other_ref = re.search(r"EOI-2627A-\d{3}", text).group(0)
    head = await headteacher(service)
    assert "for ECC officers only" in await head.say(f"show {other_ref}")
    assert "has no EOI" in await head.say(f"withdraw {other_ref}")
    assert other_ref not in await head.say("status")


async def test_a_headteacher_trying_list_is_refused_and_the_attempt_is_audited(service):
    head = await headteacher(service)
    assert "for ECC officers only" in await head.say("list")
    async with service.db.session() as session:
        from sqlalchemy import select

        from storage.models import AuditEntry

        refused = (await session.scalars(select(AuditEntry).where(AuditEntry.action == "refused"))).all()
    assert any("list" in entry.note for entry in refused)


async def test_choosing_partnership_provision_skips_the_need_and_caps_places_at_16(service):
    head = await headteacher(service)
    await head.say("start")
    await head.say("2")
    await head.say("none")
    await head.say("KS2")
    text = await head.say("20")
    assert "from 4 to 16" in text
    await head.say("10")
    await head.say("review")
    facts = {f.label: f.value for f in head.last.facts}
    assert "Primary need" not in facts


async def test_help_back_skip_and_cancel_work_mid_dialog(service):
    head = await headteacher(service)
    await head.say("start")
    assert "Resourced Provision (RP)" in await head.say("help")
    await head.say("1")
    assert "Question 1 of" in await head.say("back")
    await head.press("Keep this answer")
    assert "can't be skipped" in await head.say("skip")
    await head.say("cancel")
    await head.press("Yes, delete")
    assert "deleted" in head.text
    assert "Question 1 of" in await head.say("start")


async def test_a_partnership_provision_is_not_offered_semh_again_as_another_need(service):
    head = await headteacher(service, urn="114003")  # a Colchester secondary
    await head.say("start")
    asked = await head.say("PP")
    assert "Any other needs" in asked and "ASD" in asked and "SEMH" not in asked


async def test_a_question_about_the_question_gets_its_help_not_a_refusal(service):
    head = await headteacher(service)
    await head.say("start")
    answer = await head.say("What's the difference between RP and PP?")
    assert "Partnership Provision (PP) is an SEMH resourced provision" in answer
    assert "didn't recognise" not in answer and "Which kind of provision" in answer
    assert "Which primary need" in await head.say("RP")


async def test_enhanced_provision_is_understood_and_answered_with_todays_terms(service):
    head = await headteacher(service)
    text = await head.say("Can we apply for an enhanced provision?")
    assert "no longer uses it" in text
    assert "Resourced Provision" in text


async def test_a_stale_button_changes_an_earlier_answer_without_corrupting_the_dialog(service):
    head = await headteacher(service)
    await head.say("start")
    await head.say("1")
    old_buttons = head.replies
    await head.say("ASD")
    head.replies = old_buttons  # the user scrolls up and presses a button on question 2
    text = await head.press("MLD")
    assert "Changed primary need to MLD" in text
    assert "Any other needs" in text  # still on question 3


async def test_every_eoi_of_the_window_gets_its_own_reference(service):
    first = await headteacher(service, urn="114000", user="a")
    second = await headteacher(service, urn="114001", user="b")
    assert "EOI-2627A-001" in await first.say("start")
    assert "EOI-2627A-002" in await second.say("start")
    async with service.db.session() as session:
        assert (await eois.by_ref(session, "eoi-2627a-002")).school_urn == "114001"


async def test_someone_not_in_the_register_is_told_how_to_get_linked(service):
    stranger = officer(service, user="stranger")
    text = await stranger.say("start")
    assert "couldn't match you to a school" in text
    assert "link console:stranger URN" in text


async def test_why_a_question_is_asked_reads_as_words_in_the_console_not_underscores(service):
    head = await headteacher(service)
    await head.say("start")
    for answer in RESOURCED_ANSWERS[:5]:
        await head.say(answer)
    assert head.last.question_id == "start"
    assert "\nIt must be after this window closes and within three years.\n" in head.text
    assert "_It must" not in head.text and "years._" not in head.text


async def test_what_a_head_and_an_officer_read_is_plain_grammatical_english(service):
    """Seen on a walk: "Let's start Meadow Primary School, Colchester's expression of interest", "When was (or
    will) it be discussed?", and "(- -> draft)" in the officer's history."""
    head = await headteacher(service)
    welcome = await head.say("start")
    assert "Let's start an expression of interest from Meadow Primary School, Colchester to host" in welcome
    assert "Colchester's" not in welcome
    for answer in RESOURCED_ANSWERS[: RESOURCED_ANSWERS.index("Yes, approved") + 1]:
        await head.say(answer)
    assert head.last.question_id == "governance_date"
    assert "When did the governing body (or trust) approve it?" in head.text and "(or will)" not in head.text
    for answer in RESOURCED_ANSWERS[RESOURCED_ANSWERS.index("Yes, approved") + 1 :]:
        await head.say(answer)
    await head.press("Submit")
    submitted = await head.press("I confirm")
    assert "Meadow Primary School, Colchester: your expression of interest is submitted" in submitted
    ref = re.search(r"EOI-2627A-\d{3}", submitted).group(0)
    history = await officer(service).say(f"show {ref}")
    assert "(draft → submitted)" in history and "(now draft)" in history and "(- → " not in history
