"""A database made before school links and officer grants were recorded (revision 0001) keeps its people's
links and `officer add` officers when it is upgraded."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import select, text

from storage import people
from storage.db import alembic_config
from storage.models import Person, SchoolLink

BEFORE = datetime(2026, 10, 1, 9, tzinfo=UTC)


async def test_upgrading_from_0001_keeps_links_and_officer_grants(test_db):
    db = test_db.open()
    if test_db.backend == "postgres":
        import asyncpg

        conn = await asyncpg.connect(test_db.url.replace("+asyncpg", ""))
        await conn.execute(f'CREATE SCHEMA "{test_db.schema}"')
        await conn.close()
    async with db.engine.begin() as conn:
        await conn.run_sync(lambda sync: command.upgrade(alembic_config(sync), "0001"))
        at = BEFORE.replace(tzinfo=None) if db.is_sqlite else BEFORE
        await conn.execute(
            text(
                "INSERT INTO schools (urn, name, phase, quadrant, district, headteacher_name, headteacher_email, "
                "slack_channel_id, teams_channel_id) VALUES "
                "('114000', 'Oak Primary', 'primary', 'North East', 'Colchester', 'A', 'head@oak.example', '', ''), "
                "('114001', 'Elm Primary', 'primary', 'North East', 'Colchester', 'B', 'head@elm.example', '', '')"
            )
        )
        for pid, user, email, role, urn in (
            (1, "UBOOT", "", "officer", None),  # from EOI_OFFICERS: nothing recorded
            (2, "UADDED", "", "officer", None),  # `officer add`: an audit row says so
            (3, "UHEAD", "head@oak.example", "headteacher", "114000"),  # matched by the register
            (4, "UDEP", "deputy@elm.example", "headteacher", "114001"),  # linked by an officer
        ):
            await conn.execute(
                text(
                    "INSERT INTO people (id, platform, user_id, display_name, email, role, school_urn, pending) "
                    "VALUES (:id, 'slack', :user, '', :email, :role, :urn, '{}')"
                ),
                {"id": pid, "user": user, "email": email, "role": role, "urn": urn},
            )
        for to_status, note in (("officer", "slack:UADDED"), ("headteacher", "slack:UDEP school 114001")):
            await conn.execute(
                text(
                    "INSERT INTO audit (at, actor, action, from_status, to_status, note) "
                    "VALUES (:at, 'slack:UBOOT', 'set role', 'none', :to_status, :note)"
                ),
                {"at": at, "to_status": to_status, "note": note},
            )
    await db.upgrade()
    try:
        async with db.session() as session:
            grants = {
                p.user_id: (p.officer_granted_by, p.officer_granted_at)
                for p in await session.scalars(select(Person).order_by(Person.id))
            }
            assert grants == {
                "UBOOT": ("", None),
                "UADDED": ("slack:UBOOT", BEFORE),
                "UHEAD": ("", None),
                "UDEP": ("", None),
            }
            links = {
                (link.person_id, link.school_urn, link.source, link.linked_by)
                for link in await session.scalars(select(SchoolLink))
            }
            assert links == {(3, "114000", "register", "register"), (4, "114001", "officer", "slack:UBOOT")}
            # From now on EOI_OFFICERS decides for UBOOT; UADDED's grant keeps them an officer.
            await people.enforce_officers(session, bootstrap=(), now=BEFORE)
            roles = {p.user_id: p.role for p in await session.scalars(select(Person))}
            assert roles == {"UBOOT": "", "UADDED": "officer", "UHEAD": "headteacher", "UDEP": "headteacher"}
    finally:
        await db.dispose()
