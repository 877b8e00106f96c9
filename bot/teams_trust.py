"""Who may post to `/api/messages`, beyond botbuilder's token check: the serviceUrl an activity names (the bot
sends its replies, member lookups and file uploads there) and the tenant it comes from.

An activity names its own serviceUrl. Unchecked, anyone could make the bot ask their server for a member's
email and believe it (and so act as a headteacher), or make it send requests to any address.

- With an app id, botbuilder checks the token's `serviceurl` claim against the activity: the first line.
  The second line is here: the URL must be one of Microsoft's documented Bot Connector hosts, over HTTPS.
- In emulator mode there is no token, so only loopback serviceUrls are accepted: the Bot Framework Emulator
  and the tests run on this machine.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

# Microsoft's Bot Connector service hosts for Teams (public, GCC, GCC High, DoD), and the Bot Framework's
# own channels (the Azure portal's "Test in Web Chat", Direct Line). Any subdomain of these.
CONNECTOR_HOSTS = (
    "smba.trafficmanager.net",
    "smba.infra.gcc.teams.microsoft.com",
    "smba.infra.gov.teams.microsoft.us",
    "smba.infra.dod.teams.microsoft.us",
    "botframework.com",
    "botframework.azure.us",
)
# Where Teams says to PUT a file the person allowed (file consent's uploadInfo.uploadUrl): their OneDrive.
UPLOAD_HOSTS = ("sharepoint.com", "sharepoint.us", "sharepoint.cn", "sharepoint-mil.us")
# Where a file someone sent the bot in personal chat is fetched from (its file.download.info `downloadUrl`, a
# short-lived pre-authenticated link to the sender's OneDrive): the same hosts. Never with the bot's token.
DOWNLOAD_HOSTS = UPLOAD_HOSTS


def _host(url: str) -> tuple[str, str]:
    try:
        parts = urlsplit(url)
        return parts.scheme.lower(), (parts.hostname or "").lower().rstrip(".")
    except ValueError:
        return "", ""


def is_loopback(url: str) -> bool:
    scheme, host = _host(url)
    if scheme not in ("http", "https") or not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _under(host: str, domains: Iterable[str]) -> bool:
    return any(host == domain or host.endswith("." + domain) for domain in domains)


def url_allowed(url: str, *, emulator: bool, hosts: Iterable[str]) -> bool:
    """May the bot send requests to `url`? Loopback only in emulator mode; HTTPS to `hosts` otherwise."""
    if emulator:
        return is_loopback(url)
    scheme, host = _host(url)
    return scheme == "https" and _under(host, hosts)


def service_url_allowed(url: str, *, emulator: bool) -> bool:
    return url_allowed(url, emulator=emulator, hosts=CONNECTOR_HOSTS)


def upload_url_allowed(url: str, *, emulator: bool) -> bool:
    return url_allowed(url, emulator=emulator, hosts=UPLOAD_HOSTS)


def download_url_allowed(url: str, *, emulator: bool) -> bool:
    return url_allowed(url, emulator=emulator, hosts=DOWNLOAD_HOSTS)


def tenant_of(conversation_tenant: str | None, channel_data: Any) -> str:
    """Teams puts the tenant in `conversation.tenantId` and in `channelData.tenant.id`."""
    tenant = conversation_tenant or ""
    if not tenant and isinstance(channel_data, dict) and isinstance(channel_data.get("tenant"), dict):
        tenant = str(channel_data["tenant"].get("id") or "")
    return tenant.strip().lower()


def tenant_allowed(tenant: str, allowed: frozenset[str]) -> bool:
    return not allowed or tenant in allowed
