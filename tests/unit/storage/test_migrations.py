"""Migrations, as an operator upgrading eoi-bot meets them: a released revision is never edited (changes are new
revisions); a database made at the first release upgrades, one release at a time, to this build with its data
and ends up exactly as the models describe; and a database whose tables differ from the models (made by an
earlier build whose migration was later edited) is refused at start-up, saying what differs and what to do."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.operations import Operations
from alembic.script import Script, ScriptDirectory
from sqlalchemy import MetaData, insert, inspect
from sqlalchemy.engine import Connection

from bot.cli import main
from bot.service import open_service
from dialogs.turns import Speaker, Turn
from storage.db import SchemaMismatch, alembic_config
from storage.models import Base
from tests.conftest import make_settings

# Each released revision and the sha256 of its file (line endings as LF). A revision is released once it is on
# main; from then on it is never edited: a change to the schema is a new revision. When a new revision is
# merged, add it here (the test below says when one is missing and prints its hash):
#     sha256sum storage/migrations/versions/<revision file>.py
RELEASED = {
    "0001": "387c2f96e812ba263ab7bdd3a5d61b8b7093ff7e7e16d2b8625583483b45f1fa",
    "0002": "258b599ff089e4a7cfc3cebb23df5b7ff6b16d88358f5fb4e32b799c7c8c3f91",
    "0003": "bd7fe2e5f253e075fa849b56bab7f0bbea38e879996fb3d31442c0065cba5d56",
    "0004": "06ba122c4b70a98e10cd56d99c50704a1f842fe00340956dc637ba1029b3e60e",
    "0005": "4320af4515b2d8860a47af4b1bbf373b833293804c0910bf5ecb24a3854c033d",
    "0006": "4c5578f49702cf92038c03ca6d06e21e43243e2d06b8aee4b7591c4c5bc503c6",
    "0007": "9fc312ff23dcd91cecc42759538a80200ed9c23f415c981e0e6858b6f6fb54d8",
    "0008": "4a5d0b7b1cd13174b9b1f02851e058e922a091f327e128244cb6937f7e34ad1f",
    "0009": "526b2cad1872a2b218afcacde9a9f6452fc91464386b80c21c2136ad6fccac20",
    "0010": "0a23393ea86adb9f6e6c0fd6e5a60571c2e8b608e3b5ffe46dc8ad5eb332b5eb",
    "0011": "981c10bb6a9fc75d2ee557ff37ce8ec0f0b6300ab741bca1b48db1a33aae802e",
    "0012": "015a6890ec1453ac965861bedbcbd38410a9fc0c0a10ca20c099f649a1bb7a68",
}
NEVER_EDITED = "a released migration is never edited: add a new revision"


def _revisions() -> list[Script]:
    """Every revision, oldest first."""
    return list(reversed(list(ScriptDirectory.from_config(alembic_config()).walk_revisions())))


def _sha256(script: Script) -> str:
    return hashlib.sha256(Path(script.path).read_bytes().replace(b"\r\n", b"\n")).hexdigest()


def test_a_released_migration_is_never_edited() -> None:
    scripts = {script.revision: script for script in _revisions()}
    for revision, released in RELEASED.items():
        assert revision in scripts, f"released migration {revision} is gone; {NEVER_EDITED}"
        path = Path(scripts[revision].path).name
        assert _sha256(scripts[revision]) == released, (
            f"migration {revision} ({path}) has changed since it was released; {NEVER_EDITED} "
            "(storage/migrations/versions), and put this file back as it was."
        )
    # Only the newest revision may still be unreleased (in review): any revision another one follows has
    # shipped with it, so it must be listed.
    newest = _revisions()[-1].revision
    unlisted = [s for s in _revisions() if s.revision not in RELEASED and s.revision != newest]
    assert not unlisted, "list these released revisions in RELEASED: " + ", ".join(
        f'"{s.revision}": "{_sha256(s)}"' for s in unlisted
    )


def _differences(connection: Connection) -> list[object]:
    return compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)


def _fill_as_the_first_release_did(connection: Connection) -> None:
    """A school, its headteacher, an open window and a submitted EOI with its history, in the tables as the
    first revision made them (reflected, so nothing here depends on today's models)."""
    tables = MetaData()
    tables.reflect(connection)
    at = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)

    def add(table: str, **row: object) -> object:
        return connection.execute(insert(tables.tables[table]).values(**row)).inserted_primary_key[0]

    add(
        "schools",
        urn="114000",
        name="Meadow Primary School",
        phase="primary",
        quadrant="North East",
        district="Colchester",
        headteacher_name="Pat Head",
        headteacher_email="head@meadow.example",
        slack_channel_id="",
        teams_channel_id="",
    )
    window = add(
        "windows",
        academic_year="2026/27",
        term="autumn1",
        opens_at=datetime(2026, 11, 2, 9, 0, tzinfo=UTC),
        closes_at=datetime(2026, 12, 18, 17, 0, tzinfo=UTC),
        eoi_counter=1,
        created_by="console:officer-1",
    )
    add(
        "people",
        platform="console",
        user_id="head-1",
        display_name="Pat Head",
        email="head@meadow.example",
        role="headteacher",
        school_urn="114000",
        pending={},
    )
    eoi = add(
        "eois",
        ref="EOI-2627A-001",
        school_urn="114000",
        window_id=window,
        status="submitted",
        primary_need="ASD",
        answers={"provision_type": "resourced", "primary_need": "ASD", "places": 12},
        cursor="",
        changing=False,
        started_by="console:head-1",
        created_at=at,
        updated_at=at,
        submitted_at=at,
    )
    for action, before, after in (("start", "", "draft"), ("submit", "draft", "submitted")):
        add(
            "audit",
            at=at,
            actor="console:head-1",
            action=action,
            eoi_id=eoi,
            from_status=before,
            to_status=after,
            note="",
        )


