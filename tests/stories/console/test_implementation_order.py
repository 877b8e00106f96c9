"""An approved EOI's implementation plan, in the console, as its milestones depend on each other: nothing is
marked done before what it waits for, the council's milestones and first pupils are the officers', first pupils
(which opens the provision) only after a confirmation, and a mistake can be taken back (a milestone undone, an
opening reopened within the reopen period) with everyone who was told told again. Officer `status`,
`list implementing` and the report say what is true throughout."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from storage import implementation
from storage.models import EOI, AuditEntry
from tests.chat import Chat, officer
from tests.stories.console.test_decision_story import _status, _submitted, text, told

ALL_BEFORE_FIRST_PUPILS = (
    "Service level agreement signed (ECC)",
    "Statutory proposal published (prescribed alteration) (ECC)",
    "Four-week representation period closed (ECC)",
    "High-needs place change notified to the DfE (ECC)",
    "Staffing recruited (school)",
    "Admissions agreed with the SEND team (ECC)",
    "Accommodation ready (school)",
)
ECC_STATUTORY = ("proposal", "representation", "decision", "place change")  # a maintained school's, and ECC's


async def _approved(service, clock) -> tuple[str, Chat, Chat]:
    """An EOI approved yesterday, everyone's notices so far read."""
    ref, head = await _submitted(service)
    desk = officer(service)
    await desk.say(f"shortlist {ref}")
    await desk.say(f"schedule {ref} 3/12 10:30")
    await desk.say(f"decide {ref} approve The panel supports 12 ASD places")
    clock.advance(timedelta(days=1))
    await told(service, "officer-1")
    await told(service, "head", school="114000")
    return ref, head, desk


async def _everything_but_first_pupils(ref: str, head: Chat, desk: Chat) -> None:
    await desk.say(f"done {ref} sla")
    await desk.say(f"done {ref} admissions")
    for milestone in ECC_STATUTORY:
        await desk.say(f"done {ref} {milestone}")
    await head.say("done staffing")
    await head.say("done accommodation")


def _done_buttons(chat: Chat) -> list[str]:
    """The Done buttons on the latest replies, on the replies themselves and beside their lines."""
    choices = [c for r in chat.replies for c in [*r.choices, *(f.change for f in r.facts if f.change)]]
    return [c.label for c in choices if c.label.startswith("Done:")]


async def _opened(service, clock) -> tuple[str, Chat, Chat]:
    ref, head, desk = await _approved(service, clock)
    await _everything_but_first_pupils(ref, head, desk)
    await desk.say(f"done {ref} first pupils confirm")
    assert await _status(service, ref) == "opened"
    await told(service, "officer-1")
    await told(service, "head", school="114000")
    return ref, head, desk


async def test_first_pupils_the_day_after_approval_is_refused_naming_everything_still_to_do(service, clock):
    ref, head, desk = await _approved(service, clock)

    # Typed by name or by number, and by the head: refused, and nothing opens.
    for typed in (f"done {ref} first pupils", f"done {ref} 9"):
        said = await desk.say(typed)
        assert "can't be marked done" in said and "The provision is open" not in said
        assert all(name in said for name in ALL_BEFORE_FIRST_PUPILS), said
    assert "an ECC officer marks it done" in await head.say(f"done {ref} first pupils")
    assert await _status(service, ref) == "approved"
    assert not await told(service, "officer-1") and not await told(service, "head", school="114000")

    # The officers' status still has ECC's milestones, first pupils with what it waits for and no Done button.
    status = await desk.say("status")
    assert "Service level agreement signed" in status and "Admissions agreed" in status
    first = next(f for f in desk.last.facts if "First pupils" in f.value)
    assert "waits for" in first.value and first.change is None
    assert _done_buttons(desk) == [  # those ECC can mark now, soonest first: the place change was due in December
        "Done: High-needs place change notified to the DfE",
        "Done: Service level agreement signed",
        "Done: Statutory proposal published (prescribed alteration)",
    ]
    assert ref in await desk.say("list implementing")
    report = await desk.say("report")
    assert "approved 12 (1)" in report and "opened 0 (0)" in report


