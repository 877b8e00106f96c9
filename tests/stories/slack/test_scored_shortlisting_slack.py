"""Scored shortlisting in Slack (issue 27): an officer's `/eoi score REF` offers the council's criteria and a Score
button, which opens a modal with a 0-3 choice and a reason for each; a reason left blank is refused on its field with
the modal as it was filled in, and once every criterion has a score and a reason they are kept and `show` has them,
under the officer's Slack name."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from storage.clock import Clock
from storage.models import EOI, Score
from tests import chat
from tests.conftest import TestDatabase as _TestDatabase
from tests.slack_fixtures import OFFICER_ID, SCHOOL_URN, Workspace, slack_workspace

SCORED = {
    "need": (3, "Matches the ASD need in Colchester"),
    "travel": (2, "On the bus route from Tiptree"),
    "accommodation": (3, "Two classrooms ready now"),
    "staffing": (2, "Two TAs with Level 3 autism training"),
    "leadership": (3, "A strong inclusion record"),
    "value": (2, "Fair for 12 places"),
}


@pytest.fixture
async def slack(test_db: _TestDatabase, clock: Clock) -> AsyncIterator[Workspace]:
    async with slack_workspace(test_db, clock) as workspace:
        yield workspace


def _chosen(value: str) -> dict:
    return {"value": {"type": "static_select", "selected_option": {"value": value}}}


async def test_an_officer_scores_an_eoi_on_a_slack_modal(slack: Workspace) -> None:
    await chat.complete_eoi(await chat.headteacher(slack.service, SCHOOL_URN))
    async with slack.service.db.session() as session:
        ref = (await session.scalar(select(EOI).where(EOI.school_urn == SCHOOL_URN))).ref
    officer = slack.person(OFFICER_ID)

    await officer.slash(f"score {ref}")
    assert "Fit to the identified need (need)" in officer.heard and "Value for money (value)" in officer.heard
    _, _, button = officer.button("Score")
    assert len(button["value"]) <= 2000  # the whole form rides on the button
    await officer.press("Score")
    view = (await slack.fake.wait_for("views.open"))[-1]["view"]
    inputs = [b for b in view["blocks"] if b["type"] == "input"]
    assert [b["block_id"] for b in inputs] == [name for key in SCORED for name in (key, f"{key}_why")]
    assert inputs[0]["label"]["text"] == "Fit to the identified need"
    assert [o["value"] for o in inputs[0]["element"]["options"]] == ["0", "1", "2", "3"]
    assert inputs[1]["element"]["type"] == "plain_text_input" and inputs[1]["element"]["max_length"] == 500

    # A reason of nothing but spaces: refused on its field, the modal stays open as filled in; nothing kept.
    values = {}
    for key, (score, reason) in SCORED.items():
        values[key] = _chosen(str(score))
        values[f"{key}_why"] = {"value": reason}
    refused = await officer.submit_modal({**values, "value_why": {"value": "   "}}, view=view)
    errors = (await refused.json())["errors"]
    assert list(errors) == ["value_why"] and "Value for money: say why" in errors["value_why"]
    async with slack.service.db.session() as session:
        assert (await session.scalars(select(Score))).all() == []

    kept = await officer.submit_modal(values, view=view)
    assert kept.status == 200 and not (await kept.read())
    assert "Kept your scores of" in officer.text and "Your total: 15 of 18." in officer.text
    assert "Location and travel: 2 (reachable): On the bus route from Tiptree" in officer.text

    await officer.slash(f"show {ref}")
    shown = officer.heard
    assert "*Scores by Olu Officer (Slack)*: \nTotal 15 of 18" in shown
    assert "Accommodation readiness: 3 (ready now): Two classrooms ready now" in shown
    # Scoring again opens the form holding this officer's scores (Slack's button carries the form without what its
    # boxes held: the dialog fills them in as it opens).
    _, _, again = officer.button("Score", officer.latest)
    assert json.loads(again["value"])["command"] == f"score {ref}"
    await officer.press("Score", messages=officer.latest)
    reopened = (await slack.fake.wait_for("views.open"))[-1]["view"]
    held = {b["block_id"]: b["element"] for b in reopened["blocks"] if b["type"] == "input"}
    assert held["travel"]["initial_option"]["value"] == "2"
    assert held["travel_why"]["initial_value"] == "On the bus route from Tiptree"
