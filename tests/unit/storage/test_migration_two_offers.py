"""A database from before a school could offer both provisions in one window (revision 0002, one EOI per school
per window) upgrades with its EOIs meaning what they did: each offers what its first answer says, keeps its
reference and history, and the school may then begin an EOI for the other provision in the same window."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import MetaData, insert, select
from sqlalchemy.engine import Connection

from bot.service import open_service
from dialogs.turns import Speaker, Turn
from storage.db import alembic_config
from storage.models import EOI
from tests.chat import Chat
from tests.conftest import make_settings

AT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
SCHOOLS = {"114000": "Meadow Primary School", "114001": "Oak Primary School", "114002": "Elm Primary School"}


def _fill_as_0002_left_it(connection: Connection) -> None:
    """Three schools, each with its one EOI in the open window: a submitted RP, a PP draft, and a draft whose
    first question isn't answered yet; the RP's head is linked and its history recorded."""
    tables = MetaData()
    tables.reflect(connection)

    def add(table: str, **row: object) -> object:
        return connection.execute(insert(tables.tables[table]).values(**row)).inserted_primary_key[0]

    for urn, name in SCHOOLS.items():
        add(
            "schools", urn=urn, name=name, phase="primary", quadrant="North East", district="Colchester",
            headteacher_name="", headteacher_email=f"head@{urn}.example", slack_channel_id="", teams_channel_id="",
        )  # fmt: skip
    window = add(
        "windows", academic_year="2026/27", term="autumn1", opens_at=datetime(2026, 11, 2, 9, 0, tzinfo=UTC),
        closes_at=datetime(2026, 12, 18, 17, 0, tzinfo=UTC), eoi_counter=3, created_by="console:officer-1",
    )  # fmt: skip
    person = add(
        "people", platform="console", user_id="head-1", display_name="Pat Head", email="head@114000.example",
        role="headteacher", school_urn="114000", pending={},
    )  # fmt: skip
    add("school_links", person_id=person, school_urn="114000", source="register", linked_by="register", linked_at=AT)
    for number, (urn, status, answers) in enumerate(
        (
            ("114000", "submitted", {"provision_type": "resourced", "primary_need": "ASD", "places": 12}),
            ("114001", "draft", {"provision_type": "partnership", "places": 8}),
            ("114002", "draft", {}),
        ),
        start=1,
    ):
        eoi = add(
            "eois", ref=f"EOI-2627A-{number:03d}", school_urn=urn, window_id=window, status=status,
            primary_need=answers.get("primary_need", "SEMH" if answers else ""), answers=answers, cursor="",
            changing=False, started_by="console:head-1", created_at=AT, updated_at=AT,
            submitted_at=AT if status == "submitted" else None,
        )  # fmt: skip
        add("audit", at=AT, actor="console:head-1", action="start", eoi_id=eoi, from_status="", to_status="draft",
            note="")  # fmt: skip


async def test_upgrading_from_0002_gives_each_eoi_its_offer_and_frees_the_other_provision(test_db, clock):
    db = await test_db.create(upgrade=False)
    async with db.engine.begin() as conn:
        await conn.run_sync(lambda c: command.upgrade(alembic_config(c), "0002"))
        await conn.run_sync(_fill_as_0002_left_it)
    await db.upgrade()
    async with db.session() as session:
        kept = {e.ref: (e.school_urn, e.status, e.offer) for e in await session.scalars(select(EOI).order_by(EOI.id))}
    assert kept == {
        "EOI-2627A-001": ("114000", "submitted", "resourced"),
        "EOI-2627A-002": ("114001", "draft", "partnership"),
        "EOI-2627A-003": ("114002", "draft", ""),
    }

    service = await open_service(make_settings(test_db.url), clock=clock, db=db)
    try:
        shown = await service.conversations.handle(Turn(Speaker("console", "officer-1"), text="show EOI-2627A-001"))
        history = next(f.value for f in shown[0].facts if f.label == "History")
        assert "start by Pat Head (console)" in history  # its history still points at it (console:head-1)

        head = Chat(service, Speaker("console", "head-1"))
        assert "EOI-2627A-001 is submitted" in await head.say("start")
        started = await head.press("Start a Partnership Provision EOI")
        assert "Your reference is EOI-2627A-004" in started
        status = await head.say("status")
        assert "EOI-2627A-001 is submitted" in status and "EOI-2627A-004 is draft" in status
    finally:
        await service.close()