async def test_a_database_made_at_the_first_release_upgrades_to_this_build_with_its_data(test_db, clock) -> None:
    db = await test_db.create(upgrade=False)
    first, *later = _revisions()
    async with db.engine.begin() as conn:
        await conn.run_sync(lambda c: command.upgrade(alembic_config(c), first.revision))
        await conn.run_sync(_fill_as_the_first_release_did)
    for script in later:  # one release at a time, as each would have been installed
        async with db.engine.begin() as conn:
            await conn.run_sync(lambda c, revision=script.revision: command.upgrade(alembic_config(c), revision))
    async with db.engine.connect() as conn:
        assert await conn.run_sync(_differences) == []
    service = await open_service(make_settings(test_db.url), clock=clock, db=db)  # starts: nothing differs
    try:
        head = await service.conversations.handle(Turn(Speaker("console", "head-1"), text="status"))
        assert "EOI-2627A-001 is *submitted*" in head[0].text.markup
        shown = await service.conversations.handle(Turn(Speaker("console", "officer-1"), text="show EOI-2627A-001"))
        history = next(f.value for f in shown[0].facts if f.label == "History")
        assert "submit by Pat Head (console) (draft → submitted)" in history  # console:head-1, by name
    finally:
        await service.close()


def _as_an_earlier_build_made_it(connection: Connection) -> None:
    """The first build's migration made notices without `key`; the migration was edited later, so its database
    says it is current while lacking the column."""
    with Operations(MigrationContext.configure(connection)).batch_alter_table("notices") as batch:
        batch.drop_column("key")


async def test_a_database_an_earlier_build_made_is_refused_at_start_up_saying_what_differs_and_what_to_do(
    test_db, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = await test_db.create()
    async with db.engine.begin() as conn:
        await conn.run_sync(_as_an_earlier_build_made_it)
    await db.dispose()

    with pytest.raises(SchemaMismatch) as refused:  # what `eoi-bot serve` and every command start with
        await open_service(make_settings(test_db.url), db=test_db.open())
    said = str(refused.value)
    assert "do not match this version of eoi-bot" in said
    assert "column notices.key is missing" in said
    assert "has not started and has changed nothing" in said and "Back up the database" in said
    if test_db.backend == "sqlite":  # the command line says so and exits non-zero, without a traceback
        monkeypatch.setenv("DATABASE_URL", test_db.url)
        assert await asyncio.to_thread(main, ["announce", "--dry-run"]) == 2
        assert capsys.readouterr().err == f"eoi-bot: {said}\n"

    db = test_db.open()
    try:
        async with db.engine.connect() as conn:
            columns = await conn.run_sync(lambda c: [col["name"] for col in inspect(c).get_columns("notices")])
            revision = await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())
        assert "key" not in columns and revision == _revisions()[-1].revision  # left exactly as it was
    finally:
        await db.dispose()
