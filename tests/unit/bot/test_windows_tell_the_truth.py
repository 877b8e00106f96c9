"""What a window's close, cancellation and reminders say is true for each school's own EOI, and the summary
officers get counts each EOI where it is now."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from dialogs.replies import Reply
from dialogs.schedule import plan_due
from storage.models import Window
from storage.windows import schools_in_scope
from tests.chat import Chat, complete_eoi, headteacher, officer
from tests.fakes.recording_sender import RecordingSender, every_school_has_a_fake_channel  # noqa: F401

pytestmark = [
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
    pytest.mark.usefixtures("every_school_has_a_fake_channel"),
]


async def _announce(service, sender: RecordingSender) -> None:
    """`eoi-bot announce`, as the scheduler does it: plan what is due, then deliver it."""
    if sender not in service.senders:
        service.senders.append(sender)
    async with service.db.session() as session:
        await plan_due(session, service.clock.now())
    while await service.dispatcher.plan_notices():
        pass
    await service.dispatcher.run_due()


async def _window(service) -> Window:
    async with service.db.session() as session:
        return await session.scalar(select(Window).order_by(Window.opens_at))


async def _submit(service, urn: str) -> tuple[Chat, str]:
    head = await headteacher(service, urn=urn, user=f"head-{urn}")
    ref = re.search(r"EOI-2627A-\d{3}", await complete_eoi(head)).group(0)
    return head, ref


async def _draft(service, urn: str) -> tuple[Chat, str]:
    head = await headteacher(service, urn=urn, user=f"head-{urn}")
    await head.say("start")
    await head.say("Resourced Provision")
    async with service.db.session() as session:
        from storage.models import EOI

        ref = await session.scalar(select(EOI.ref).where(EOI.school_urn == urn))
    return head, ref


def _to(sender: RecordingSender, urn: str, title_part: str) -> list[Reply]:
    return [r for d, r in sender.received if d == f"fake:{urn}" and title_part in r.title]


async def test_the_close_summary_counts_each_eoi_by_where_it_is_now(service, clock):
    service.dispatcher.officers = (("fake", "officer-1"),)  # an officer the summary can reach
    sender = RecordingSender()
    await _announce(service, sender)
    _, waiting = await _submit(service, "114000")
    _, shortlisted = await _submit(service, "114001")
    _, turned_down = await _submit(service, "114015")
    _, approved = await _submit(service, "114002")
    leaving, _ = await _submit(service, "114016")
    await _draft(service, "114017")
    desk = officer(service)
    assert "is shortlisted" in await desk.say(f"shortlist {shortlisted}")
    assert "not shortlisted" in await desk.say(f"not-shortlisted {turned_down} The need in your area is met.")
    await desk.say(f"shortlist {approved}")
    await desk.say(f"schedule {approved} 3/12 10:30")
    assert "Recorded" in await desk.say(f"decide {approved} approve Opening September 2027")
    await leaving.say("withdraw")
    assert "withdrawn" in await leaving.press("Yes, withdraw")

    clock.set((await _window(service)).closes_at + timedelta(minutes=1))
    await _announce(service, sender)
    summary = next(r for d, r in sender.received if r.title.endswith("has closed"))
    facts = {f.label: f.value for f in summary.facts}
    # One EOI is waiting to be shortlisted; the others are counted where they are now, not as "submitted".
    assert facts["EOIs"] == (
        "6 in this window: 1 submitted, 1 shortlisted, 1 not shortlisted, 1 approved, 1 draft not submitted, "
        "1 withdrawn"
    )
    # The breakdowns count what was put forward: submitted, whatever has happened since; the summary says so.
    assert "count the 4 EOIs that were submitted, whatever has happened to them since" in summary.text
    assert "drafts and withdrawn EOIs are left out" in summary.text
    assert "1 is waiting to be shortlisted" in summary.text
    assert sum(int(n) for n in re.findall(r"\d+", facts["By phase"])) == 4
    assert facts["By need type"] == "ASD 4"
    assert waiting not in summary.text  # counts only, no references


async def test_cancelling_a_window_tells_each_school_what_is_true_for_its_own_eoi(service):
    sender = RecordingSender()
    await _announce(service, sender)
    nothing = "114016"  # in scope, never started
    _, draft = await _draft(service, "114000")
    _, submitted = await _submit(service, "114001")
    _, approved = await _submit(service, "114015")
    leaving, withdrawn = await _submit(service, "114002")
    await leaving.say("withdraw")
    await leaving.press("Yes, withdraw")
    desk = officer(service)
    await desk.say(f"shortlist {approved}")
    await desk.say(f"schedule {approved} 3/12 10:30")
    await desk.say(f"decide {approved} approve Opening September 2027")
    await desk.say('window add "Spring Term 2 2026/27" opens 22 Feb 2027 closes 25 Mar 2027')
    window = await _window(service)
    async with service.db.session() as session:
        in_scope = {s.urn for s, _ in await schools_in_scope(session, window)}
    assert {nothing, "114000", "114001", "114015", "114002"} <= in_scope

    question = await desk.say("window cancel 2627A")
    assert "what it means for its own EOI" in question and "Drafts are kept" not in question
    text = await desk.press("Yes, cancel it")
    assert "is cancelled" in text
    assert f"{len(in_scope)} schools have been told what it means for their own EOI" in text
    assert f"{len(in_scope) - 4} had no EOI in it" in text
    assert f"1 draft kept ({draft})" in text
    assert f"1 EOI under way stays as it is: {submitted}" in text and "told ECC will be in touch" in text
    assert f"1 decision stands: {approved} (approved)" in text
    assert "1 withdrawn EOI stays withdrawn" in text

    await _announce(service, sender)
    told = {urn: _to(sender, urn, "is cancelled") for urn in in_scope}
    assert all(len(replies) == 1 for replies in told.values()), "each school in scope is told once"
    said = {urn: replies[0].text.plain for urn, replies in told.items()}
    assert "had no EOI in this window" in said[nothing] and "Draft" not in said[nothing]
    assert f"Your draft {draft} is kept" in said["114000"]
    assert "Spring Term 2 2026/27" in said["114000"] and "new reference (EOI-2627S-" in said["114000"]
    assert f"{submitted} (submitted) stays on record as it is" in said["114001"]
    assert "ECC will contact you" in said["114001"] and "draft" not in said["114001"].casefold()
    assert f"The decision on {approved} (approved) is unaffected" in said["114015"]
    assert "draft" not in said["114015"].casefold()
    assert f"{withdrawn} stays withdrawn" in said["114002"] and "draft" not in said["114002"].casefold()


async def test_cancelling_a_window_nobody_was_told_of_tells_only_schools_holding_a_draft_in_it(service, clock):
    desk = officer(service)
    await desk.say('window add "Spring Term 2 2026/27" opens 22 Feb 2027 closes 25 Mar 2027')
    clock.set((await _window(service)).closes_at + timedelta(days=1))  # the autumn window has closed
    _, draft = await _draft(service, "114000")
    assert draft.startswith("EOI-2627S-")  # a draft belongs to the window planned next
    await desk.say("window cancel 2627S")
    text = await desk.press("Yes, cancel it")
    assert "1 school has been told what it means for its own EOI" in text and f"1 draft kept ({draft})" in text
    sender = RecordingSender()
    await _announce(service, sender)
    cancelled = [(d, r) for d, r in sender.received if "is cancelled" in r.title]
    assert [d for d, _ in cancelled] == ["fake:114000"]
    assert "move to the next window under a new reference once ECC sets one" in cancelled[0][1].text


async def test_the_closing_reminders_say_an_unsubmitted_draft_moves_to_the_next_window_under_a_new_reference(
    service, clock
):
    sender = RecordingSender()
    await _announce(service, sender)
    head, draft = await _draft(service, "114001")
    window = await _window(service)
    clock.set(window.closes_at - timedelta(days=6))
    await _announce(service, sender)
    (seven,) = _to(sender, "114001", "closes in 7 days")
    assert draft in seven.text
    assert "If it isn't submitted by the close, Friday 18 December 2026 at 5:00pm," in seven.text  # London time
    assert "your answers are kept and move to the next window under a new reference" in seven.text
    (not_started,) = _to(sender, "114000", "closes in 7 days")
    assert "new reference" not in not_started.text  # no draft, nothing to carry

    # Once the next window is planned, the 1-day reminder names it and the reference it will carry.
    await officer(service).say('window add "Spring Term 2 2026/27" opens 22 Feb 2027 closes 25 Mar 2027')
    clock.set(window.closes_at - timedelta(hours=20))
    await _announce(service, sender)
    (one,) = _to(sender, "114001", "closes tomorrow")
    assert "move to the next window, Spring Term 2 2026/27, under a new reference (EOI-2627S-" in one.text

    # And that is what happens: after the close, the school's next turn finds its answers under the new reference.
    clock.set(window.closes_at + timedelta(days=1))
    text = await head.say("status")
    assert f"{draft} wasn't submitted before its window closed" in text  # told, with the new reference
    assert "EOI-2627S-001 is draft" in text


def test_window_commands_ask_storage_for_the_outbox_and_build_no_queries_of_their_own() -> None:
    """`window deliveries` counts and lists deliveries through storage.notices; the dialog holds no SQL."""
    import ast
    from pathlib import Path

    tree = ast.parse((Path(__file__).parents[3] / "dialogs" / "window_commands.py").read_text())
    imported = {
        (node.module, alias.name) for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) for alias in node.names
    }
    queries = {(m, n) for m, n in imported if m and m.startswith("sqlalchemy") and m != "sqlalchemy.ext.asyncio"}
    assert not queries, f"query building belongs in storage/: {sorted(queries)}"
    assert not {n for m, n in imported if m == "storage.models"} & {"Delivery", "Notice"}
