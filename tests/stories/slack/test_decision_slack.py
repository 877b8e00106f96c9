"""After the shortlist, in Slack: a stakeholder recommends with the buttons and a reason in a modal, the officer
decides with a reason, the school and its headteacher hear each step in Slack, the school marks its milestones
done with the buttons offered as each one's turn comes, an officer confirms first pupils (which opens the provision),
and the officer's `report` arrives as a chart image."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from storage.clock import Clock
from storage.models import EOI
from tests import chat
from tests.conftest import TestDatabase as _TestDatabase
from tests.slack_fixtures import HEAD_ID, OFFICER_ID, SCHOOL_CHANNEL, SCHOOL_URN, Workspace, slack_workspace, text_of

FINANCE_ID = "U0FINANCE"
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
async def slack(test_db: _TestDatabase, clock: Clock) -> AsyncIterator[Workspace]:
    async with slack_workspace(test_db, clock) as workspace:
        workspace.fake.add_user(FINANCE_ID, "fay.finance@essex.example", "Fay Finance")
        yield workspace


async def _status(slack: Workspace) -> str:
    async with slack.service.db.session() as session:
        return (await session.scalar(select(EOI).where(EOI.school_urn == SCHOOL_URN))).status


def school_heard(slack: Workspace) -> str:
    """The newest message in the school's channel; its headteacher's DM has the same."""
    channel, dm = text_of(slack.posted_to(SCHOOL_CHANNEL)[-1]), text_of(slack.posted_to(HEAD_ID)[-1])
    assert channel == dm
    return channel


async def test_a_panel_decision_and_an_implementation_plan_to_first_pupils_in_slack(slack: Workspace) -> None:
    head_console = await chat.headteacher(slack.service, SCHOOL_URN)
    await chat.complete_eoi(head_console)
    async with slack.service.db.session() as session:
        ref = (await session.scalar(select(EOI).where(EOI.school_urn == SCHOOL_URN))).ref
    head, officer, finance = slack.person(HEAD_ID), slack.person(OFFICER_ID), slack.person(FINANCE_ID)
    await head.types("status")  # the headteacher is known on Slack (linked to the school by email)
    await finance.types("hi")  # a stakeholder: no school, no role; help says how to answer a request
    assert "recommend" in finance.heard

    await officer.slash(f"shortlist {ref}")
    await slack.deliver_notices()
    assert "shortlisted" in school_heard(slack)

    await officer.slash(f"panel {ref} slack:{FINANCE_ID} as finance, me as SEND quadrant lead")
    assert f"{ref} is under consideration" in officer.heard and "Fay Finance (Slack) (finance)" in officer.heard
    await slack.deliver_notices()
    assert "under consideration" in school_heard(slack)

    # The stakeholder's own DM: the request with Approve / Decline / Abstain; Approve asks for the reason.
    request = slack.posted_to(FINANCE_ID)[-1]
    assert "your recommendation" in text_of(request) and ref in text_of(request)
    finance.seen.append(request)
    for label in ("Decline", "Abstain"):
        finance.button(label)
    await finance.press("Approve")
    view = (await slack.fake.wait_for("views.open"))[-1]["view"]
    assert [b["block_id"] for b in view["blocks"] if b["type"] == "input"] == ["reason"]
    empty = await finance.submit_modal({"reason": {"value": "ok"}}, view=view)
    assert (await empty.json())["errors"]["reason"]
    good = await finance.submit_modal({"reason": {"value": "Within the high needs budget"}}, view=view)
    assert good.status == 200 and "your recommendation (approve)" in finance.text
    await slack.deliver_notices()
    to_officer = text_of(slack.posted_to(OFFICER_ID)[-1])
    assert "Fay Finance recommends *approve*" in to_officer and "Within the high needs budget" in to_officer

    await officer.slash(f"decide {ref} decline")
    assert "A decline needs a reason" in officer.heard and await _status(slack) == "under consideration"
    await officer.slash(f"decide {ref} approve The panel supports the offer")
    assert f"Recorded: {ref} approved" in officer.heard
    await slack.deliver_notices()
    decision = school_heard(slack)
    assert "approved" in decision and "The panel supports the offer" in decision
    assert "Staffing recruited (school)" in decision
    # A community school's plan: the prescribed alteration's statutory steps, worked back from a September opening.
    assert "Implementation plan (a maintained school's prescribed alteration)" in decision
    assert "representation period) (ECC): due 4 April 2027" in decision  # the statutory decision
    assert "Staffing recruited (school): due 31 May 2027" in decision and "Significant change" not in decision

    # The school's next steps in status, with a Done button only for what it may mark now (staffing waits for the
    # SLA); first pupils, the day after the decision, is refused to the officer, naming everything still to do.
    await head.types("status")
    assert "Your next steps" in head.heard and "First pupils (school; ECC marks it done)" in head.heard
    with pytest.raises(AssertionError, match="no button 'Done: Staffing"):
        head.button("Done: Staffing recruited", head.latest)
    await head.press("Done: Accommodation ready", messages=head.latest)
    assert "Marked done: Accommodation ready" in head.text
    await officer.slash(f"done {ref} first pupils")
    for waiting in ("Service level agreement signed (ECC)", "Staffing recruited (school)", "Admissions agreed"):
        assert waiting in officer.heard
    assert await _status(slack) == "approved"

    # ECC marks its own and the school hears, with the button for the step that has now come.
    # (a community school: a maintained school's statutory steps are ECC's too)
    for key in ("sla", "admissions", "proposal", "representation", "decision", "place change"):
        await officer.slash(f"done {ref} {key}")
    await slack.deliver_notices()
    assert "High-needs place change notified to the DfE done" in school_heard(slack)
    head.seen.append(slack.posted_to(HEAD_ID)[-1])
    await head.press("Done: Staffing recruited")
    assert "Marked done: Staffing recruited" in head.text
    await head.types("status")
    with pytest.raises(AssertionError, match="no button 'Done: First pupils"):
        head.button("Done: First pupils", head.latest)

    # The officer opens the provision from their status, confirming with the Yes button.
    await officer.types("status")
    await officer.press("Done: First pupils", messages=officer.latest)
    assert "Mark “First pupils” done" in officer.text and await _status(slack) == "approved"
    await officer.press("Yes, it's open")
    assert "The provision is open" in officer.text and await _status(slack) == "opened"
    await slack.deliver_notices()
    assert "is *open*: first pupils" in school_heard(slack)

    # The report: numbers in the DM, and the chart uploaded there as a PNG.
    await officer.slash("report")
    assert "opened 12 (1)" in officer.heard
    shared = [f for f in slack.fake.files.values() if f["name"].startswith("report-2627A-")]
    assert len(shared) == 1
    assert slack.fake.uploads[shared[0]["id"]].startswith(PNG)
