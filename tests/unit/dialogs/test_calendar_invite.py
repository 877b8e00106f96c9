"""The .ics a school is sent (dialogs/calendar_invite.py), read back with icalendar as a calendar would: a summer
discussion stays at its London time (BST) with the VTIMEZONE that says so, and a cancellation is the same event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from icalendar import Calendar

from dialogs.agenda import agenda
from dialogs.calendar_invite import CANCEL, REQUEST, Organiser, invitation
from storage.models import EOI, Discussion, School
from tests.conftest import LONDON

SCHOOL = School(
    urn="114000", name="Meadow Primary", headteacher_name="Pat Head", headteacher_email="pat@meadow.example"
)
EOI_ROW = EOI(id=7, ref="EOI-2627B-003", offer="partnership")


def _discussion(sequence: int) -> Discussion:
    return Discussion(
        starts_at=datetime(2027, 6, 15, 9, 30, tzinfo=LONDON).astimezone(UTC),
        duration_minutes=90,
        place="Room 4, County Hall, Chelmsford",
        calendar_uid="eoi-discussion-fixed@eoi-bot",
        sequence=sequence,
        attendees=["Jo Smith (SEND lead)"],
    )


def _read(method: str, sequence: int) -> tuple[Calendar, object]:
    now = datetime(2027, 6, 1, 8, 0, tzinfo=UTC)
    name, text = invitation(
        _discussion(sequence), EOI_ROW, SCHOOL, agenda=agenda(), method=method, organiser=Organiser("Olu"), now=now
    )
    assert name == "discussion-EOI-2627B-003.ics"
    calendar = Calendar.from_ical(text)
    (event,) = calendar.walk("VEVENT")
    return calendar, event


def test_a_summer_discussion_is_at_its_london_time_with_a_daylight_rule() -> None:
    calendar, event = _read(REQUEST, 0)
    assert calendar["METHOD"] == "REQUEST" and calendar["VERSION"] == "2.0"
    assert event["DTSTART"].params["TZID"] == "Europe/London"
    assert event["DTSTART"].dt == datetime(2027, 6, 15, 9, 30, tzinfo=LONDON)
    assert event["DTEND"].dt - event["DTSTART"].dt == timedelta(minutes=90)
    (zone,) = calendar.walk("VTIMEZONE")
    assert zone["TZID"] == "Europe/London" and zone.walk("DAYLIGHT")
    assert str(event["ATTENDEE"]) == "mailto:pat@meadow.example" and "ORGANIZER" not in event  # no email: none
    description = str(event["DESCRIPTION"])
    assert "on roll at their own school" in description  # a Partnership Provision's agenda
    assert "Invited by name: Jo Smith (SEND lead)" in description


def test_a_cancellation_is_the_same_event_with_a_higher_sequence() -> None:
    _, booked = _read(REQUEST, 2)
    calendar, cancelled = _read(CANCEL, 3)
    assert calendar["METHOD"] == "CANCEL" and cancelled["STATUS"] == "CANCELLED"
    assert cancelled["UID"] == booked["UID"] and cancelled["SEQUENCE"] > booked["SEQUENCE"]
    assert str(cancelled["SUMMARY"]).startswith("Cancelled: ")
