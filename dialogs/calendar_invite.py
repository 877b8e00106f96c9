"""A discussion, or a window's information session, as a calendar invitation (.ics, RFC 5545 with iTIP's METHOD):
REQUEST when it is booked or moved, CANCEL when it is called off. The event keeps one UID while it is moved and its
SEQUENCE grows with every change (storage.discussions, storage.information_sessions), so Outlook, Google and Apple
calendars update the one event instead of adding another. Times are on the Europe/London wall clock with the
VTIMEZONE that says so."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from icalendar import Calendar, Event, Timezone, vCalAddress, vText

from dialogs.agenda import Agenda
from storage.models import EOI, Discussion, School, Window
from storage.windows import LONDON, window_code, window_name

REQUEST, CANCEL = "REQUEST", "CANCEL"
PRODID = "-//Essex County Council//eoi-bot//EN"
LINK = re.compile(r"https?://\S+", re.IGNORECASE)


@dataclass(frozen=True)
class Organiser:
    """Who sends the invitation: the officer who booked it (their email, when their platform gave one)."""

    name: str
    email: str = ""


def online_link(place: str) -> str:
    """The meeting link in a place such as `https://teams.microsoft.com/l/meetup-join/...`, or ""."""
    found = LINK.search(place or "")
    return found.group(0) if found else ""


def file_name(eoi: EOI) -> str:
    return f"discussion-{eoi.ref or eoi.id}.ics"


def _calendar(method: str, starts: datetime) -> Calendar:
    """A calendar for one event at `starts`, with the London time zone it is written in."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", method)
    # Only the transitions near the meeting: tzdata's rules, not a copy of our own.
    calendar.add_component(
        Timezone.from_tzinfo(LONDON, first_date=date(starts.year, 1, 1), last_date=date(starts.year + 1, 1, 1))
    )
    return calendar


def _address(name: str, email: str, **params: str) -> vCalAddress:
    address = vCalAddress(f"mailto:{email}")
    address.params["cn"] = vText(name or email)
    for key, value in params.items():
        address.params[key.replace("_", "-")] = vText(value)
    return address


def invitation(
    discussion: Discussion,
    eoi: EOI,
    school: School,
    *,
    agenda: Agenda,
    method: str,
    organiser: Organiser,
    now: datetime,
) -> tuple[str, str]:
    """(file name, .ics text) for the discussion as it stands now: REQUEST, or CANCEL once it is called off."""
    starts = discussion.starts_at.astimezone(LONDON)
    calendar = _calendar(method, starts)
    event = Event()
    event.add("uid", discussion.calendar_uid)
    event.add("sequence", discussion.sequence)
    event.add("dtstamp", now.astimezone(UTC))
    event.add("dtstart", starts)
    event.add("dtend", starts + timedelta(minutes=discussion.duration_minutes))
    event.add("summary", f"{'Cancelled: ' if method == CANCEL else ''}ECC discussion: {school.name} ({eoi.ref})")
    link = online_link(discussion.place)
    if discussion.place:
        event.add("location", "Online meeting" if link and link == discussion.place.strip() else discussion.place)
    if link:
        event.add("url", link)
    event.add("status", "CANCELLED" if method == CANCEL else "CONFIRMED")
    offer = eoi.offer or "resourced"
    lines = [f"{agenda.title}: the expression of interest {eoi.ref} from {school.name}.", ""]
    if link:
        lines += [f"Join online: {link}", ""]
    lines.append("Agenda:")
    lines += [f"{n}. {t.title}: {t.explanation(offer)}" for n, t in enumerate(agenda.topics, 1)]
    lines += ["", f"From the school: {', '.join(agenda.school_roles)}.", f"From ECC: {', '.join(agenda.ecc_roles)}."]
    if discussion.attendees:
        lines.append(f"Invited by name: {', '.join(discussion.attendees)}.")
    event.add("description", "\n".join(lines))
    if organiser.email:
        event.add("organizer", _address(organiser.name or "Essex County Council", organiser.email))
    if school.headteacher_email:
        event.add(
            "attendee",
            _address(
                school.headteacher_name or school.name,
                school.headteacher_email,
                role="REQ-PARTICIPANT",
                partstat="NEEDS-ACTION",
                rsvp="FALSE",
            ),
        )
    calendar.add_component(event)
    return file_name(eoi), calendar.to_ical().decode("utf-8")


# A window's information session for schools (dialogs.information_session): one event per window, whose UID never
# changes, so a moved session updates the event and a cancelled one removes it; its SEQUENCE counts the changes.
SESSION_MINUTES = 60  # how long the .ics holds the session for: officers give only its start


def session_uid(window: Window) -> str:
    return f"eoi-information-session-{window_code(window)}-{window.id}@eoi-bot"


def session_file_name(window: Window) -> str:
    return f"information-session-{window_code(window)}.ics"


def session_invitation(
    window: Window, *, starts_at: datetime, where: str, method: str, sequence: int, now: datetime
) -> tuple[str, str]:
    """(file name, .ics text) for the window's information session at `starts_at` (REQUEST), or the CANCEL of the
    one that was at `starts_at`."""
    starts = starts_at.astimezone(LONDON)
    calendar = _calendar(method, starts)
    event = Event()
    event.add("uid", session_uid(window))
    event.add("sequence", sequence)
    event.add("dtstamp", now.astimezone(UTC))
    event.add("dtstart", starts)
    event.add("dtend", starts + timedelta(minutes=SESSION_MINUTES))
    cancelled = "Cancelled: " if method == CANCEL else ""
    event.add("summary", f"{cancelled}ECC information session: {window_name(window)}")
    link = online_link(where)
    if where:
        event.add("location", "Online meeting" if link and link == where.strip() else where)
    if link:
        event.add("url", link)
    event.add("status", "CANCELLED" if method == CANCEL else "CONFIRMED")
    lines = [
        f"Essex County Council's information session for schools about {window_name(window)}: expressions of "
        "interest to host a Resourced Provision or Partnership Provision.",
    ]
    if link:
        lines += ["", f"Join online: {link}"]
    event.add("description", "\n".join(lines))
    calendar.add_component(event)
    return session_file_name(window), calendar.to_ical().decode("utf-8")
