"""`eoi-bot doctor`: is this installation set up right? One line per check, each saying what to do when it isn't;
exit status 1 when any check fails (a warning alone does not fail).

The checks are a table (CHECKS): a name and an async function from the Context to a Finding. To add one, write
the function and add a row. Doctor changes nothing: it opens the database without upgrading it, and asks Slack
only `auth.test` and `users.info`.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from bot.config import DEFAULT_DATABASE_URL, Settings, load_settings, mask_url, parse_officers
from bot.config import _flag as flag  # the same reading of 1/0 as the service

log = logging.getLogger("eoi-bot.doctor")
OK, WARN, FAIL, OFF, SKIP = "ok", "warn", "FAIL", "off", "skip"
SLACK_MANIFEST = Path(__file__).resolve().parents[1] / "manifest" / "slack" / "manifest.yaml"
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)
APP_TYPES = {"multitenant": "MultiTenant", "singletenant": "SingleTenant", "userassignedmsi": "UserAssignedMSI"}
PLATFORMS = ("slack", "msteams", "console")
DRIVERS = ("postgresql+asyncpg", "sqlite+aiosqlite")
DRIVERS_SAID = "postgresql+asyncpg://USER:PASSWORD@HOST:5432/DATABASE or sqlite+aiosqlite:///PATH"
# A due step older than this means no scheduler is running (serve runs it every few seconds).
SCHEDULER_LATE = timedelta(minutes=5)


@dataclass(frozen=True)
class Finding:
    status: str  # OK, WARN, FAIL, OFF (not configured, and that is allowed) or SKIP (an earlier check failed)
    says: str
    todo: str = ""  # what to do about it


class Skip(Exception):
    """A check that can't run because one it depends on failed (said once, by that check)."""


@dataclass
class Context:
    """What the checks share: the environment, the settings when they could be read, and what earlier checks
    found out (the database handle, Slack's answer to auth.test)."""

    env: dict[str, str]
    settings: Settings | None = None
    settings_error: str = ""
    db: Any = None  # storage.db.Database, opened without upgrading
    db_current: bool = False  # reachable and at this version's migration level
    slack: Any = None  # slack_sdk AsyncWebClient once the token is accepted
    slack_scopes: frozenset[str] | None = None
    notes: dict[str, Any] = field(default_factory=dict)

    def now(self) -> datetime:
        if self.settings is not None and self.settings.fixed_now is not None:
            return self.settings.fixed_now
        return datetime.now(ZoneInfo("Europe/London"))


# ------------------------------------------------------------------------------------------------- settings
async def check_settings(ctx: Context) -> Finding:
    if ctx.settings is None:
        return Finding(FAIL, ctx.settings_error, "fix that variable: eoi-bot refuses to start until then")
    return Finding(OK, "every variable reads")


# ------------------------------------------------------------------------------------------------- database
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


def _needs_current_database(ctx: Context) -> None:
    if not ctx.db_current:
        raise Skip("the database is not reachable or not at this version's migration level")


# ------------------------------------------------------------------------------------------------- Slack
def _slack_configured(ctx: Context) -> bool:
    return bool(ctx.env.get("SLACK_BOT_TOKEN") or ctx.env.get("SLACK_SIGNING_SECRET"))


async def check_slack_token(ctx: Context) -> Finding:
    from slack_sdk.errors import SlackApiError
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.slack_adapter import api_url

    if not _slack_configured(ctx):
        return Finding(OFF, "Slack is off (SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET are unset)")
    token = ctx.env.get("SLACK_BOT_TOKEN", "")
    if not token:
        return Finding(
            FAIL,
            "SLACK_SIGNING_SECRET is set but SLACK_BOT_TOKEN is not, so Slack stays off",
            "copy the Bot User OAuth Token (xoxb-…) from the app's OAuth & Permissions page",
        )
    if not token.startswith("xoxb-"):
        return Finding(
            FAIL,
            f"SLACK_BOT_TOKEN starts {token[:5]!r}: not a bot token",
            "use the Bot User OAuth Token (xoxb-…), not a user (xoxp-) or app-level (xapp-) token",
        )
    url = api_url(ctx.env.get("SLACK_API_URL", ""))
    client = AsyncWebClient(token=token, base_url=url, retry_handlers=[])
    try:
        answer = await client.auth_test()
    except SlackApiError as error:
        code = error.response.get("error") if isinstance(error.response.data, dict) else error.response.status_code
        return Finding(
            FAIL,
            f"Slack refused the token ({code})",
            "copy the current Bot User OAuth Token from OAuth & Permissions (reinstalling the app changes it)",
        )
    except Exception as error:
        return Finding(
            FAIL,
            f"Slack did not answer at {url} ({type(error).__name__})",
            "check that this host can reach Slack over HTTPS",
        )
    ctx.slack = client
    granted = {str(k).lower(): (v[0] if isinstance(v, list) else v) for k, v in (answer.headers or {}).items()}.get(
        "x-oauth-scopes"
    )
    if granted is not None:
        ctx.slack_scopes = frozenset(s.strip() for s in str(granted).split(",") if s.strip())
    bot, team = f"@{answer.get('user', '?')} ({answer.get('user_id', '?')})", answer.get("team", "?")
    return Finding(OK, f"accepted: bot {bot} in {team} ({answer.get('url', '?')})")


