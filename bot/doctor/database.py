"""The database: reachable (never created or upgraded here), and at this version's migration level."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.config import DEFAULT_DATABASE_URL, mask_url
from bot.doctor.findings import FAIL, OK, Context, Finding, Skip

DRIVERS = ("postgresql+asyncpg", "sqlite+aiosqlite")
DRIVERS_SAID = "postgresql+asyncpg://USER:PASSWORD@HOST:5432/DATABASE or sqlite+aiosqlite:///PATH"
# A due step older than this means no scheduler is running (serve runs it every few seconds).


async def check_database(ctx: Context) -> Finding:
    from sqlalchemy import text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    from bot import service as wiring  # tests open their own schema through wiring.Database

    url = ctx.env.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    shown = mask_url(url)
    try:
        driver = make_url(url).drivername
    except ArgumentError:
        return Finding(FAIL, "DATABASE_URL is not a database URL", f"use {DRIVERS_SAID}")
    if driver not in DRIVERS:
        return Finding(FAIL, f"DATABASE_URL uses {driver}://, which eoi-bot can't drive", f"use {DRIVERS_SAID}")
    if driver.startswith("sqlite"):
        path = make_url(url).database or ""
        if path and path != ":memory:" and not Path(path).exists():
            # Opening it would create it: doctor changes nothing.
            return Finding(
                FAIL, f"{shown}: no database file there", "run `eoi-bot migrate` to create it, or fix DATABASE_URL"
            )
    try:
        ctx.db = wiring.Database(url)
        async with ctx.db.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception as error:  # the driver's words can hold the password: the type only
        return Finding(
            FAIL,
            f"{shown} did not answer ({type(error).__name__})",
            "check DATABASE_URL and that the database is running and reachable from here",
        )
    return Finding(OK, f"{shown} answers")


async def check_migrations(ctx: Context) -> Finding:
    from alembic.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from storage.db import alembic_config, schema_differences

    if ctx.db is None:
        raise Skip("the database did not answer")
    scripts = ScriptDirectory.from_config(alembic_config())
    head = scripts.get_current_head()

    def inspect(connection: Any) -> tuple[str | None, list[str]]:
        revision = MigrationContext.configure(connection).get_current_revision()
        return revision, schema_differences(connection) if revision == head else []

    async with ctx.db.engine.connect() as conn:
        revision, differences = await conn.run_sync(inspect)
    if revision is None:
        return Finding(FAIL, f"empty: no tables yet (this version needs migration {head})", "run `eoi-bot migrate`")
    known = {script.revision for script in scripts.walk_revisions()}
    if revision not in known:
        return Finding(
            FAIL,
            f"at migration {revision}, which this version of eoi-bot does not know (a newer version made it)",
            "run the newer version, or restore the backup taken before it upgraded",
        )
    if revision != head:
        return Finding(
            FAIL,
            f"at migration {revision}; this version needs {head}",
            "back up the database, then run `eoi-bot migrate` (see docs/DEPLOYMENT.md, Upgrading)",
        )
    if differences:
        return Finding(
            FAIL,
            f"at migration {head}, but its tables differ from this version's: {differences[0]}"
            + (f" (and {len(differences) - 1} more)" if len(differences) > 1 else ""),
            "back up, then repair by hand or start on a new database; `eoi-bot serve` says the same in full",
        )
    ctx.db_current = True
    return Finding(OK, f"at migration {head}, the newest this version knows")


def needs_current_database(ctx: Context) -> None:
    if not ctx.db_current:
        raise Skip("the database is not reachable or not at this version's migration level")
