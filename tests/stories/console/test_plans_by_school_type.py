"""An approved EOI's plan follows its school's type, as councils run it: a maintained school's new provision is a
prescribed alteration (a statutory proposal, four weeks of representations, a decision), an academy's a
significant change the DfE approves and a funding agreement varied. Every plan has the high-needs place change by
the DfE's deadline, staff recruited by the teachers' resignation date, admissions and the SLA, and the building
work when the EOI said the space needs it. Dates are worked back from the opening date; one already past when the
EOI is approved is flagged to the officer at once. An officer can set the plan (`plan REF academy`)."""

from __future__ import annotations

from datetime import timedelta

from dialogs.replies import Reply
from tests.chat import LONG_VISION, RESOURCED_ANSWERS, STAFFING, Chat, complete_eoi, headteacher, officer
from tests.stories.console.test_decision_story import told

ACADEMY = "114003"  # an academy converter in Colchester Learning Trust, in the demo register
ACADEMY_ANSWERS = [
    *("Resourced Provision", "ASD", "none", "KS3, KS4", "12", "September 2027", "All at once", "1"),
    "Space that needs adaptation",
    "Two classrooms on the first floor, next to the lift.",
    "Knock through two rooms and add an accessible toilet; the trust's surveyor would manage it.",
    "£60,000",
    "No",  # no contribution
    *("Yes", "Yes", "Our SENCo has the NPQ; two staff are trained in autism education.", STAFFING, "No"),
    *("14", "38", LONG_VISION, "done", "Yes, approved", "12 November 2026"),
    *("Yes", "Jane Smith, CEO", "3 November 2026"),  # the trust's sign-off
    *("Sam Patel", "Headteacher", "sam.patel@school.example", "skip"),
]


async def _decided(service, clock, head: Chat, answers: list[str], *, approve_on: timedelta) -> tuple[str, str]:
    """The head's EOI submitted, discussed on 3 December, approved `approve_on` after the story's start: (its
    reference, what the approving officer was told)."""
    said = await complete_eoi(head, answers)
    ref = next(w.strip(".,*") for w in said.split() if w.startswith("EOI-"))
    desk = officer(service)
    await desk.say(f"shortlist {ref}")
    await desk.say(f"schedule {ref} 3/12 10:30")
    clock.advance(approve_on)
    return ref, await desk.say(f"decide {ref} approve")


def _plan_heard(notices: list[Reply]) -> tuple[str, str]:
    """The plan in the school's decision notice: (its label, its milestones)."""
    decision = next(r for r in notices if r.title.endswith("approved"))
    (plan,) = [f for f in decision.facts if f.label.startswith("Implementation plan")]
    return plan.label, plan.value


async def test_a_community_schools_plan_has_the_statutory_steps_worked_back_from_a_september_opening(
    service, clock
) -> None:
    head = await headteacher(service)
    ref, said = await _decided(service, clock, head, RESOURCED_ANSWERS, approve_on=timedelta(days=3, hours=3))
    assert "Already past" not in said  # approved on 3 December after the discussion: the place change is due next day
    label, plan = _plan_heard(await told(service, "head", school="114000"))
    assert label == "Implementation plan (a maintained school's prescribed alteration)"
    for line in (
        "2. Statutory proposal published (prescribed alteration) (ECC): due 21 February 2027",
        "3. Four-week representation period closed (ECC): due 21 March 2027",
        "4. Statutory decision made (within two months of the representation period) (ECC): due 4 April 2027",
        "5. High-needs place change notified to the DfE (ECC): due 4 December 2026",
        "6. Staffing recruited (school): due 31 May 2027",  # teachers resign by 31 May to start in September
        "9. First pupils (school; ECC marks it done): due 1 September 2027",
    ):
        assert line in plan, plan
    assert "Significant change" not in plan and "Capital works" not in plan  # its space is ready now
    # The statutory decision waits for the representation period, which waits for the proposal.
    desk = officer(service)
    refused = await desk.say(f"done {ref} decision")
    assert "can't be marked done" in refused and "Four-week representation period closed" in refused


async def test_an_academy_approved_in_january_gets_the_dfe_steps_and_building_work_and_a_past_date_flagged(
    service, clock
) -> None:
    head = await headteacher(service, ACADEMY, user="academy-head")
    ref, said = await _decided(service, clock, head, ACADEMY_ANSWERS, approve_on=timedelta(days=40))
    # 9 January 2027: the DfE's place-change deadline for 2027/28 has gone, so the officer is told at once.
    assert "Already past its date at approval" in said
    assert "High-needs place change notified to the DfE (was due 4 December 2026)" in said
    label, plan = _plan_heard(await told(service, "academy-head", school=ACADEMY))
    assert label == "Implementation plan (an academy's significant change)"
    for line in (
        "Significant change application sent to the DfE (school): due 3 February 2027",
        "Significant change approved by the DfE (school): due 4 April 2027",
        "Funding agreement varied (school): due 2 August 2027",
        "Feasibility study of the building work (ECC): due 6 April 2027",
        "Capital works complete (school): due 4 August 2027",
        "High-needs place change notified to the DfE (ECC): LATE: was due 4 December 2026",
    ):
        assert line in plan, plan
    assert "Statutory proposal" not in plan

    # The register was wrong: the officer sets the plan. The DfE's steps not done go, the statutory ones come, and
    # the school is told.
    desk = officer(service)
    assert "done" in await head.say(f"done {ref} significant change")
    changed = await desk.say(f"plan {ref} maintained")
    assert "now follows a maintained school's prescribed alteration" in changed
    assert "Significant change application sent to the DfE (school): done" in changed  # done stays done
    assert "Funding agreement varied" not in changed and "Statutory proposal published" in changed
    heard = await told(service, "academy-head", school=ACADEMY)
    assert any("implementation plan to a maintained school's prescribed alteration" in r.text.plain for r in heard)
    assert "Say which" in await desk.say(f"plan {ref} federation")
