"""Settings read from the environment (README.md, "Configuration")."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

from dialogs.dates import DEFAULT_WORKING_HOURS, WorkingHours
from storage.retention import RULES, parse_days

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./eoi-bot.db"


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/London"))
    officers: tuple[tuple[str, str], ...] = ()
    fixed_now: datetime | None = None
    slack_bot_token: str = ""
    slack_signing_secret: str = ""
    slack_api_url: str = ""
    # SLACK_APP_TOKEN (xapp-…): connect out to Slack over Socket Mode instead of serving POST /slack/events.
    slack_app_token: str = ""
    microsoft_app_id: str = ""
    microsoft_app_password: str = ""
    microsoft_app_tenant_id: str = ""
    microsoft_app_type: str = "SingleTenant"  # TEAMS_APP_TYPES: Azure makes no new multi-tenant bots
    # Teams without an app id, for the Bot Framework Emulator and tests: unauthenticated, loopback only.
    teams_emulator: bool = False
    # EOI_LA_CODE: the council's local authority code in the national register (Essex 881): `import schools`
    # keeps that authority's schools from the Department for Education's establishment file.
    la_code: str = "881"
    # EOI_TEAMS_SDK (TEAMS_SDKS): which Microsoft SDK serves /api/messages. botbuilder until the Agents SDK
    # channel has run in a real tenant.
    teams_sdk: str = "botbuilder"
    # Tenant ids allowed to use the bot in Teams; empty means any tenant the Azure registration admits.
    teams_tenants: frozenset[str] = frozenset()
    # How long a delivery claimed by a process may go unfinished before another takes it over (after a crash).
    delivery_stale_seconds: float = 60.0
    # Days each kind of record is kept (storage.retention.RULES, EOI_RETAIN_*_DAYS); a kind not named keeps its default.
    retention_days: dict[str, int] = field(default_factory=dict)
    # EOI_WORKING_HOURS: a discussion outside them (or on a weekend or bank holiday) is booked only once confirmed.
    working_hours: WorkingHours = DEFAULT_WORKING_HOURS
    # EOI_METRICS=1: `GET /metrics` (Prometheus), answered only with `Authorization: Bearer <EOI_METRICS_TOKEN>`.
    metrics: bool = False
    metrics_token: str = ""
    # EOI_LOG_FORMAT: "text" (a line a person reads) or "json" (one JSON object per event, for a log collector).
    log_format: str = "text"
    # Email to schools no Slack or Teams destination reaches (bot.email_sender): SMTP_URL, EOI_MAIL_FROM, and the
    # council's own words on getting access to its Slack or Teams (EOI_MAIL_JOIN), added to every email.
    smtp_url: str = ""
    mail_from: str = ""
    mail_join: str = ""
    # The web form for schools no chat reaches (bot/web_channel.py): where it is served as people see it (behind the
    # council's TLS proxy) and the key its sign-in links are signed with. On only when both are set.
    web_base_url: str = ""
    web_secret: str = ""

    @property
    def web_enabled(self) -> bool:
        return bool(self.web_base_url and self.web_secret)

    @property
    def slack_enabled(self) -> bool:
        """The bot token, and either the signing secret (HTTP) or an app token (Socket Mode: nothing is signed)."""
        return bool(self.slack_bot_token and (self.slack_signing_secret or self.slack_app_token))

    @property
    def slack_socket_mode(self) -> bool:
        return bool(self.slack_app_token)

    @property
    def email_enabled(self) -> bool:
        return bool(self.smtp_url)

    @property
    def teams_enabled(self) -> bool:
        """`/api/messages` exists only when Teams is configured, or emulator mode is asked for by name."""
        return bool(self.microsoft_app_id) or self.teams_emulator

    @property
    def database_url_masked(self) -> str:
        """The database URL as it may be shown or logged: never the password."""
        return mask_url(self.database_url)


def mask_url(url: str) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(an unreadable URL)"


def _flag(env: dict[str, str], name: str) -> bool:
    raw = (env.get(name) or "").strip().casefold()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on"):
        return True
    raise ValueError(f"{name}={env[name]!r}: use 1 or 0")


METRICS_TOKEN_MIN = 16
WEB_SECRET_MIN = 32


def _web(env: dict[str, str]) -> tuple[str, str]:
    """EOI_WEB_BASE_URL and EOI_WEB_SECRET, checked: both or neither, an http(s) address with no query, and a secret
    long enough that a sign-in link can't be forged by guessing."""
    base, secret = env.get("EOI_WEB_BASE_URL", "").strip().rstrip("/"), env.get("EOI_WEB_SECRET", "").strip()
    if not base and not secret:
        return "", ""
    if not base or not secret:
        raise ValueError("The web form needs both EOI_WEB_BASE_URL and EOI_WEB_SECRET (or neither, to leave it off)")
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ValueError(
            f"EOI_WEB_BASE_URL={base[:80]!r}: the address people open the form at, e.g. https://eoi.essex.gov.uk"
        )
    if len(secret) < WEB_SECRET_MIN:
        raise ValueError(
            f"EOI_WEB_SECRET must be at least {WEB_SECRET_MIN} characters (e.g. `openssl rand -hex 32`): it signs "
            "every school's sign-in link"
        )
    return base, secret