async def test_a_head_is_offered_and_may_mark_only_the_schools_milestones_whose_turn_has_come(service, clock):
    ref, head, desk = await _approved(service, clock)

    await head.say("status")
    assert _done_buttons(head) == ["Done: Accommodation ready"]  # staffing waits for the SLA
    assert "9. First pupils (school; ECC marks it done)" in await desk.say(f"show {ref}")
    said = await head.say("done staffing")
    assert "can't be marked done" in said and "Service level agreement signed (ECC)" in said
    assert "ECC's to mark done" in await head.say(f"done {ref} sla")
    assert "ECC's to mark done" in await head.say(f"done {ref} admissions")

    await _everything_but_first_pupils(ref, head, desk)
    await head.say("status")
    assert _done_buttons(head) == []  # first pupils is ECC's to confirm
    assert "an ECC officer marks it done" in await head.say("done first pupils confirm")
    assert await _status(service, ref) == "approved"


async def test_an_officer_opens_the_provision_only_by_confirming_once_everything_is_done(service, clock):
    ref, head, desk = await _approved(service, clock)
    await _everything_but_first_pupils(ref, head, desk)
    await told(service, "officer-1")
    await told(service, "head", school="114000")

    await desk.say("status")
    assert _done_buttons(desk) == ["Done: First pupils"]
    asked = await desk.press("Done: First pupils")
    assert "This opens the provision" in asked
    assert [c.label for c in desk.last.choices] == ["Yes, it's open", "Not yet"]
    assert await _status(service, ref) == "approved"  # asking changed nothing
    assert not await told(service, "officer-1")

    assert "The provision is open" in await desk.press("Yes, it's open")
    assert await _status(service, ref) == "opened"
    assert "is open: first pupils" in text(await told(service, "head", school="114000"))
    assert "is open: first pupils" in text(await told(service, "officer-1"))
    assert "opened 12 (1)" in await desk.say("report")
    assert "ECC has no implementation milestones waiting" in await desk.say("status")


async def test_an_officer_undoes_a_milestone_and_the_school_and_officers_are_told(service, clock):
    ref, head, desk = await _approved(service, clock)
    await desk.say(f"done {ref} sla")
    await head.say("done staffing")
    await told(service, "officer-1")
    await told(service, "head", school="114000")

    assert "Only an ECC officer can undo" in await head.say("done staffing undo")
    said = await desk.say(f"done {ref} sla undo")  # staffing, done since, waits for it
    assert "can't be undone while Staffing recruited (school)" in said

    assert "Undone: Staffing recruited" in await desk.say(f"done {ref} staffing undo")
    assert "took back “Staffing recruited”" in text(await told(service, "head", school="114000"))
    assert "took back “Staffing recruited”" in text(await told(service, "officer-1"))
    assert "Undone: Service level agreement signed" in await desk.say(f"done {ref} 1 undo")
    assert "nothing to undo" in await desk.say(f"done {ref} sla undo")
    await head.say("status")
    assert _done_buttons(head) == ["Done: Accommodation ready"]  # staffing waits for the SLA again
    async with service.db.session() as session:
        undone = list(await session.scalars(select(AuditEntry).where(AuditEntry.action == "milestone undone")))
    assert [a.note for a in undone] == ["Staffing recruited", "Service level agreement signed"]


