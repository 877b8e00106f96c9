"""The register and need come from CSV; nothing is half-imported. The schema comes from migrations."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import func, select

from bot import cli
from storage.db import alembic_config
from storage.models import NeedRow, School, Window
from storage.register import import_need, import_schools

HEADER = "urn,name,phase,quadrant,district,headteacher_name,headteacher_email,slack_channel_id,teams_channel_id\n"
NOW = datetime(2026, 11, 30, 10, tzinfo=UTC)


async def test_a_csv_with_one_bad_row_imports_nothing_and_names_the_row(empty_service):
    text = HEADER + (
        "118001,Good Primary,primary,Mid,Chelmsford,Ann Head,ann@good.example,,\n"
        "118002,Bad Primary,infant,Mid,Harlow,Bob Head,not-an-email,,\n"
        "118003,Fine Academy,secondary,West,Harlow,Cat Head,cat@fine.example,C0FINE,\n"
    )
    async with empty_service.db.session() as session:
        result = await import_schools(session, text, actor="test", now=NOW)
        count = await session.scalar(select(func.count()).select_from(School))
    assert count == 0
    assert len(result.problems) == 1
    problem = result.problems[0]
    assert problem.startswith("line 3:")
    assert "phase 'infant'" in problem and "Harlow is in the West quadrant, not Mid" in problem
    assert "not an email address" in problem


async def test_a_register_with_a_nul_from_a_bad_export_names_the_row_and_imports_nothing(empty_service):
    # PostgreSQL refuses a NUL in text: the import used to stop with a database traceback instead.
    text = HEADER + (
        "118001,Good Primary,primary,Mid,Chelmsford,Ann Head,ann@good.example,,\n"
        "118002,Odd\x00 Primary,primary,Mid,Chelmsford,Bob\x1b Head,bob@odd.example,,\n"
    )
    async with empty_service.db.session() as session:
        result = await import_schools(session, text, actor="test", now=NOW)
        count = await session.scalar(select(func.count()).select_from(School))
    assert count == 0
    assert result.problems == [
        "line 3: name has a control character (U+0000) at character 4; headteacher_name has a control character "
        "(U+001B) at character 4, which can't be kept: remove it"
    ]


async def test_a_good_register_imports_and_a_second_import_updates_in_place(empty_service):
    text = HEADER + "118001,Good Primary,Primary,mid,chelmsford,Ann Head,Ann@Good.example,,\n"
    async with empty_service.db.session() as session:
        assert (await import_schools(session, text, actor="test", now=NOW)).rows == 1
        assert (await import_schools(session, text.replace("Good Primary", "Better Primary"), actor="t", now=NOW)).ok
        school = await session.get(School, "118001")
        await session.refresh(school)
    assert (school.name, school.phase, school.quadrant, school.district) == (
        "Better Primary",
        "primary",
        "Mid",
        "Chelmsford",
    )
    assert school.headteacher_email == "ann@good.example"


async def test_need_import_replaces_the_windows_need_atomically(service):
    async with service.db.session() as session:
        window = await session.scalar(select(Window))
        bad = (
            "quadrant,district,phase,need_type,provision_type,places,priority,notes\n"
            "Mid,,primary,ASD,resourced,10,high,\nSouth,Basildon,primary,XYZ,resourced,ten,urgent,\n"
        )
        result = await import_need(session, bad, window=window, actor="test", now=NOW)
        assert result.problems == [
            "line 3: need_type 'XYZ' should be a DfE code such as ASD or SEMH; places 'ten' should be a whole "
            "number from 1 to 500; priority 'urgent' should be high, medium or low"
        ]
        assert await session.scalar(select(func.count()).select_from(NeedRow)) == 8  # the demo need, untouched
        good = "quadrant,district,phase,need_type,provision_type,places,priority\nMid,,primary,ASD,resourced,10,high\n"
        assert (await import_need(session, good, window=window, actor="officer", now=NOW)).rows == 1
        rows = (await session.scalars(select(NeedRow))).all()
    assert [(r.quadrant, r.district, r.need_type, r.imported_by) for r in rows] == [("Mid", "", "ASD", "officer")]


def test_the_import_command_reports_bad_rows_by_line_and_exits_non_zero(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    bad = tmp_path / "schools.csv"
    bad.write_text(HEADER + "12,No Name,primary,Mid,Chelmsford,,,,\n", encoding="utf-8")
    assert cli.main(["import", "schools", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "nothing imported" in err and "line 2: urn '12'" in err
    good = tmp_path / "good.csv"
    good.write_text(HEADER + "118001,Good Primary,primary,Mid,Chelmsford,,,,\n", encoding="utf-8")
    assert cli.main(["import", "schools", str(good)]) == 0
    assert "Imported 1 schools" in capsys.readouterr().out


def test_seed_export_and_announce_work_from_the_command_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("EOI_NOW", "2026-11-30T10:00:00+00:00")
    assert cli.main(["seed", "--demo", "--if-empty"]) == 0
    assert "Seeded 60 demo schools" in capsys.readouterr().out
    assert cli.main(["seed", "--demo", "--if-empty"]) == 0
    assert "already loaded" in capsys.readouterr().out
    assert cli.main(["announce", "--dry-run"]) == 0
    assert "(dry run)" in capsys.readouterr().out
    out = tmp_path / "eois.csv"
    assert cli.main(["export", "--out", str(out)]) == 0
    assert out.read_text().startswith("ref,window,urn")


async def test_times_go_in_and_come_out_as_aware_utc(service):
    async with service.db.session() as session:
        window = await session.scalar(select(Window))
    assert window.opens_at.tzinfo is not None and window.opens_at.utcoffset().total_seconds() == 0


async def test_the_migrations_match_the_models(service):
    """A model change without a migration fails here, so an existing database always upgrades in place."""
    async with service.db.engine.connect() as conn:
        await conn.run_sync(lambda sync: command.check(alembic_config(sync)))


def test_a_time_zone_other_than_london_is_refused_with_a_clear_message(monkeypatch, capsys):
    monkeypatch.setenv("EOI_TIMEZONE", "America/New_York")
    assert cli.main(["export"]) == 2
    assert "only Europe/London is supported" in capsys.readouterr().err


async def test_platform_delivery_ids_are_forgotten_after_a_week(service):
    from datetime import timedelta

    from storage.events import first_time, forget_older_than

    now = service.clock.now()
    assert await first_time(service.db, "slack:EvOld", now - timedelta(days=8))
    assert await first_time(service.db, "slack:EvNew", now)
    assert await forget_older_than(service.db, now, days=7) == 1
    assert await first_time(service.db, "slack:EvOld", now)
    assert not await first_time(service.db, "slack:EvNew", now)