LOG_FORMATS = ("text", "json")


def _metrics(env: dict[str, str]) -> tuple[bool, str]:
    on, token = _flag(env, "EOI_METRICS"), env.get("EOI_METRICS_TOKEN", "").strip()
    if on and len(token) < METRICS_TOKEN_MIN:
        # Refused rather than served openly: metrics name channels, volumes and failures, and a "loopback only"
        # rule would admit everyone behind a reverse proxy on this machine.
        raise ValueError(
            f"EOI_METRICS=1 needs EOI_METRICS_TOKEN, at least {METRICS_TOKEN_MIN} characters "
            "(e.g. `openssl rand -hex 32`), which Prometheus sends as a bearer token"
        )
    return on, token


def parse_officers(raw: str) -> tuple[tuple[str, str], ...]:
    """`slack:U1,msteams:29:1a2b` -> (("slack","U1"), ("msteams","29:1a2b")).

    Split on the first colon only: Teams user ids contain colons.
    """
    entries = []
    for item in raw.split(","):
        item = item.strip()
        if not item:
            continue
        platform, sep, user_id = item.partition(":")
        if not sep or not user_id:
            raise ValueError(f"EOI_OFFICERS entry {item!r} should look like platform:user_id (e.g. slack:U0123)")
        entries.append((platform.strip().lower(), user_id.strip()))
    return tuple(entries)


# The Azure Bot's type of app (botbuilder's APP_TYPE), by its lower-case spelling. Azure has created only
# single-tenant and managed-identity bots since 31 July 2025, so SingleTenant is the default; MultiTenant stays
# for a registration made before then (eoi-bot doctor warns about it).
TEAMS_APP_TYPES = {"singletenant": "SingleTenant", "userassignedmsi": "UserAssignedMSI", "multitenant": "MultiTenant"}
GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.IGNORECASE)


def teams_app(env: dict[str, str], app_id: str) -> tuple[str, str]:
    """MICROSOFT_APP_TYPE and MICROSOFT_APP_TENANT_ID, checked: a single-tenant or managed-identity bot names its
    tenant, or Bot Framework would refuse every token it asks for, at the first message rather than now."""
    raw = (env.get("MICROSOFT_APP_TYPE") or "SingleTenant").strip()
    app_type = TEAMS_APP_TYPES.get(raw.lower())
    if app_type is None:
        raise ValueError(f"MICROSOFT_APP_TYPE={raw!r}: use SingleTenant (the default), UserAssignedMSI or MultiTenant")
    tenant = env.get("MICROSOFT_APP_TENANT_ID", "").strip()
    if app_id and app_type != "MultiTenant" and not GUID.match(tenant):
        raise ValueError(
            f"MICROSOFT_APP_TENANT_ID must be the Directory (tenant) ID the {app_type} Azure Bot was made in"
            f"{f', not {tenant[:40]!r}' if tenant else ''}. SingleTenant is the default, as Azure makes no new "
            "multi-tenant bots; for a bot registered as multi-tenant before 31 July 2025, set "
            "MICROSOFT_APP_TYPE=MultiTenant."
        )
    return app_type, tenant


# EOI_TEAMS_SDK: botbuilder (Bot Framework SDK 4.17, archived: support ended 31 December 2025; bot.teams_adapter)
# or agents (the Microsoft 365 Agents SDK, its successor; bot.teams_agents). The same route, cards and rules.
TEAMS_SDKS = ("botbuilder", "agents")
TEAMS_SDK_NAMES = {
    "botbuilder": "the Bot Framework SDK (support ended 31 December 2025)",
    "agents": "the Microsoft 365 Agents SDK",
}


def teams_sdk(env: dict[str, str]) -> str:
    sdk = (env.get("EOI_TEAMS_SDK") or "botbuilder").strip().lower()
    if sdk not in TEAMS_SDKS:
        raise ValueError(f"EOI_TEAMS_SDK={env['EOI_TEAMS_SDK']!r}: use botbuilder (the default) or agents")
    return sdk


def la_code(env: dict[str, str]) -> str:
    code = (env.get("EOI_LA_CODE") or "881").strip()
    if not re.fullmatch(r"\d{3}", code):
        raise ValueError(f"EOI_LA_CODE={code!r}: the council's 3-digit local authority code (Essex is 881)")
    return code


