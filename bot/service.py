"""Wiring: settings -> database -> clock -> conversations, shared by every command and adapter."""

from __future__ import annotations

from dataclasses import dataclass

from bot.config import Settings
from dialogs.conversation import Conversations
from storage.clock import Clock
from storage.db import Database


@dataclass
class Service:
    settings: Settings
    db: Database
    clock: Clock
    conversations: Conversations

    async def close(self) -> None:
        await self.db.dispose()


async def open_service(settings: Settings, *, clock: Clock | None = None, db: Database | None = None) -> Service:
    db = db or Database(settings.database_url)
    await db.upgrade()
    clock = clock or Clock(settings.fixed_now)
    return Service(
        settings=settings, db=db, clock=clock, conversations=Conversations(db, clock, officers=settings.officers)
    )
