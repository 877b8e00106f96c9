"""Wiring: settings -> database -> clock -> conversations, shared by every command and adapter."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.exc import DBAPIError

from bot.config import Settings, mask_url
from bot.delivery import Dispatcher, Sender
from bot.turn_runner import TurnRunner
from dialogs.conversation import Conversations
from storage import people
from storage.clock import Clock
from storage.db import Database

log = logging.getLogger("eoi-bot")


class DatabaseUnavailable(ValueError):
    """The database could not be reached at start-up (the CLI says so and exits 2)."""


@dataclass
class Service:
    settings: Settings
    db: Database
    clock: Clock
    conversations: Conversations
    dispatcher: Dispatcher
    runner: TurnRunner  # every channel's turns go through it (bot/turn_runner.py)

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
    except (OSError, TimeoutError, DBAPIError) as error:
        await db.dispose()
        # Said plainly, with the password masked: the driver's traceback helps nobody running the service.
        raise DatabaseUnavailable(
            f"the database at {mask_url(settings.database_url)} could not be opened ({type(error).__name__}). "
            "Check DATABASE_URL, and that the database is running and reachable."
        ) from None
    except BaseException:
        await db.dispose()  # a refused database (storage.db.SchemaMismatch) leaves no connection behind
        raise
    return wire(settings, db, clock or Clock(settings.fixed_now))


def wire(settings: Settings, db: Database, clock: Clock) -> Service:
    """The service's parts on a database already at this version's migration level (`eoi-bot doctor` wires one
    without upgrading anything, to ask the same questions the running service would)."""
    dispatcher = Dispatcher(
        db, clock, [], stale_after=timedelta(seconds=settings.delivery_stale_seconds), officers=settings.officers
    )
    # `window preview` asks the enabled channels where each school can be reached.
    conversations = Conversations(
        db,
        clock,
        officers=settings.officers,
        reach=dispatcher.school_destinations,
        working_hours=settings.working_hours,
        wake=dispatcher.kick,
        email=settings.email_enabled,
    )
    runner = TurnRunner(conversations)
    return Service(
        settings=settings, db=db, clock=clock, conversations=conversations, dispatcher=dispatcher, runner=runner
    )


async def enforce_officers(service: Service) -> list[str]:
    """When the service starts (`eoi-bot serve`): EOI_OFFICERS plus recorded `officer add` grants are the
    officers; anyone else loses the role now, audited. Only the service does this, with its own configuration:
    a one-off command (an export, `retention`, cron's `announce`) started with another environment must not
    change who the officers are."""
    async with service.db.session() as session:
        lines = await people.enforce_officers(session, bootstrap=service.settings.officers, now=service.clock.now())
        await session.commit()
    for line in lines:
        log.warning(line)
    return lines
