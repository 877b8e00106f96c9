"""The discussion's agenda is data (dialogs/discussion_agenda.yaml) that loads with every topic explained for both
provisions and named one way only, and the times a school types when asking for another time are read as
officers' are (dialogs/dates.py), each checked. NOW is Monday 30 November 2026, 10:00 in London."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from dialogs.agenda import AGENDA_FILE, OFFERS, agenda, load_agenda
from dialogs.dates import DEFAULT_WORKING_HOURS
from dialogs.discussion_replies import read_times
from tests.conftest import LONDON, NOW


def test_the_agenda_covers_operational_standards_and_the_sla_for_both_provisions() -> None:
    found = agenda()
    ids = [t.id for t in found.topics]
    assert {"admissions", "staffing", "accommodation", "funding", "outreach", "quality"} <= set(ids)
    for topic in found.topics:
        for offer in OFFERS:
            assert len(topic.explanation(offer)) > 40, (topic.id, offer)
    # A Partnership Provision's pupils stay on roll at their own school; a Resourced Provision has a top-up.
    assert "on roll at their own school" in found.topic("admissions").explanation("partnership")
    assert "top-up" in found.topic("funding").explanation("resourced")
    assert found.school_roles and found.ecc_roles


@pytest.mark.parametrize(
    ("named", "topic"),
    [
        ("funding", "funding"),
        ("SLA", "funding"),
        ("4", "funding"),
        ("Staffing and training", "staffing"),
        ("partnership working", "outreach"),
        ("qa", "quality"),
    ],
)
def test_a_topic_is_named_by_its_id_number_title_or_an_alias(named: str, topic: str) -> None:
    found = agenda().topic(named)
    assert found is not None and found.id == topic


def test_a_name_given_to_two_topics_refuses_to_load(tmp_path: Path) -> None:
    text = AGENDA_FILE.read_text(encoding="utf-8").replace("aliases: [staff, training", "aliases: [sla, training")
    clash = tmp_path / "agenda.yaml"
    clash.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match="'sla' names both"):
        load_agenda(clash)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("Thursday 10am or Friday 2pm", [datetime(2026, 12, 3, 10), datetime(2026, 12, 4, 14)]),
        ("Thursday 3 December, 10am", [datetime(2026, 12, 3, 10)]),
        ("Tuesday at 9:30am; Wednesday 2pm", [datetime(2026, 12, 1, 9, 30), datetime(2026, 12, 2, 14)]),
        ("Friday week at 11am\nor Monday 14 December at 3pm", [datetime(2026, 12, 11, 11), datetime(2026, 12, 14, 15)]),
    ],
)
def test_the_times_a_school_suggests_are_read(typed: str, expected: list[datetime]) -> None:
    times, problem = read_times(typed, now=NOW, hours=DEFAULT_WORKING_HOURS)
    assert not problem
    assert [at for at, _ in times] == [e.replace(tzinfo=LONDON) for e in expected]


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        ("Thursday 10am or whenever suits", "whenever suits"),
        ("last Monday at 2pm", "in the past"),
        ("Tuesday", "no time"),
        ("Monday 9am, Tuesday 9am, Wednesday 9am, Thursday 9am, Friday 9am, 14 December 9am", "up to 5"),
    ],
)
def test_times_that_cannot_be_booked_are_refused_saying_why(typed: str, said: str) -> None:
    times, problem = read_times(typed, now=NOW, hours=DEFAULT_WORKING_HOURS)
    assert times == [] and said in problem
