"""Fetching a file someone sent the bot from the platform's file host: only from hosts the channel trusts, at most
MAX_FILE_BYTES, and never half a file.

Each channel says which URLs it trusts (Slack: its file hosts; Teams: OneDrive and SharePoint) and what headers go
with the request (Slack: the bot token; Teams: none, its URL is pre-authenticated). Whatever goes wrong ends as a
ReceivedFile with a problem, never as an exception: the dialog words the problem, and the turn goes on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from urllib.parse import urljoin, urlsplit

import aiohttp
from yarl import URL

from dialogs.turns import ReceivedFile
from storage.evidence import MAX_FILE_BYTES

log = logging.getLogger("eoi-bot.downloads")

TOO_BIG = "too_big"
UNREACHABLE = "unreachable"
MAX_REDIRECTS = 3
CHUNK = 64 * 1024
REDIRECTS = frozenset({301, 302, 303, 307, 308})


def session() -> aiohttp.ClientSession:
    """A session for downloads: the bytes as sent (no decompression, so the cap is on what would be stored and a
    small compressed body can't grow in memory), and no cookies kept between files or people."""
    return aiohttp.ClientSession(auto_decompress=False, cookie_jar=aiohttp.DummyCookieJar())


def host_of(url: str) -> str:
    """The host alone, for logs: a download URL's query may carry a credential (Teams' tempauth)."""
    try:
        return (urlsplit(url).hostname or "?")[:100]
    except ValueError:
        return "?"


def read_alike(url: str) -> bool:
    """urllib (which the trust checks use) and yarl (what aiohttp connects to) read the same scheme, host and port
    from `url`: a URL the two read differently (a backslash, an `@` in an odd place) is never fetched."""
    try:
        ours, theirs = urlsplit(url), URL(url)
        ours_port = ours.port
    except ValueError:
        return False
    return (ours.scheme.lower(), (ours.hostname or "").lower(), ours_port) == (
        theirs.scheme,
        (theirs.host or "").lower(),
        theirs.explicit_port,
    )


async def fetch(
    http: aiohttp.ClientSession,
    url: str,
    name: str,
    *,
    allowed: Callable[[str], bool],
    timeout: float,
    headers: Mapping[str, str] | None = None,
    size: int = 0,
    limit: int = MAX_FILE_BYTES,
) -> ReceivedFile:
    """The file at `url` as a ReceivedFile named `name`: its bytes, or "too_big" (over `limit`, stopped reading at
    `limit` + 1 bytes) or "unreachable" (not a trusted URL, a refusal, a timeout, or a body cut short). `size` is
    what the platform declared, if it did. Redirects are followed only to URLs `allowed` too."""
    try:
        async with asyncio.timeout(timeout):
            return await _follow(http, url, name, allowed, dict(headers or {}), size, limit)
    except (aiohttp.ClientError, OSError, TimeoutError, ValueError) as error:
        # ClientPayloadError among them: the connection dropped mid-body, or fewer bytes than Content-Length.
        log.info("fetching %s from %s failed: %s", name, host_of(url), type(error).__name__)
        return ReceivedFile(name, size=size, problem=UNREACHABLE)


async def _follow(
    http: aiohttp.ClientSession,
    url: str,
    name: str,
    allowed: Callable[[str], bool],
    headers: dict[str, str],
    size: int,
    limit: int,
) -> ReceivedFile:
    headers["Accept-Encoding"] = "identity"  # the bytes themselves: Content-Length is then their length
    for _ in range(MAX_REDIRECTS + 1):
        if not (read_alike(url) and allowed(url)):
            # Checked before every request, a redirect's too: the bot never sends a request (or a token) elsewhere.
            log.warning("not fetching %s: %s is not a host this channel trusts", name, host_of(url))
            return ReceivedFile(name, size=size, problem=UNREACHABLE)
        async with http.get(url, headers=headers, allow_redirects=False) as response:
            location = response.headers.get("Location", "")
            if response.status in REDIRECTS and location:
                url = urljoin(url, location)
                continue
            if response.status != 200:
                log.info("fetching %s from %s: HTTP %s", name, host_of(url), response.status)
                return ReceivedFile(name, size=size, problem=UNREACHABLE)
            return await _body(response, name, size, limit)
    log.info("fetching %s: more than %d redirects", name, MAX_REDIRECTS)
    return ReceivedFile(name, size=size, problem=UNREACHABLE)


async def _body(response: aiohttp.ClientResponse, name: str, size: int, limit: int) -> ReceivedFile:
    """Read at most `limit` + 1 bytes: one more than allowed is enough to know it is too big."""
    declared = response.content_length
    if declared is not None and declared > limit:
        return ReceivedFile(name, size=max(size, declared), problem=TOO_BIG)  # nothing read
    data = bytearray()
    while len(data) <= limit:
        chunk = await response.content.read(min(CHUNK, limit + 1 - len(data)))
        if not chunk:
            break
        data += chunk
    if len(data) > limit:
        return ReceivedFile(name, size=max(size, declared or 0, len(data)), problem=TOO_BIG)
    if declared is not None and len(data) != declared:
        return ReceivedFile(name, size=size, problem=UNREACHABLE)  # cut short, though the stream said it ended
    return ReceivedFile(name, data=bytes(data), size=size or len(data))
