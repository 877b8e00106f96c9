"""Wiring: settings -> database -> clock -> conversations, shared by every command and adapter."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from bot.config import Settings
from bot.delivery import Dispatcher, Sender
from dialogs.conversation import Conversations
from storage import people
from storage.clock import Clock
from storage.db import Database

log = logging.getLogger("eoi-bot")


@dataclass
class Service:
    settings: Settings
    db: Database
    clock: Clock
    conversations: Conversations
    dispatcher: Dispatcher

    @property
    def senders(self) -> list[Sender]:
        """Channel senders register here when their adapter is attached (bot.delivery.Sender)."""
        return self.dispatcher.senders

    async def close(self) -> None:
        await self.db.dispose()


async def open_service(settings: Settings, *, clock: Clock | None = None, db: Database | None = None) -> Service:
    db = db or Database(settings.database_url)
    try:
        await db.upgrade()
    except BaseException:
        await db.dispose()  # a refused database (storage.db.SchemaMismatch) leaves no connection behind
        raise
    clock = clock or Clock(settings.fixed_now)
    async with db.session() as session:
        # EOI_OFFICERS plus recorded `officer add` grants are the officers; anyone else loses the role now.
        for line in await people.enforce_officers(session, bootstrap=settings.officers, now=clock.now()):
            log.warning(line)
        await session.commit()
    dispatcher = Dispatcher(db, clock, [], stale_after=timedelta(seconds=settings.delivery_stale_seconds))
    # `window preview` asks the enabled channels where each school can be reached.
    conversations = Conversations(db, clock, officers=settings.officers, reach=dispatcher.school_destinations)
    return Service(settings=settings, db=db, clock=clock, conversations=conversations, dispatcher=dispatcher)
