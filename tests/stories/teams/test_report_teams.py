"""An officer's `report` in Teams: the numbers on a card and the chart as an inline PNG image attachment, small
enough for a Teams message."""

from __future__ import annotations

import base64
import json

from tests import chat
from tests.stories.teams import test_teams_e2e as e2e
from tests.stories.teams.test_teams_e2e import OFFICER_ID, Teams

connector, svc, teams = e2e.connector, e2e.svc, e2e.teams  # the Teams fixtures, shared

TEAMS_MESSAGE_LIMIT = 100_000  # bytes: a bot message larger than about this is refused (413)


async def test_an_officer_sees_the_report_with_its_chart_inline_in_teams(teams: Teams) -> None:
    await chat.complete_eoi(await chat.headteacher(teams.service))
    officer = teams.user(OFFICER_ID, "Olu Officer")
    await officer.say("report")
    [activity] = officer.seen
    images = [a for a in activity["attachments"] if a["contentType"] == "image/png"]
    assert len(images) == 1 and images[0]["name"].startswith("report-2627A-")
    header, _, encoded = images[0]["contentUrl"].partition(",")
    assert header == "data:image/png;base64" and base64.b64decode(encoded).startswith(b"\x89PNG")
    assert "identified 96 · offered 12 (1 EOI)" in json.dumps(activity, ensure_ascii=False)
    assert len(json.dumps(activity).encode()) < TEAMS_MESSAGE_LIMIT