def load_settings(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ) if env is None else env
    zone = env.get("EOI_TIMEZONE") or "Europe/London"
    if zone != "Europe/London":
        # Essex works in UK time; dates, windows and term rules are written for it. Say so rather than
        # quietly showing people a different clock.
        raise ValueError(f"EOI_TIMEZONE={zone!r}: only Europe/London is supported")
    tz = ZoneInfo(zone)
    fixed_now = None
    if env.get("EOI_NOW"):
        fixed_now = datetime.fromisoformat(env["EOI_NOW"])
        if fixed_now.tzinfo is None:
            fixed_now = fixed_now.replace(tzinfo=tz)
    app_id = env.get("MICROSOFT_APP_ID", "").strip()
    emulator = _flag(env, "EOI_TEAMS_EMULATOR")
    if emulator and app_id:
        # Two answers to "who may post to /api/messages": refuse rather than guess which was meant.
        raise ValueError("EOI_TEAMS_EMULATOR=1 is for running without MICROSOFT_APP_ID; unset one of them")
    app_type, app_tenant = teams_app(env, app_id)
    raw_hours = env.get("EOI_WORKING_HOURS", "").strip()
    metrics, metrics_token = _metrics(env)
    log_format = (env.get("EOI_LOG_FORMAT") or "text").strip().lower()
    if log_format not in LOG_FORMATS:
        raise ValueError(f"EOI_LOG_FORMAT={env['EOI_LOG_FORMAT']!r}: use text or json")
    app_token = env.get("SLACK_APP_TOKEN", "").strip()
    if app_token and not app_token.startswith("xapp-"):
        # A bot token (xoxb-) pasted here is the usual mistake: Socket Mode needs the app-level token.
        raise ValueError("SLACK_APP_TOKEN must be the app-level token (xapp-…) with the connections:write scope")
    smtp_url, mail_from = env.get("SMTP_URL", "").strip(), env.get("EOI_MAIL_FROM", "").strip()
    if smtp_url:
        SmtpServer.parse(smtp_url)  # a bad URL is refused at start-up, not at the first announcement
        if not mail_address(mail_from):
            raise ValueError(f"SMTP_URL is set: EOI_MAIL_FROM must be the address emails come from, not {mail_from!r}")
    tenants = frozenset(t.strip().lower() for t in env.get("EOI_TEAMS_TENANTS", "").split(",") if t.strip())
    web_base_url, web_secret = _web(env)
    return Settings(
        database_url=env.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
        timezone=tz,
        officers=parse_officers(env.get("EOI_OFFICERS", "")),
        fixed_now=fixed_now,
        slack_bot_token=env.get("SLACK_BOT_TOKEN", ""),
        slack_signing_secret=env.get("SLACK_SIGNING_SECRET", ""),
        slack_api_url=env.get("SLACK_API_URL", ""),
        slack_app_token=app_token,
        microsoft_app_id=app_id,
        microsoft_app_password=env.get("MICROSOFT_APP_PASSWORD", ""),
        microsoft_app_tenant_id=app_tenant,
        microsoft_app_type=app_type,
        teams_emulator=emulator,
        teams_sdk=teams_sdk(env),
        la_code=la_code(env),
        teams_tenants=tenants,
        delivery_stale_seconds=float(env.get("EOI_DELIVERY_STALE_SECONDS") or 60),
        retention_days={rule.kind: parse_days(rule, env.get(rule.setting)) for rule in RULES},
        working_hours=WorkingHours.parse(raw_hours) if raw_hours else DEFAULT_WORKING_HOURS,
        metrics=metrics,
        metrics_token=metrics_token,
        log_format=log_format,
        smtp_url=smtp_url,
        mail_from=mail_from,
        mail_join=env.get("EOI_MAIL_JOIN", "").strip(),
        web_base_url=web_base_url,
        web_secret=web_secret,
    )


# Email (bot.email_sender): the server SMTP_URL names and the plain addresses mail goes from and to, read here with
# the other settings so that a bad one is refused at start-up.
SCHEMES = {"smtp": (25, False, None), "smtp+starttls": (587, False, True), "smtps": (465, True, False)}
# One address, no display name, nothing that could start another header line.
PLAIN_ADDRESS = re.compile(r"[^@\s<>,;:\"()\[\]\\]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+")


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    username: str = ""
    password: str = ""
    use_tls: bool = False  # TLS from the first byte (smtps)
    start_tls: bool | None = None  # None: when the server offers it

    @classmethod
    def parse(cls, url: str) -> SmtpServer:
        parts = urlsplit(url.strip())
        if parts.scheme not in SCHEMES or not parts.hostname:
            raise ValueError(
                "SMTP_URL should look like smtp://host:25, smtp+starttls://user:password@host:587 or "
                "smtps://user:password@host:465"
            )
        port, use_tls, start_tls = SCHEMES[parts.scheme]
        try:
            port = parts.port or port
        except ValueError as error:
            raise ValueError(f"SMTP_URL: {error}") from None
        return cls(
            parts.hostname,
            port,
            unquote(parts.username or ""),
            unquote(parts.password or ""),
            use_tls,
            start_tls,
        )

    @property
    def shown(self) -> str:
        """Where mail goes, as it may be printed: never the password."""
        scheme = "smtps" if self.use_tls else "smtp+starttls" if self.start_tls else "smtp"
        user = f"{self.username}:***@" if self.username else ""
        return f"{scheme}://{user}{self.host}:{self.port}"


def mail_address(raw: str) -> str | None:
    """The address if it is one plain address (as a register or EOI_MAIL_FROM gives it), else None."""
    address = raw.strip()
    return address if PLAIN_ADDRESS.fullmatch(address) and len(address) <= 254 else None