def manifest_bot_scopes(path: Path = SLACK_MANIFEST) -> frozenset[str]:
    manifest = yaml.safe_load(path.read_text(encoding="utf-8"))
    return frozenset(manifest["oauth_config"]["scopes"]["bot"])


async def check_slack_scopes(ctx: Context) -> Finding:
    if not _slack_configured(ctx):
        return Finding(OFF, "Slack is off")
    if ctx.slack is None:
        raise Skip("the token was not accepted")
    if ctx.slack_scopes is None:
        return Finding(WARN, "Slack did not say which scopes the token has", "compare OAuth & Permissions by hand")
    try:
        wanted = manifest_bot_scopes()
    except (OSError, KeyError, TypeError, yaml.YAMLError) as error:
        return Finding(WARN, f"can't read {SLACK_MANIFEST} ({type(error).__name__})", "run doctor from a full checkout")
    missing, extra = sorted(wanted - ctx.slack_scopes), sorted(ctx.slack_scopes - wanted)
    if missing:
        return Finding(
            FAIL,
            f"the app lacks {', '.join(missing)}, which manifest/slack/manifest.yaml asks for",
            "add them under OAuth & Permissions → Bot Token Scopes (or update the app from the manifest), then "
            "reinstall the app to the workspace",
        )
    if extra:
        return Finding(
            WARN,
            f"all {len(wanted)} scopes the manifest asks for, and more: {', '.join(extra)}",
            "remove the extra scopes under OAuth & Permissions and reinstall: the bot needs only the manifest's",
        )
    return Finding(OK, f"exactly the {len(wanted)} scopes the manifest asks for")


async def check_slack_signing_secret(ctx: Context) -> Finding:
    if not _slack_configured(ctx):
        return Finding(OFF, "Slack is off")
    secret = ctx.env.get("SLACK_SIGNING_SECRET", "")
    if not secret:
        return Finding(
            FAIL,
            "SLACK_BOT_TOKEN is set but SLACK_SIGNING_SECRET is not, so Slack stays off",
            "copy the Signing Secret from Basic Information → App Credentials",
        )
    if len(secret) != 32:
        return Finding(
            WARN,
            f"present, but {len(secret)} characters where Slack's signing secrets have 32",
            "check it is the Signing Secret, not the Client Secret or the Verification Token",
        )
    # Slack has no call that tests it: a wrong one shows as every request refused (401) at /slack/events.
    return Finding(OK, "present (a wrong one shows as 401s at /slack/events and Slack's 'Request URL' failing)")


