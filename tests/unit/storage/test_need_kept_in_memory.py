"""Each process keeps the open window's need in memory (nearly every turn asks which rows put the school in
scope). An officer's need import through one process is seen by the very next turn on every other."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

from dialogs.demo import seed_demo
from storage.models import School
from storage.register import NEED_COLUMNS, import_need
from storage.seed import NEED
from storage.windows import need_in_scope, need_key, open_window
from tests.conftest import NOW


def need_csv(rows: list[tuple[object, ...]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerows([NEED_COLUMNS, *rows])
    return out.getvalue()


async def test_a_need_import_on_one_worker_is_seen_by_the_next_turn_on_another(test_db) -> None:
    officers_worker = await test_db.create()
    heads_worker = test_db.open()  # a second `eoi-bot serve` process on the same database
    async with officers_worker.session() as session:
        await seed_demo(session, now=NOW)
        await session.commit()

    async with heads_worker.session() as session:  # a head's turn: the need is read, and kept
        window = await open_window(session, NOW)
        schools = list(await session.scalars(select(School).order_by(School.urn)))
        in_scope = {s.urn: {need_key(n) for n in await need_in_scope(session, window, s)} for s in schools}
        urn, before = next((urn, keys) for urn, keys in in_scope.items() if keys)
    assert before

    # An officer re-imports the need without the rows that put this school in scope.
    kept = [row for row in NEED if need_key_of(row) not in before]
    async with officers_worker.session() as session:
        window = await open_window(session, NOW)
        assert (await import_need(session, need_csv(kept), window=window, actor="officer", now=NOW)).ok

    async with heads_worker.session() as session:  # the head's next turn
        window = await open_window(session, NOW)
        school = await session.get(School, urn)
        assert await need_in_scope(session, window, school) == []
    await heads_worker.dispose()
    await officers_worker.dispose()


def need_key_of(row: tuple[object, ...]) -> str:
    need = dict(zip(NEED_COLUMNS, row, strict=True))
    return f"{need['need_type']}/{need['provision_type']}/{need['district'] or need['quadrant']}/{need['phase']}"


async def test_two_need_imports_at_once_leave_the_window_two_versions_on(test_db) -> None:
    # Each process keeps a window's need under its version: were two overlapping imports to land on the same
    # number, a process that had kept the first's rows would never read the second's.
    import asyncio

    if test_db.backend != "postgres":
        return  # SQLite runs one writer at a time: imports can't overlap there
    db = await test_db.create()
    async with db.session() as session:
        await seed_demo(session, now=NOW)
        await session.commit()
        before = (await open_window(session, NOW)).need_version
    first_in = asyncio.Event()

    async def officer_import(rows: list[tuple[object, ...]], *, hold_open: bool) -> None:
        async with db.session() as session:
            window = await open_window(session, NOW)
            assert (await import_need(session, need_csv(rows), window=window, actor="officer", now=NOW)).ok
            if hold_open:
                first_in.set()
                await asyncio.sleep(0.5)  # the other import reads the window meanwhile, then waits for this one
            await session.commit()

    async def second_officer() -> None:
        await first_in.wait()
        await officer_import(list(NEED[:2]), hold_open=False)

    await asyncio.gather(officer_import(list(NEED[:3]), hold_open=True), second_officer())
    async with db.session() as session:
        assert (await open_window(session, NOW)).need_version == before + 2
    await db.dispose()
