"""`python -m bench.profile_turn`: where a dialog turn's time goes, in one process.

    python -m bench.profile_turn [--backend sqlite|postgres] [--platform slack|teams|teams-agents] [--users 10]
                                 [--html bench/results/profile-slack.html]

Drives whole EOIs through the real HTTP routes (signed Slack events into /slack/events, or activities into
/api/messages) of the service built as `eoi-bot serve` builds it, against the fake Slack Web API and Bot
Connector, and reports per turn: the database statements (by their first words) and the process's CPU time.
With --html, pyinstrument records the run and writes its flame graph (`pip install -e '.[bench]'`). The load
generator shares the process, so the CPU numbers are for comparing changes, not for the table (python -m bench
measures the service alone).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestServer
from sqlalchemy import event

from bench.common import EOI_NOW, PG_ADMIN, SECRET, TOKEN
from bench.dialog_turns import register_people, run_load
from tests.fakes.bot_connector import FakeBotConnector
from tests.fakes.slack_web_api import FakeSlackWebApi


async def _database(backend: str, work: Path) -> tuple[str, Any]:
    """A fresh seeded database URL, and how to drop it."""
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{work / 'profile.db'}", None
    import asyncpg

    name = f"profile_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(PG_ADMIN)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()

    async def drop() -> None:
        conn = await asyncpg.connect(PG_ADMIN)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()

    return f"postgresql+asyncpg://{PG_ADMIN.split('://', 1)[1].rsplit('/', 1)[0]}/{name}", drop


async def run(args: argparse.Namespace) -> None:
    from bot.app import background, build_app
    from bot.config import Settings
    from bot.service import enforce_officers, open_service
    from dialogs.dates import warm_up
    from dialogs.demo import seed_demo
    from storage.clock import Clock

    work = Path(tempfile.mkdtemp(prefix="eoi-profile-"))
    url, drop = await _database(args.backend, work)
    fake, connector = FakeSlackWebApi(), FakeBotConnector()
    await fake.start()
    await connector.start()
    register_people(fake, connector)
    from datetime import datetime

    settings = Settings(
        database_url=url,
        slack_bot_token=TOKEN,
        slack_signing_secret=SECRET,
        slack_api_url=fake.base_url,
        teams_emulator=True,
        teams_sdk="agents" if args.platform == "teams-agents" else "botbuilder",
        fixed_now=datetime.fromisoformat(EOI_NOW),
    )
    service = await open_service(settings, clock=Clock(datetime.fromisoformat(EOI_NOW)))
    async with service.db.session() as session:
        await seed_demo(session, now=service.clock.now())
    await enforce_officers(service)
    warm_up()
    statements: collections.Counter[str] = collections.Counter()

    @event.listens_for(service.db.engine.sync_engine, "before_cursor_execute")
    def count(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        statements[" ".join(sql.split()[:4])[:60]] += 1

    app = build_app(service)
    app.cleanup_ctx.append(background(service))  # the scheduler and dispatcher, as `eoi-bot serve` runs them
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    profiler = None
    if args.html:
        from pyinstrument import Profiler

        profiler = Profiler(async_mode="disabled", interval=0.0005)
    try:
        cpu, wall = time.process_time(), time.perf_counter()
        if profiler:
            profiler.start()
        result = await run_load(args.platform, str(server.make_url("")), args.users, fake, connector, target="eoi-bot")
        if profiler:
            profiler.stop()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    finally:
        await server.close()
        await service.close()
        await fake.stop()
        await connector.stop()
        if drop:
            await drop()
    turns = result.turns or 1
    print(f"{args.backend} {args.platform}: {result.turns} turns by {args.users} users, {result.completed} EOIs done")
    print(f"  whole process: {1000 * cpu / turns:.2f} ms CPU per turn, {turns / wall:.0f} turns/s")
    print(f"  statements per turn: {sum(statements.values()) / turns:.2f}")
    for sql, n in statements.most_common(25):
        print(f"    {n / turns:6.2f}  {sql}")
    if result.errors:
        print("  errors:", result.errors[:3])
    if profiler and args.html:
        args.html.parent.mkdir(parents=True, exist_ok=True)
        args.html.write_text(profiler.output_html())
        if args.text:
            args.html.with_suffix(".txt").write_text(profiler.output_text(unicode=True, show_all=False))
        print(f"  flame graph: {args.html}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_turn", description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--platform", choices=("slack", "teams", "teams-agents"), default="slack")
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--html", type=Path, help="write pyinstrument's flame graph here")
    parser.add_argument("--text", action="store_true", help="and its call tree as text, beside it (.txt)")
    args = parser.parse_args()
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
    asyncio.run(run(args))


if __name__ == "__main__":
    main()
