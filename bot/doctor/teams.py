"""Teams: the Azure Bot registration the service is configured with; emulator mode warned."""

from __future__ import annotations

from bot.config import GUID, TEAMS_SDK_NAMES, teams_sdk
from bot.config import TEAMS_APP_TYPES as APP_TYPES
from bot.config import _flag as flag  # the same reading of 1/0 as the service
from bot.doctor.findings import FAIL, OFF, OK, WARN, Context, Finding


async def check_teams(ctx: Context) -> Finding:
    env = ctx.env
    app_id = env.get("MICROSOFT_APP_ID", "").strip()
    try:
        emulator = flag(env, "EOI_TEAMS_EMULATOR")
    except ValueError as error:
        return Finding(FAIL, str(error), "set EOI_TEAMS_EMULATOR=0, or unset it")
    if not app_id and not emulator:
        return Finding(OFF, "Teams is off (MICROSOFT_APP_ID is unset)")
    try:
        on = f"on {TEAMS_SDK_NAMES[teams_sdk(env)]}"
    except ValueError as error:
        return Finding(FAIL, str(error), "set EOI_TEAMS_SDK=botbuilder (the default) or agents")
    if emulator and app_id:
        return Finding(FAIL, "EOI_TEAMS_EMULATOR=1 and MICROSOFT_APP_ID are both set", "unset EOI_TEAMS_EMULATOR")
    if emulator:
        return Finding(
            WARN,
            f"EMULATOR MODE: /api/messages has no authentication (loopback serviceUrls only), {on}",
            "for local testing only; unset EOI_TEAMS_EMULATOR and set MICROSOFT_APP_ID before anyone else can reach "
            "this port",
        )
    problems: list[str] = []
    todo: list[str] = []
    if not GUID.match(app_id):
        problems.append(f"MICROSOFT_APP_ID {app_id[:40]!r} is not an app id (a GUID)")
        todo.append("copy the Microsoft App ID from the Azure Bot's Configuration page")
    raw_type = env.get("MICROSOFT_APP_TYPE") or "SingleTenant"
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
    if app_type == "MultiTenant":
        anyone = "; users of any Microsoft 365 tenant can message the bot" if not allowed else ""
        return Finding(
            WARN,
            f"app {app_id} is MultiTenant, which Azure no longer creates (since 31 July 2025), {on}{anyone}",
            "a registration made before then still works; a new one is SingleTenant (MICROSOFT_APP_TYPE, with "
            "MICROSOFT_APP_TENANT_ID)" + ("" if allowed else "; set EOI_TEAMS_TENANTS to the council's tenant id"),
        )
    proved = "secret present (proved by the first message)" if app_type != "UserAssignedMSI" else "managed identity"
    return Finding(OK, f"app {app_id} ({app_type}, {where}) {on}; {proved}")
