"""A database from before each person's conversation had one state (revision 0007: `people.pending`, and the
EOI's `cursor` and `changing`) upgrades with every conversation where it was: a head mid-question, one who saved
at the review, one at the declaration, one changing an answer from the review, one asked "Do you mean …?" and one
asked which times suit for a discussion each carry on, after the upgrade, exactly where they stopped; and no
school link is lost when the old columns go."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from alembic import command
from sqlalchemy import MetaData, func, insert, select
from sqlalchemy.engine import Connection

from bot.service import open_service
from dialogs import conversation_state
from dialogs.conversation_state import AwaitingTimes, Changing, FillingIn, Idle, Reviewing
from dialogs.turns import Speaker
from storage.db import alembic_config
from storage.models import EOI, Person, SchoolLink
from tests.chat import Chat
from tests.conftest import make_settings

AT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
# A Resourced Provision's answers, in the order they are asked, as the dialog stores them.
ANSWERS: dict[str, Any] = {
    "provision_type": "resourced",
    "primary_need": "ASD",
    "other_needs": [],
    "age_range": ["KS1", "KS2"],
    "places": 12,
    "start": "2027-09",
    "priority_need": "ASD/resourced/Colchester/primary",
    "accommodation": "available",
    "accommodation_details": "Two adjoining classrooms on the ground floor, with a sensory room and garden.",
    "accessible_site": "yes",
    "senco_qualification": "yes",
    "staff_expertise": "Our SENCo and two TAs hold Level 3 autism training.",
    "ehcp_count": 14,
    "sen_support_count": 38,
    "inclusion_vision": "Every child belongs here, with shared lunch, assemblies and mainstream lessons.",
    "governance": "approved",
    "governance_date": "2026-11-12",
    "contact_name": "Sam Patel",
    "contact_role": "Headteacher",
    "contact_email": "sam.patel@school.example",
    "contact_phone": None,
}


def _before(question: str) -> dict[str, Any]:
    """The answers given before `question` is asked."""
    ids = list(ANSWERS)
    return {k: ANSWERS[k] for k in ids[: ids.index(question)]}


# Each head: their school, their EOI's status, answers, cursor and changing, and their `pending`, as 0007 kept them
# (the EOI's id is filled in for "EOI").
HEADS: dict[str, tuple[str, str, dict[str, Any], str, bool, dict[str, Any]]] = {
    "mid-question": ("114000", "draft", _before("places"), "places", False, {"eoi": "EOI", "dialog": "eoi"}),
    "saved-at-review": ("114001", "draft", ANSWERS, "review", False, {"eoi": "EOI"}),
    "at-declaration": ("114002", "draft", ANSWERS, "declaration", False, {"eoi": "EOI", "dialog": "eoi"}),
    "changing": ("114003", "draft", ANSWERS, "places", True, {"eoi": "EOI", "dialog": "eoi"}),
    "checking": (
        "114004",
        "draft",
        _before("start"),
        "start",
        False,
        {
            "eoi": "EOI",
            "dialog": "eoi",
            "confirm": "answer",
            "question": "start",
            "value": "2027-09",
            "note": "",
            "also": {},
        },
    ),
    "times": (
        "114005",
        "discussion scheduled",
        {**ANSWERS, "declaration": "yes"},
        "",
        False,
        {"eoi": "EOI", "dialog": "another time", "times_for": "EOI"},
    ),
}


def _fill_as_0007_left_it(connection: Connection) -> None:
    tables = MetaData()
    tables.reflect(connection)

    def add(table: str, **row: object) -> Any:
        return connection.execute(insert(tables.tables[table]).values(**row)).inserted_primary_key[0]

    window = add(
        "windows", academic_year="2026/27", term="autumn1", opens_at=datetime(2026, 11, 2, 9, 0, tzinfo=UTC),
        closes_at=datetime(2026, 12, 18, 17, 0, tzinfo=UTC), eoi_counter=len(HEADS), created_by="console:officer-1",
    )  # fmt: skip
    add(
        "need", window_id=window, quadrant="North East", district="Colchester", phase="primary", need_type="ASD",
        provision_type="resourced", places=12, priority="high", notes="", imported_at=AT, imported_by="test",
    )  # fmt: skip
    for number, (user, (urn, status, answers, cursor, changing, pending)) in enumerate(HEADS.items(), start=1):
        add(
            "schools", urn=urn, name=f"School {urn}", phase="primary", quadrant="North East", district="Colchester",
            headteacher_name="", headteacher_email=f"head@{urn}.example", slack_channel_id="", teams_channel_id="",
        )  # fmt: skip
        eoi = add(
            "eois", ref=f"EOI-2627A-{number:03d}", school_urn=urn, window_id=window, status=status, offer="resourced",
            primary_need="ASD", answers=answers, cursor=cursor, changing=changing, started_by=f"console:{user}",
            created_at=AT, updated_at=AT, submitted_at=AT if status != "draft" else None,
        )  # fmt: skip
        person = add(
            "people", platform="console", user_id=user, display_name="", email=f"head@{urn}.example",
            role="headteacher", school_urn=urn, pending={k: eoi if v == "EOI" else v for k, v in pending.items()},
        )  # fmt: skip
        add("school_links", person_id=person, school_urn=urn, source="register", linked_by="register", linked_at=AT)
        if status == "discussion scheduled":
            add(
                "discussions", eoi_id=eoi, starts_at=datetime(2026, 12, 2, 10, 0, tzinfo=UTC), duration_minutes=60,
                place="", scheduled_by="console:officer-1", scheduled_at=AT, response="invited",
                calendar_uid=f"eoi-{eoi}@example", sequence=0, attendees=[], proposals=[],
            )  # fmt: skip


async def test_upgrading_from_0007_carries_every_conversation_on_where_it_was(test_db, clock):
    db = await test_db.create(upgrade=False)
    async with db.engine.begin() as conn:
        await conn.run_sync(lambda c: command.upgrade(alembic_config(c), "0007"))
        await conn.run_sync(_fill_as_0007_left_it)
    await db.upgrade()
    async with db.session() as session:
        states = {
            p.user_id: conversation_state.of(p) for p in await session.scalars(select(Person).order_by(Person.id))
        }
        links = await session.scalar(select(func.count()).select_from(SchoolLink))
        eoi_ids = [e.id for e in await session.scalars(select(EOI).order_by(EOI.id))]
    assert links == len(HEADS)  # dropping the old columns kept every school link
    assert states["saved-at-review"] == Idle(eoi=eoi_ids[1], place=Reviewing())
    assert states["changing"] == FillingIn(eoi=eoi_ids[3], place=Changing("places"))
    assert states["times"] == AwaitingTimes(eoi=eoi_ids[5], times_for=eoi_ids[5])

    service = await open_service(make_settings(test_db.url), clock=clock, db=db)
    try:
        heads = {user: Chat(service, Speaker("console", user)) for user in HEADS}

        mid = heads["mid-question"]
        await mid.say("12")  # the answer to the question they were asked: places
        assert mid.last.question_id == "start", mid.text

        saved = heads["saved-at-review"]
        assert "Welcome back" in await saved.say("start")
        assert saved.last.kind == "review", saved.text  # where they saved it

        declaring = heads["at-declaration"]
        await declaring.say("start")
        assert declaring.last.question_id == "declaration", declaring.text
        assert "expression of interest is submitted" in await declaring.press("I confirm")

        changing = heads["changing"]
        await changing.say("14")  # a change made from the review goes back there, not on to the next question,
        # once the questions added since those answers were given (version 2's) are answered
        assert changing.last.question_id == "places_by_year", changing.text
        await changing.say("All at once")
        assert changing.last.question_id == "staffing_model", changing.text

        checking = heads["checking"]
        await checking.say("yes")  # "Do you mean September 2027?"
        assert checking.last.question_id == "places_by_year", checking.text

        times = heads["times"]
        assert "ECC has been sent the times you suggested" in await times.say("Thursday 10am")

        async with db.session() as session:
            answers = {e.ref: e.answers for e in await session.scalars(select(EOI))}
        assert answers["EOI-2627A-001"]["places"] == 12
        assert answers["EOI-2627A-004"]["places"] == 14
        assert answers["EOI-2627A-005"]["start"] == "2027-09"
    finally:
        await service.close()
