"""The environment: every variable reads, /metrics, the time zone and clock."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.doctor.findings import FAIL, OFF, OK, WARN, Context, Finding, Skip


async def check_settings(ctx: Context) -> Finding:
    if ctx.settings is None:
        return Finding(FAIL, ctx.settings_error, "fix that variable: eoi-bot refuses to start until then")
    return Finding(OK, "every variable reads")


async def check_metrics(ctx: Context) -> Finding:
    if ctx.settings is None:
        raise Skip("the settings did not read")
    if not ctx.settings.metrics:
        return Finding(OFF, "GET /metrics is off (EOI_METRICS unset)")
    return Finding(
        OK,
        f"GET /metrics answers only `Authorization: Bearer` with the {len(ctx.settings.metrics_token)}-character token",
    )


async def check_web_form(ctx: Context) -> Finding:
    settings = ctx.settings
    if settings is None:
        raise Skip("the settings did not read")
    if not settings.web_enabled:
        return Finding(OFF, "the web form is off (EOI_WEB_BASE_URL and EOI_WEB_SECRET unset)")
    if not settings.email_enabled:
        return Finding(
            WARN,
            f"the web form is on at {settings.web_base_url}/web, but email is off: no school is sent its link",
            "set SMTP_URL and EOI_MAIL_FROM, or send links by hand (`eoi-bot web-link URN`)",
        )
    if not settings.web_base_url.startswith("https://"):
        return Finding(
            WARN,
            f"EOI_WEB_BASE_URL={settings.web_base_url} is not https: links and session cookies would cross the "
            "network in the clear",
            "serve it behind the council's TLS proxy and give its https:// address (docs/DEPLOYMENT.md, section 5)",
        )
    return Finding(OK, f"the web form is on at {settings.web_base_url}/web; every email to a school carries its link")


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
