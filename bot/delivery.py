"""Getting messages out: the contract every channel sender keeps, and the dispatcher that sends each
recorded delivery once, within the platforms' rate limits, with bounded retries.

Every outgoing proactive message (a notice to a school or to officers, an announcement, a reminder) is a
Delivery row first, keyed by what and where, so a crash or a second replica never sends it twice and a
failure stays visible to officers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import metrics
from dialogs.digest import DAILY, digest, next_digest
from dialogs.replies import Reply, say
from storage import audiences, notices, people
from storage.clock import Clock
from storage.db import Database, insert_new
from storage.models import Delivery, Notice, School
from storage.notices import to_officers

log = logging.getLogger(__name__)


class SendFailed(Exception):
    """A send that did not go. `retry_after` (seconds) comes from a 429; `permanent` means retrying is
    pointless (channel not found, bot removed, message too large)."""

    def __init__(self, reason: str, *, retry_after: float | None = None, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason, self.retry_after, self.permanent = reason, retry_after, permanent


class Sender(Protocol):
    """One chat platform's way of sending proactively. Destinations are strings that start with the
    platform name ("slack:C0123", "msteams:19:abc@thread.tacv2") so deliveries can be routed back."""

    platform: str
    # Seconds to leave between two messages to the same destination (Slack: about one per second per channel).
    min_interval: float

    async def channel_address(self, session: AsyncSession, channel_id: str) -> str | None:
        """The destination for a channel the school register names on this platform, or None if the bot can't
        post there. Who hears for a school is decided once, in storage.audiences."""
        ...

    async def person_address(self, session: AsyncSession, user_id: str) -> str | None:
        """The destination for a direct message to this person on this platform, or None if it can't be sent."""
        ...

    async def send(self, destination: str, reply: Reply, *, key: str = "") -> None:
        """Send once; raise SendFailed on failure. Do not retry inside: the dispatcher decides. `key` names
        the delivery; a sender that can attach it to the message can later answer `already_sent`."""
        ...


@dataclass
class DispatchStats:
    sent: int = 0
    failed: int = 0
    retries: int = 0
    waited: float = 0.0  # seconds spent honouring Retry-After and back-off

    def add(self, other: DispatchStats) -> None:
        self.sent += other.sent
        self.failed += other.failed
        self.retries += other.retries
        self.waited += other.waited


@dataclass
class Claimed:
    id: int
    key: str
    kind: str
    destination: str
    payload: dict[str, Any]
    attempts: int
    school_urn: str | None
    reclaimed: bool = False  # a claim left by a process that stopped mid-send
    sending_since: datetime | None = None  # when the first try began (real time): what a check looks back to


SPACING_MARGIN = 0.005  # seconds added to a sender's min_interval, for jitter on the way


