"""An ECC officer's day, told through the console grammar."""

from __future__ import annotations

import csv
import io
import re

from sqlalchemy import select

from storage.models import AuditEntry, Discussion, Notice
from tests.chat import complete_eoi, headteacher, officer


async def _submitted(service, urn: str, user: str) -> str:
    head = await headteacher(service, urn=urn, user=user)
    return re.search(r"EOI-2627A-\d{3}", await complete_eoi(head)).group(0)


async def test_an_officer_lists_with_filters_and_pages(service):
    refs = [await _submitted(service, urn, f"h{urn}") for urn in ("114000", "114001", "114015")]
    head = await headteacher(service, urn="114002", user="drafty")
    await head.say("start")  # a draft: listed only when asked for drafts
    desk = officer(service)
    text = await desk.say("list submitted")
    assert "3 EOIs" in text and all(ref in text for ref in refs)
    text = await desk.say("list submitted Colchester")
    assert "2 EOIs" in text  # 114000 and 114001 are in Colchester, 114015 in Chelmsford
    assert "1 EOI " in await desk.say("list status=submitted quadrant=Mid need=ASD")
    assert "0" not in (await desk.say("list draft")).split(" ")[0] and "1 EOI" in desk.text
    assert "don't know the filter" in await desk.say("list purple")


async def test_the_list_pages_ten_at_a_time_with_next_and_previous(service):
    for urn in range(114000, 114012):
        head = await headteacher(service, urn=str(urn), user=f"p{urn}")
        await head.say("start")
    desk = officer(service)
    await desk.say("list draft")
    assert "page 1 of 2" in desk.text and len(desk.last.facts) == 10
    await desk.press("Next page")
    assert "page 2 of 2" in desk.text and len(desk.last.facts) == 2
    await desk.press("Previous page")
    assert "page 1 of 2" in desk.text


async def test_an_officer_shortlists_schedules_next_tuesday_at_2pm_and_decides(service):
    ref = await _submitted(service, "114000", "head")
    desk = officer(service)
    assert "is shortlisted" in await desk.say(f"shortlist {ref} Strong offer")
    # The fixed clock is Monday 30 November 2026, 10:00: Tuesday is 1 December.
    text = await desk.say(f"schedule {ref} Tuesday at 2pm for 90 minutes at County Hall, Chelmsford")
    assert "Tuesday 1 December 2026 at 2:00pm for 90 minutes at County Hall, Chelmsford" in text
    async with service.db.session() as session:
        discussion = await session.scalar(select(Discussion))
    assert discussion.starts_at.isoformat() == "2026-12-01T14:00:00+00:00"  # GMT in December
    assert "Recorded" in await desk.say(f"decide {ref} approve Opening September 2027")
    show = await desk.say(f"show {ref}")
    assert "approved" in show and "History" in show and "shortlist by console:officer-1" in show


async def test_the_school_is_told_at_each_step_and_can_accept_the_invitation(service):
    ref = await _submitted(service, "114000", "head")
    desk = officer(service)
    await desk.say(f"shortlist {ref}")
    await desk.say(f"schedule {ref} 3/12 10:30")
    async with service.db.session() as session:
        kinds = [
            n.kind
            for n in await session.scalars(
                select(Notice).where(Notice.school_urn == "114000", Notice.audience == "school")
            )
        ]
    assert kinds == ["shortlisted", "calendar", "discussion"]  # the .ics, then the invitation with its buttons
    head = await headteacher(service, urn="114000", user="head")
    invitation = (
        await service.conversations.pending_notices(destination="console:head", audience="school", school_urn="114000")
    )[-1]
    from dialogs.replies import Reply

    head.replies = [Reply.from_dict(invitation.body)]
    assert "Thursday 3 December 2026 at 10:30am" in head.text
    assert "accepted" in await head.press("Accept")
    assert "(accepted)" in await desk.say(f"show {ref}") or "accepted" in desk.text


async def test_an_out_of_order_transition_is_refused_naming_the_current_status(service):
    ref = await _submitted(service, "114000", "head")
    desk = officer(service)
    text = await desk.say(f"decide {ref} approve")
    assert f"{ref} is submitted, so it can't be approved" in text
    assert "shortlist it or mark it not shortlisted" in text
    text = await desk.say(f"schedule {ref} tomorrow 10am")
    assert "is submitted, so it can't be scheduled for discussion" in text


async def test_schedule_refuses_the_past_and_unreadable_times_with_an_example(service):
    ref = await _submitted(service, "114000", "head")
    desk = officer(service)
    await desk.say(f"shortlist {ref}")
    assert "in the past" in await desk.say(f"schedule {ref} 1/11/2026 10am")
    text = await desk.say(f"schedule {ref} whenever suits")
    assert "couldn't read" in text and "Tuesday at 2pm" in text
    assert desk.last.field_errors["when"]


async def test_a_discussion_within_the_hour_of_another_is_flagged(service):
    first = await _submitted(service, "114000", "a")
    second = await _submitted(service, "114001", "b")
    desk = officer(service)
    for ref in (first, second):
        await desk.say(f"shortlist {ref}")
    await desk.say(f"schedule {first} 3/12 10:00")
    asked = await desk.say(f"schedule {second} 3/12 10:30")  # the same officer, mid-way through the first
    assert f"you already have the {first} discussion then" in asked and "Nothing is booked" in asked
    assert f"{first} is also being discussed" in await desk.press("Yes, book")


async def test_not_shortlisted_needs_feedback_and_withdrawal_is_possible_until_a_decision(service):
    ref = await _submitted(service, "114000", "head")
    desk = officer(service)
    assert "include feedback" in await desk.say(f"not-shortlisted {ref}")
    head = await headteacher(service, urn="114000", user="head")
    await head.say("withdraw")
    assert "withdrawn" in await head.press("Yes, withdraw")
    assert "is withdrawn, so it can't be shortlisted" in await desk.say(f"shortlist {ref}")


async def test_export_is_a_csv_with_every_answer_and_is_audited(service):
    ref = await _submitted(service, "114000", "head")
    desk = officer(service)
    await desk.say("export")
    name, content = desk.last.file
    assert name.endswith(".csv")
    header, row = list(csv.reader(io.StringIO(content)))[:2]
    assert header[:4] == ["ref", "window", "urn", "school"] and "inclusion_vision" in header
    assert row[:3] == [ref, "2627A", "114000"] and "ASD" in row
    async with service.db.session() as session:
        assert await session.scalar(select(AuditEntry).where(AuditEntry.action == "export"))


async def test_officers_can_add_officers_and_link_staff_to_a_school(service):
    desk = officer(service)
    assert "now an officer" in await desk.say("officer add slack:U0NEW")
    assert "slack:U0NEW" in await desk.say("officer list")
    assert "linked to" in await desk.say("link console:deputy 114003")
    deputy = officer(service, user="deputy")
    assert "Question 1 of" in await deputy.say("start")
