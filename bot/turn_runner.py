"""One turn, handled the same way on every channel (Slack, Teams, the console, and any added later).

A channel turns a platform request into an `Inbound` (who, what they said or pressed, the platform's delivery
id, and where to answer, which only the channel understands), and gives it to the runner. The runner does what
is the same everywhere, once:

    identify the speaker (the channel asks its platform) -> keep one person's turns in order ->
    handle the delivery once and run the dialog, committed in one transaction (Conversations.handle_once, which
    wakes the dispatcher when the turn queued messages for others) -> the channel delivers the replies;
    any failure: logged once, and the same apology on every channel.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from bot import metrics
from dialogs.actions import Action
from dialogs.conversation import Conversations
from dialogs.replies import Reply, refuse
from dialogs.rich import md
from dialogs.turns import ReceivedFile, Speaker, Turn
from storage.db import failure_report

log = logging.getLogger("eoi-bot.turns")

APOLOGY = "Sorry, something went wrong on our side. Please try again."


@dataclass(frozen=True)
class TurnLimit:
    """How many turns one person may start in a sliding window of real seconds. Far above anyone typing or
    pressing buttons (a whole EOI is about 30 turns), far below what a script can send: past it, turns are
    turned away before anything is read or written, so one person can't take the service from everyone else."""

    most: int = 120
    per: float = 60.0


TURN_LIMIT = TurnLimit()


def too_fast(limit: TurnLimit, wait: float) -> Reply:
    return refuse(
        md(
            "You're sending messages faster than I can answer (at most {} a minute), so I've stopped answering for a "
            "moment. Try again in {} seconds.",
            limit.most,
            max(1, round(wait)),
        )
    )


class _Pace:
    """When each person's recent turns started (per process), forgetting people who have gone quiet, so the map
    stays as small as the number of people active in the last minute."""

    def __init__(self, limit: TurnLimit, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit, self.clock = limit, clock
        self._started: dict[str, deque[float]] = {}
        self._told: dict[str, float] = {}  # who was told they're too fast, and when: told once per window
        self._calls = 0

    def check(self, key: str) -> tuple[bool, float, bool]:
        """(allowed, seconds until the next turn would be, whether to tell them now)."""
        now = self.clock()
        self._calls += 1
        if self._calls % 1000 == 0:
            self._forget(now)
        started = self._started.setdefault(key, deque())
        while started and started[0] <= now - self.limit.per:
            started.popleft()
        if len(started) < self.limit.most:
            started.append(now)
            return True, 0.0, False
        wait = started[0] + self.limit.per - now
        told = self._told.get(key)
        tell = told is None or told <= now - self.limit.per
        if tell:
            self._told[key] = now
        return False, wait, tell

    def _forget(self, now: float) -> None:
        quiet = now - self.limit.per
        for key in [k for k, started in self._started.items() if not started or started[-1] <= quiet]:
            del self._started[key]
        for key in [k for k, at in self._told.items() if at <= quiet]:
            del self._told[key]


Where = TypeVar("Where")
Where_contra = TypeVar("Where_contra", contravariant=True)


@dataclass(frozen=True)
class Inbound(Generic[Where]):
    """A platform request as a neutral turn, plus where to answer (the channel's own business)."""

    user_id: str
    where: Where
    text: str = ""
    action: Action | None = None  # a button pressed, as the channel decoded it (dialogs.actions.decode)
    command: bool = False  # invoked explicitly (`/eoi …`, in a Teams channel): never read as an answer
    key: str = ""  # the platform's id for this delivery ("slack:Ev…"): a redelivery is handled once
    files: tuple[ReceivedFile, ...] = ()  # fetched by the channel before the turn, within the limits
    # The channel's own record of this delivery (Teams: where to reach the speaker later), written in the turn's
    # transaction: kept with the turn, or not at all.
    keep: Callable[[AsyncSession, datetime], Awaitable[None]] | None = None


class Channel(Protocol[Where_contra]):
    """What a channel does for the runner; everything else about the platform stays inside the channel."""

    platform: str

    async def identify(self, inbound: Inbound[Where_contra]) -> Speaker:
        """Who is speaking, with the email the platform gives for them (it matches staff to schools)."""
        ...

    async def deliver(self, where: Where_contra, replies: list[Reply]) -> None:
        """Render the replies for the platform and send them where the turn came from."""
        ...


class _PersonLocks:
    """One lock per person, forgotten when nobody holds or waits for it (so the map never grows unbounded)."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


class TurnRunner:
    def __init__(self, conversations: Conversations, *, limit: TurnLimit = TURN_LIMIT) -> None:
        self.conversations = conversations
        self._locks = _PersonLocks()
        self.pace = _Pace(limit)

    async def run(
        self, channel: Channel[Where], inbound: Inbound[Where], *, deliver: bool = True
    ) -> list[Reply] | None:
        """Handle one inbound turn. Returns its replies (delivered unless `deliver` is False, for a channel
        that must answer inside its own acknowledgement), or None for a delivery already handled."""
        started = time.perf_counter()
        outcome = "failed"
        # The console's person holds the database already (a piped script may be long): only outside channels.
        paced = getattr(channel, "paced", True)
        allowed, wait, tell = self.pace.check(f"{channel.platform}:{inbound.user_id}") if paced else (True, 0, False)
        if not allowed:
            # Turned away before the lock, the platform or the database: told once, then not answered at all, so
            # a flood is not answered with a flood.
            replies = [too_fast(self.pace.limit, wait)] if tell else []
            if replies and deliver:
                with contextlib.suppress(Exception):
                    await channel.deliver(inbound.where, replies)
            self._observe(channel.platform, inbound, "too fast", time.perf_counter() - started)
            return replies
        try:
            # One person's turns keep their order (two quick messages, a double click): the second waits, from
            # before the platform is asked who they are (that takes a moment, and could let it overtake).
            async with self._locks.hold(f"{channel.platform}:{inbound.user_id}"):
                speaker = await channel.identify(inbound)
                turn = Turn(
                    speaker, text=inbound.text, action=inbound.action, command=inbound.command, files=inbound.files
                )
                replies = await self.conversations.handle_once(turn, inbound.key, keep=inbound.keep)
                if replies is None:
                    outcome = "repeated"  # a redelivery, handled once already: logged below as such
                    return None
                if deliver:
                    await channel.deliver(inbound.where, replies)
                outcome = "answered"
                return replies
        except Exception as error:
            log.error("%s turn for %s failed: %s", channel.platform, inbound.user_id, failure_report(error))
            apology = [refuse(APOLOGY)]
            if deliver:
                with contextlib.suppress(Exception):
                    await channel.deliver(inbound.where, apology)
            return apology
        finally:
            self._observe(channel.platform, inbound, outcome, time.perf_counter() - started)

    @staticmethod
    def _observe(platform: str, inbound: Inbound[Any], outcome: str, seconds: float) -> None:
        """One log event and the metrics per turn: ids, outcome and time only, never what was said."""
        metrics.TURNS.labels(platform, outcome).inc()
        metrics.TURN_SECONDS.labels(platform).observe(seconds)
        log.info(
            "%s turn for %s: %s in %.0f ms",
            platform,
            inbound.user_id,
            outcome,
            seconds * 1000,
            extra={
                "event": "turn",
                "channel": platform,
                "user": f"{platform}:{inbound.user_id}",
                "outcome": outcome,
                "ms": round(seconds * 1000, 1),
            },
        )
