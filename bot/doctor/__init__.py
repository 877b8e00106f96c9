"""`eoi-bot doctor`: is this installation set up right? One line per check, each saying what to do when it isn't;
exit status 1 when any check fails (a warning alone does not fail).

The checks are a table (CHECKS, below): a name and an async function from the Context to a Finding, each in the
module for its subject (database, slack, teams, reach, settings, officers, scheduler). To add one, write the function
there or in a new module, and add a row. Doctor changes nothing: it opens the database without upgrading it, and
asks Slack only `auth.test` and `users.info`.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TextIO

from bot.config import load_settings
from bot.doctor.database import check_database, check_migrations
from bot.doctor.findings import FAIL, OK, SKIP, WARN, Context, Finding, Skip, log
from bot.doctor.officers import check_officers
from bot.doctor.reach import check_schools_reached, check_smtp
from bot.doctor.scheduler import check_scheduler
from bot.doctor.settings import check_metrics, check_settings, check_time_zone, check_web_form
from bot.doctor.slack import check_slack_scopes, check_slack_signing_secret, check_slack_token
from bot.doctor.teams import check_teams


@dataclass(frozen=True)
class Check:
    name: str
    run: Callable[[Context], Awaitable[Finding]]


CHECKS: list[Check] = [
    Check("settings", check_settings),
    Check("database", check_database),
    Check("migrations", check_migrations),
    Check("slack token", check_slack_token),
    Check("slack scopes", check_slack_scopes),
    Check("slack signing secret", check_slack_signing_secret),
    Check("teams", check_teams),
    Check("smtp", check_smtp),
    Check("web form", check_web_form),
    Check("metrics", check_metrics),
    Check("time zone", check_time_zone),
    Check("officers", check_officers),
    Check("scheduler", check_scheduler),
    Check("schools reached", check_schools_reached),
]


async def run(env: dict[str, str], *, out: TextIO | None = None, checks: list[Check] | None = None) -> int:
    """Run every check, print one line each, and return the exit status: 1 if any failed, else 0."""
    out = out or sys.stdout
    ctx = Context(env)
    try:
        ctx.settings = load_settings(env)
    except ValueError as error:
        ctx.settings_error = str(error)
    failed = warned = 0
    width = max(len(check.name) for check in checks or CHECKS)
    try:
        for check in checks or CHECKS:
            try:
                finding = await check.run(ctx)
            except Skip as why:
                finding = Finding(SKIP, f"not checked: {why}")
            except Exception as error:  # one broken check must not hide the others; its words could hold secrets
                finding = Finding(FAIL, f"the check itself failed ({type(error).__name__})", "see the log")
                log.warning("doctor: check %s failed", check.name, exc_info=True)
            failed += finding.status == FAIL
            warned += finding.status == WARN
            line = f"{finding.status:<4}  {check.name:<{width}}  {finding.says}"
            print(line + (f". To do: {finding.todo}" if finding.todo and finding.status != OK else ""), file=out)
    finally:
        if ctx.db is not None:
            await ctx.db.dispose()
    warnings = f"{warned} warning{'s' if warned != 1 else ''}"
    print(
        f"{failed} check{'s' if failed != 1 else ''} failed, {warnings}." if failed else f"Nothing failed; {warnings}.",
        file=out,
    )
    return 1 if failed else 0
