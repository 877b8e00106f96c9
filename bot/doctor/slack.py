"""Slack: the token (auth.test), the scopes it was granted against the manifest's, the signing secret."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.doctor.findings import FAIL, OFF, OK, WARN, Context, Finding, Skip

SLACK_MANIFEST = Path(__file__).resolve().parents[2] / "manifest" / "slack" / "manifest.yaml"


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
    if not secret and ctx.env.get("SLACK_APP_TOKEN"):
        # Socket Mode: nothing arrives by HTTP, so there is nothing to verify a signature on.
        return Finding(OK, "not needed: Slack runs over Socket Mode (SLACK_APP_TOKEN)")
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


async def slack_member(ctx: Context, user_id: str) -> str:
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