class Dispatcher:
    """Sends recorded deliveries: one task per destination (so one Slack channel gets about one message a
    second), many destinations at once, Retry-After honoured, bounded retries with back-off."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        senders: list[Sender],
        *,
        max_attempts: int = 5,
        max_waits_asked: int = 100,
        backoff: float = 1.0,
        max_wait: float = 60.0,
        stale_after: timedelta = timedelta(seconds=60),
        concurrency: int = 32,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        officers: tuple[tuple[str, str], ...] = (),
        lease_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.db, self.clock, self.senders = db, clock, senders
        # A claim is a lease on a send: it says a process is alive and sending, which is about real seconds, not
        # the service's idea of the date (EOI_NOW stands still in demos and the simulation, so a claim left by a
        # killed process would never grow stale for the processes still running).
        self.lease_clock = lease_clock
        self.officers = officers  # EOI_OFFICERS: they hear from us before they first talk to the bot
        self.max_attempts, self.backoff, self.max_wait = max_attempts, backoff, max_wait
        # A 429 (or a 503 with Retry-After) is the platform saying "later", not that the message can't go: those
        # answers don't use up max_attempts, or a storm of them (Slack's per-channel limit under a burst, Teams'
        # per-app limit) would turn messages into failures. They are bounded on their own.
        self.max_waits_asked = max_waits_asked
        self.stale_after, self.concurrency, self.sleep = stale_after, concurrency, sleep
        self._wake: asyncio.Event | None = None

    def sender_for(self, destination: str) -> Sender | None:
        return self._sender(destination.split(":", 1)[0])

    def kick(self) -> None:
        """Wake the background loop now (a turn just queued a notice)."""
        if self._wake is not None:
            self._wake.set()

    async def school_destinations(self, session: AsyncSession, school: School) -> list[str]:
        return await audiences.destinations(session, await audiences.for_school(session, school), self.address)

    async def officer_destinations(self, session: AsyncSession) -> list[str]:
        return await audiences.destinations(session, await audiences.for_officers(session, self.officers), self.address)

    async def address(self, session: AsyncSession, how: str, platform: str, member: str) -> str | None:
        """A channel or person of an audience as a destination, through the sender for their platform; None when
        no enabled channel can reach them (storage.audiences decides who is asked, and what then)."""
        sender = self._sender(platform)
        if sender is None:
            return None
        if how == "channel":
            return await sender.channel_address(session, member)
        return await sender.person_address(session, member)

    def _sender(self, platform: str) -> Sender | None:
        return next((s for s in self.senders if s.platform == platform), None)

    async def plan_notices(self) -> int:
        """Record a delivery for every destination of every notice not yet planned."""
        now = self.clock.now()
        planned = 0
        async with self.db.session() as session:
            found = list(
                await session.scalars(
                    select(Notice)
                    .where(Notice.planned_at.is_(None))
                    .order_by(Notice.id)
                    .limit(500)
                    .with_for_update(skip_locked=True)
                )
            )
            officer_destinations: list[str] | None = None
            daily: set[str] = set()
            for notice in found:
                destinations: list[str] = []
                if await notices.is_superseded(session, notice):
                    notice.planned_at = now  # a newer notice about the same EOI says what this one would
                    planned += 1
                    continue
                await notices.supersede_unsent(session, notice)
                if notice.audience == "school" and notice.school_urn:
                    school = await session.get(School, notice.school_urn)
                    destinations = await self.school_destinations(session, school) if school else []
                elif notice.audience == "person":
                    person = audiences.for_person(notice.recipient)
                    destinations = await audiences.destinations(session, person, self.address)
                elif notice.audience == notices.ADDRESS:
                    where = audiences.for_address(notice.recipient)
                    destinations = await audiences.destinations(session, where, self.address)
                else:
                    if officer_destinations is None:
                        officer_destinations = await self.officer_destinations(session)
                        daily = await self._daily_destinations(session)
                    destinations = officer_destinations
                # An officer who chose `notify me daily` gets officers' notices held for their digest.
                held = daily if notice.audience == "officers" else set()
                await insert_new(
                    session,
                    Delivery,
                    [
                        {
                            "key": f"notice:{notice.id}:{d}",
                            "kind": notice.kind[:30],
                            "window_id": notice.window_id,
                            "notice_id": notice.id,
                            "school_urn": notice.school_urn,
                            "destination": d,
                            "payload": notice.body,
                            "status": notices.DIGEST if d in held else "pending",
                            "next_attempt_at": next_digest(now) if d in held else None,
                            "attempts": 0,
                            "created_at": now,
                        }
                        for d in dict.fromkeys(destinations)
                    ],
                )
                notice.planned_at = now
                planned += 1
            await session.commit()
        return planned

    async def _daily_destinations(self, session: AsyncSession) -> set[str]:
        """Where the officers who chose a daily digest are reached."""
        found = set()
        for person in await people.officers(session):
            if person.notify == DAILY and (
                where := await self.address(session, "person", person.platform, person.user_id)
            ):
                found.add(where)
        return found

    async def gather_digests(self) -> int:
        """Turn each destination's held notices that are due into one digest delivery (sent like any other);
        the held ones are marked sent in it. Returns how many digests."""
        now = self.clock.now()
        made = 0
        async with self.db.session() as session:
            held = list(
                await session.scalars(
                    select(Delivery)
                    .where(Delivery.status == notices.DIGEST, Delivery.next_attempt_at <= now)
                    .order_by(Delivery.destination, Delivery.id)
                    .with_for_update(skip_locked=True)
                )
            )
            by_destination: dict[str, list[Delivery]] = {}
            for row in held:
                by_destination.setdefault(row.destination, []).append(row)
            for destination, rows in by_destination.items():
                session.add(
                    Delivery(
                        key=f"digest:{rows[-1].id}:{destination}",
                        kind="digest",
                        destination=destination,
                        payload=digest([r.payload for r in rows]).to_dict(),
                        status="pending",
                        attempts=0,
                        created_at=now,
                    )
                )
                for row in rows:
                    row.status, row.sent_at = notices.IN_DIGEST, now
                made += 1
            await session.commit()
        return made

    def _due(self, now: datetime) -> ColumnElement[bool]:
        lease_now = self.lease_clock()
        return or_(
            and_(
                Delivery.status == "pending", or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now)
            ),
            # Claimed by a process that died mid-send: take it over (after checking whether it went).
            and_(Delivery.status == "sending", Delivery.claimed_at <= lease_now - self.stale_after),
        )

    async def _due_destinations(self) -> list[str]:
        async with self.db.session() as session:
            rows = await session.scalars(
                select(Delivery.destination)
                .where(self._due(self.clock.now()))
                .distinct()
                .order_by(Delivery.destination)
            )
            return list(rows)

    async def _claim_next(self, destination: str) -> Claimed | None:
        """Claim one delivery right before sending it, so a claim is only ever as old as one send: a
        second replica skips it (SKIP LOCKED), and one left by a crash is soon seen as stale."""
        now = self.clock.now()
        async with self.db.session() as session:
            row = await session.scalar(
                select(Delivery)
                .where(Delivery.destination == destination, self._due(now))
                .order_by(Delivery.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
            if row is None:
                return None
            reclaimed = row.status == "sending"
            row.status, row.claimed_at = "sending", self.lease_clock()
            row.sending_since = row.sending_since or row.claimed_at
            claimed = Claimed(
                row.id,
                row.key,
                row.kind,
                row.destination,
                row.payload,
                row.attempts,
                row.school_urn,
                reclaimed,
                row.sending_since,
            )
            await session.commit()
            return claimed

    async def run_due(self) -> DispatchStats:
        """Send everything due now; returns what happened. Safe to run in several processes at once."""
        total = DispatchStats()
        await self.gather_digests()
        while destinations := await self._due_destinations():
            gate = asyncio.Semaphore(self.concurrency)
            results = await asyncio.gather(*(self._drain(d, gate) for d in destinations))
            progress = 0
            for stats in results:
                total.add(stats)
                progress += stats.sent + stats.failed
            if not progress:  # everything left is claimed by another replica
                break
        return total

    async def _drain(self, destination: str, gate: asyncio.Semaphore) -> DispatchStats:
        stats = DispatchStats()
        sender = self.sender_for(destination)
        clock = asyncio.get_running_loop().time
        async with gate:
            last_answer: float | None = None
            while item := await self._claim_next(destination):
                if item.reclaimed and sender:
                    went = await self._went_already(sender, item)
                    if went is None:  # the platform could not say: finished as failed, officers told
                        stats.failed += 1
                        continue
                    if went:
                        await self._finish(item, "sent", item.attempts, "found already delivered after a restart")
                        stats.sent += 1
                        continue
                if last_answer is not None and sender:
                    # Space sends from the platform's answer to the previous one (our own bookkeeping in between
                    # overlaps the wait), so a channel gets one a second, not one a second plus our overhead.
                    wait = sender.min_interval + SPACING_MARGIN - (clock() - last_answer)
                    if wait > 0:
                        await self.sleep(wait)
                last_answer = await self._send_one(sender, item, stats)
        return stats

    def _wait_before_retry(self, failure: SendFailed, tries: int, asked_to_wait: int) -> float | None:
        """Seconds to wait before trying again after `failure`, the `tries`th (`asked_to_wait` of them answers
        saying "later"), or None to give up: a permanent failure, or either bound reached."""
        if failure.permanent or tries - asked_to_wait >= self.max_attempts or asked_to_wait >= self.max_waits_asked:
            return None
        wait = failure.retry_after if failure.retry_after is not None else self.backoff * 2 ** (tries - 1)
        return min(wait, self.max_wait)

    async def _went_already(self, sender: Sender, item: Claimed) -> bool | None:
        """After a crash mid-send, whether the message went, asked of the platform (a sender that can tell has
        `already_sent(destination, key, since=) -> bool | None`, None when it has no way to look). A check that
        fails is "don't know yet": asked again after the platform's Retry-After or a back-off, bounded as sends
        are, and never taken for "not sent" (which would send it twice). When it still can't be answered the
        delivery is finished as failed, not sent again, and the officers are told to look: None."""
        check = getattr(sender, "already_sent", None)
        if check is None:
            return False
        tries = asked_to_wait = 0
        while True:
            try:
                return await check(item.destination, item.key, since=item.sending_since) is True
            except SendFailed as refused:
                failure = refused
            except Exception as error:  # a bug or a network error in a sender: still "don't know"
                log.warning("could not check whether %s was already sent", item.key, exc_info=True)
                failure = SendFailed(f"{type(error).__name__}: {error}")
            tries += 1
            if failure.retry_after is not None and not failure.permanent:
                asked_to_wait += 1
            wait = self._wait_before_retry(failure, tries, asked_to_wait)
            if wait is None:
                await self._finish(item, "failed", item.attempts, failure.reason, unsure=True)
                return None
            await self._note_attempt(item, item.attempts, f"checking whether it went: {failure.reason}", wait)
            await self.sleep(wait)

    async def _send_one(self, sender: Sender | None, item: Claimed, stats: DispatchStats) -> float:
        """Send with retries; returns when (loop time) the platform answered the last attempt: the next send
        to this destination is spaced from then, so the platform sees them at least min_interval apart."""
        clock = asyncio.get_running_loop().time
        answered = clock()
        attempts = item.attempts
        asked_to_wait = 0
        while True:
            attempts += 1
            try:
                if sender is None:
                    raise SendFailed(f"no {item.destination.split(':', 1)[0]} sender is enabled", permanent=True)
                try:
                    await sender.send(item.destination, Reply.from_dict(item.payload), key=item.key)
                finally:
                    answered = clock()
            except SendFailed as refused:
                failure = refused
            except Exception as error:  # a bug or a network error in a sender must not stop the fan-out
                log.exception("sending %s failed", item.key)
                failure = SendFailed(f"{type(error).__name__}: {error}")
            else:
                await self._finish(item, "sent", attempts, "")
                stats.sent += 1
                return answered
            if failure.retry_after is not None and not failure.permanent:
                asked_to_wait += 1
            wait = self._wait_before_retry(failure, attempts, asked_to_wait)
            if wait is None:
                await self._finish(item, "failed", attempts, failure.reason)
                stats.failed += 1
                return answered
            stats.retries += 1
            stats.waited += wait
            await self._note_attempt(item, attempts, failure.reason, wait)
            await self.sleep(wait)

    async def _note_attempt(self, item: Claimed, attempts: int, reason: str, wait: float) -> None:
        # The claim stays fresh for as long as we wait, so nobody takes it over meanwhile.
        async with self.db.session() as session:
            await session.execute(
                update(Delivery)
                .where(Delivery.id == item.id)
                .values(
                    attempts=attempts,
                    last_error=reason[:2000],
                    claimed_at=self.lease_clock() + timedelta(seconds=wait),
                )
            )
            await session.commit()

    async def _finish(self, item: Claimed, status: str, attempts: int, reason: str, *, unsure: bool = False) -> None:
        metrics.DELIVERIES_FINISHED.labels(item.destination.split(":", 1)[0], status).inc()
        now = self.clock.now()
        detail = reason  # the platform's words, for the officers
        if unsure:
            reason = f"not sent again: after a restart mid-send, could not check whether it went ({detail})"
        async with self.db.session() as session:
            await session.execute(
                update(Delivery)
                .where(Delivery.id == item.id)
                .values(
                    status=status,
                    attempts=attempts,
                    last_error=reason[:2000],
                    sent_at=now if status == "sent" else None,
                )
            )
            if status == "failed" and item.kind != "delivery failed":
                # Officers see failures where they work; a failed failure-report is not reported again.
                school = f" for school {item.school_urn}" if item.school_urn else ""
                if unsure:
                    words = (
                        f"A message{school} to {item.destination} may not have arrived: the service stopped while "
                        f"sending it, and the platform could not say whether it went ({detail}). "
                        "It was not sent again, so that nobody gets it twice: look in that conversation, and send it "
                        "by hand if it is not there."
                    )
                else:
                    words = (
                        f"A message{school} to {item.destination} could not be delivered after {attempts} "
                        f"attempt{'s' if attempts != 1 else ''}: {reason}"
                    )
                await to_officers(
                    session,
                    kind="delivery failed",
                    now=now,
                    school_urn=item.school_urn,
                    body=say(words, kind="notice").to_dict(),
                )
            await session.commit()

    async def run_forever(
        self, *, interval: float = 2.0, before_each: Callable[[], Awaitable[Any]] | None = None
    ) -> None:
        """The background loop inside `eoi-bot serve`."""
        self._wake = asyncio.Event()
        while True:
            try:
                if before_each is not None:
                    await before_each()
                await self.plan_notices()
                await self.run_due()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("delivery loop")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=interval)
            self._wake.clear()