# ------------------------------------------------------------------------------------------------- Teams
async def check_teams(ctx: Context) -> Finding:
    env = ctx.env
    app_id = env.get("MICROSOFT_APP_ID", "").strip()
    try:
        emulator = flag(env, "EOI_TEAMS_EMULATOR")
    except ValueError as error:
        return Finding(FAIL, str(error), "set EOI_TEAMS_EMULATOR=0, or unset it")
    if not app_id and not emulator:
        return Finding(OFF, "Teams is off (MICROSOFT_APP_ID is unset)")
    if emulator and app_id:
        return Finding(FAIL, "EOI_TEAMS_EMULATOR=1 and MICROSOFT_APP_ID are both set", "unset EOI_TEAMS_EMULATOR")
    if emulator:
        return Finding(
            WARN,
            "EMULATOR MODE: /api/messages has no authentication (loopback serviceUrls only)",
            "for local testing only; unset EOI_TEAMS_EMULATOR and set MICROSOFT_APP_ID before anyone else can reach "
            "this port",
        )
    problems: list[str] = []
    todo: list[str] = []
    if not GUID.match(app_id):
        problems.append(f"MICROSOFT_APP_ID {app_id[:40]!r} is not an app id (a GUID)")
        todo.append("copy the Microsoft App ID from the Azure Bot's Configuration page")
    raw_type = env.get("MICROSOFT_APP_TYPE") or "MultiTenant"
    app_type = APP_TYPES.get(raw_type.strip().lower())
    if app_type is None:
        problems.append(f"MICROSOFT_APP_TYPE={raw_type!r} is not one of {', '.join(APP_TYPES.values())}")
        todo.append("set it to the Azure Bot's type of app")
    tenant = env.get("MICROSOFT_APP_TENANT_ID", "").strip()
    if app_type in ("SingleTenant", "UserAssignedMSI") and not GUID.match(tenant):
        got = f", got {tenant[:40]!r}" if tenant else ""
        problems.append(f"{app_type} needs MICROSOFT_APP_TENANT_ID (a GUID){got}")
        todo.append("copy the Directory (tenant) ID from Microsoft Entra ID")
    if app_type != "UserAssignedMSI" and not env.get("MICROSOFT_APP_PASSWORD"):
        problems.append("MICROSOFT_APP_PASSWORD is unset")
        todo.append("create a client secret under the Azure Bot's Configuration → Manage Password")
    allowed = {t.strip().lower() for t in env.get("EOI_TEAMS_TENANTS", "").split(",") if t.strip()}
    if allowed and tenant and tenant.lower() not in allowed:
        problems.append(f"EOI_TEAMS_TENANTS does not include the app's own tenant {tenant}")
        todo.append("add it, or nobody in the council's tenant can use the bot")
    if problems:
        return Finding(FAIL, "; ".join(problems), "; ".join(todo))
    # Azure is not asked: the credentials are proved by the first message (a 401 in the log if they are wrong).
    where = f"tenant {tenant}" if tenant else "any tenant the Azure registration admits"
    if not allowed and app_type == "MultiTenant":
        return Finding(
            WARN,
            f"app {app_id} ({app_type}): users of any Microsoft 365 tenant can message the bot",
            "set EOI_TEAMS_TENANTS to the council's tenant id",
        )
    return Finding(OK, f"app {app_id} ({app_type}, {where}); secret present (proved by the first message)")


# ------------------------------------------------------------------------------------------------- metrics
async def check_metrics(ctx: Context) -> Finding:
    if ctx.settings is None:
        raise Skip("the settings did not read")
    if not ctx.settings.metrics:
        return Finding(OFF, "GET /metrics is off (EOI_METRICS unset)")
    return Finding(
        OK,
        f"GET /metrics answers only `Authorization: Bearer` with the {len(ctx.settings.metrics_token)}-character token",
    )


# ------------------------------------------------------------------------------------------------- time
async def check_time_zone(ctx: Context) -> Finding:
    from dialogs.dates import format_datetime

    zone = ctx.env.get("EOI_TIMEZONE") or "Europe/London"
    if zone != "Europe/London":
        return Finding(FAIL, f"EOI_TIMEZONE={zone!r}: only Europe/London is supported", "unset EOI_TIMEZONE")
    try:
        ZoneInfo(zone)
    except ZoneInfoNotFoundError:
        return Finding(FAIL, "no time zone data for Europe/London", "reinstall from the lock (it includes tzdata)")
    if ctx.env.get("EOI_NOW"):
        return Finding(
            WARN,
            f"EOI_NOW fixes the clock at {ctx.env['EOI_NOW']}: windows, reminders and dates follow it, not real time",
            "for demos and tests only: unset EOI_NOW",
        )
    return Finding(OK, f"Europe/London: it is {format_datetime(ctx.now())}")