async def test_an_opening_recorded_by_mistake_is_reopened_within_the_period_and_stands_after(service, clock):
    ref, head, desk = await _opened(service, clock)

    said = await desk.say(f"done {ref} first pupils undo")
    assert f"reopen {ref} REASON" in said and await _status(service, ref) == "opened"
    assert "within 14 days" in await desk.say(f"done {ref} sla undo")
    assert "Please say why" in await desk.say(f"reopen {ref}")

    clock.advance(timedelta(days=3))
    said = await desk.say(f"reopen {ref} The first pupils start in January, not now")
    assert f"Reopened: {ref} is approved again (it was opened)" in said
    assert await _status(service, ref) == "approved"
    for heard in (text(await told(service, "head", school="114000")), text(await told(service, "officer-1"))):
        assert "not open after all" in heard and "The first pupils start in January" in heard
    # Implementing again, everywhere officers look; the report counts it approved, not opened.
    await desk.say("status")
    assert _done_buttons(desk) == ["Done: First pupils"]
    assert "1 EOI being implemented" in await desk.say("list implementing") and ref in desk.text
    report = await desk.say("report")
    assert "approved 12 (1)" in report and "opened 0 (0)" in report
    assert "Your next steps" in await head.say("status") and "opened" not in head.last.title

    # Opened again for real; after the reopen period the opening stands.
    await desk.say(f"done {ref} first pupils confirm")
    assert await _status(service, ref) == "opened"
    clock.advance(timedelta(days=15))
    said = await desk.say(f"reopen {ref} Another mistake")
    assert "only within 14 days of its opening" in said and await _status(service, ref) == "opened"
    async with service.db.session() as session:
        eoi = await session.scalar(select(EOI).where(EOI.ref == ref))
        found = await session.scalars(select(AuditEntry).where(AuditEntry.eoi_id == eoi.id).order_by(AuditEntry.id))
        history = [a.action for a in found if a.action in ("open", "reopen", "milestone done", "milestone undone")]
    assert history[-6:] == ["milestone done", "open", "reopen", "milestone undone", "milestone done", "open"]


def _plan_with(tmp_path: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    raw = yaml.safe_load(implementation.TEMPLATE.read_text(encoding="utf-8"))
    change(raw)
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def _milestone(raw: dict[str, Any], key: str) -> dict[str, Any]:
    return next(m for m in raw["milestones"] if m["key"] == key)


@pytest.mark.parametrize(
    ("change", "said"),
    [
        (lambda raw: _milestone(raw, "sla").update(whom="ecc"), "unknown keys ['whom']"),
        (lambda raw: _milestone(raw, "sla").update(who="council"), "who school|ecc|either"),
        (lambda raw: _milestone(raw, "sla").update(after=["signing"]), "unknown milestones ['signing']"),
        (lambda raw: _milestone(raw, "sla").update(after=["staffing"]), "['sla', 'staffing'] wait for each other"),
        (lambda raw: _milestone(raw, "first_pupils").update(after=["staffing"]), "comes after every other one"),
        (lambda raw: _milestone(raw, "first_pupils").update(who="either"), "open step allows"),
        (lambda raw: _milestone(raw, "first_pupils").pop("confirm"), "`confirm: true`"),
        (lambda raw: raw.update(remind_days=3), "unknown keys ['remind_days']"),
    ],
    ids=[
        "unknown key",
        "unknown who",
        "after an unknown milestone",
        "a cycle",
        "opening before everything",
        "opening not the officers'",
        "opening unconfirmed",
        "unknown plan key",
    ],
)
def test_a_plan_template_that_breaks_the_rules_stops_the_service_starting(tmp_path, change, said):
    assert implementation.template(implementation.TEMPLATE).step("first_pupils").after  # the real one loads
    with pytest.raises(ValueError, match=re.escape(said)):
        implementation.template(_plan_with(tmp_path, change))


async def test_a_reminder_offers_a_done_button_only_to_whoever_may_press_it_then(service, clock):
    from dialogs.replies import Reply
    from dialogs.schedule import plan_due
    from storage.models import Milestone, Notice

    ref, _head, desk = await _approved(service, clock)
    await desk.say(f"done {ref} sla")
    async with service.db.session() as session:
        plan = {m.key: m for m in await session.scalars(select(Milestone))}

    async def reminder_of(key: str) -> Reply:
        clock.set(plan[key].due_at - timedelta(days=6))
        async with service.db.session() as session:
            await plan_due(session, clock.now())
            found = await session.scalar(select(Notice).where(Notice.key == f"milestone-due:{plan[key].id}"))
        assert found is not None and found.audience == "school"
        return Reply.from_dict(found.body)

    staffing = await reminder_of("staffing")  # its turn has come: the SLA is done
    assert [c.label for c in staffing.choices] == ["Done: Staffing recruited"]
    first = await reminder_of("first_pupils")  # the school's to make happen, ECC's to mark
    assert "ECC marks it done when it has happened" in first.text.plain and first.choices == []