# ------------------------------------------------------------------------------------------------- officers
async def check_officers(ctx: Context) -> Finding:
    from sqlalchemy import func, select

    from storage.models import Person
    from storage.people import OFFICER

    try:
        named = parse_officers(ctx.env.get("EOI_OFFICERS", ""))
    except ValueError as error:
        return Finding(FAIL, str(error), "fix EOI_OFFICERS")
    unknown = [f"{p}:{u}" for p, u in named if p not in PLATFORMS]
    if unknown:
        return Finding(
            FAIL, f"EOI_OFFICERS names {', '.join(unknown)}: platforms are {', '.join(PLATFORMS)}", "fix EOI_OFFICERS"
        )
    problems: list[str] = []
    slack_on = bool(ctx.env.get("SLACK_BOT_TOKEN") and ctx.env.get("SLACK_SIGNING_SECRET"))
    teams_on = bool(ctx.settings.teams_enabled if ctx.settings else ctx.env.get("MICROSOFT_APP_ID"))
    for platform, user_id in named:
        if (platform == "slack" and not slack_on) or (platform == "msteams" and not teams_on):
            problems.append(f"{platform}:{user_id} can't be reached: {platform} is off")
        elif platform == "slack" and ctx.slack is not None:
            problem = await _slack_member(ctx, user_id)
            if problem:
                problems.append(problem)
    granted = 0
    if ctx.db_current:
        async with ctx.db.session() as session:
            granted = (
                await session.scalar(
                    select(func.count())
                    .select_from(Person)
                    .where(Person.role == OFFICER, Person.officer_granted_at.is_not(None))
                )
                or 0
            )
    added = f"; {granted} added with `officer add`" if granted else ""
    if problems:
        return Finding(FAIL, "; ".join(problems), "fix EOI_OFFICERS (Slack: profile → ⋮ → Copy member ID)")
    if not named and not ctx.db_current:
        raise Skip("none in EOI_OFFICERS, and those added with `officer add` are in the database")
    if not named and not granted:
        return Finding(
            FAIL,
            "no officers: nobody can list, shortlist or decide EOIs",
            "set EOI_OFFICERS=slack:U0123ABCD (or msteams:29:…) to the SEND officers' ids, and restart",
        )
    if not named:
        return Finding(OK, f"none in EOI_OFFICERS{added}")
    return Finding(OK, f"{len(named)} in EOI_OFFICERS{added}")


async def _slack_member(ctx: Context, user_id: str) -> str:
    from slack_sdk.errors import SlackApiError

    try:
        found = await ctx.slack.users_info(user=user_id)
    except SlackApiError as error:
        return f"slack:{user_id} is not in this workspace ({error.response.get('error')})"
    except Exception as error:
        return f"slack:{user_id} could not be looked up ({type(error).__name__})"
    user = found.get("user") or {}
    if user.get("deleted"):
        return f"slack:{user_id} has been deactivated in Slack"
    if user.get("is_bot"):
        return f"slack:{user_id} is a bot, not a person"
    return ""


# ------------------------------------------------------------------------------------------------- scheduler
async def check_scheduler(ctx: Context) -> Finding:
    from sqlalchemy import select

    from bot.announce import steps_to_come
    from dialogs.dates import format_datetime
    from storage.models import Window
    from storage.windows import window_name

    _needs_current_database(ctx)
    now = ctx.now()
    async with ctx.db.session() as session:
        windows = list(await session.scalars(select(Window).where(Window.cancelled_at.is_(None))))
    steps = sorted((step for window in windows for step in steps_to_come(window, now)), key=lambda s: s.due)
    if not steps:
        return Finding(
            WARN,
            "nothing scheduled: no window is planned or open"
            if not windows
            else "nothing scheduled: every window has closed and been summarised",
            "an officer plans the next ones with `window plan 2027/28` (then `Add both`)",
        )

    def said(step: Any) -> str:
        what = {
            "announce": "announcement of",
            "remind": f"{step.days}-day reminder for",
            "summary": "close summary of",
        }[step.what]
        return f"{what} {window_name(step.window)}, {format_datetime(step.due)}"

    first = steps[0]
    if first.due <= now - SCHEDULER_LATE:
        return Finding(
            WARN,
            f"overdue by {_duration(now - first.due)}: {said(first)}",
            "the scheduler runs inside `eoi-bot serve` (or cron's `eoi-bot announce`): is it running?",
        )
    if first.due <= now:
        return Finding(OK, f"due now: {said(first)}")
    return Finding(OK, f"next: {said(first)}")


def _duration(late: timedelta) -> str:
    minutes = int(late.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} minutes"
    if minutes < 48 * 60:
        return f"{minutes // 60} hours"
    return f"{minutes // (24 * 60)} days"


# ------------------------------------------------------------------------------------------------- the table
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
    Check("metrics", check_metrics),
    Check("time zone", check_time_zone),
    Check("officers", check_officers),
    Check("scheduler", check_scheduler),
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
