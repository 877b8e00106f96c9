"""What a check finds, and what the checks share."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.config import Settings

log = logging.getLogger("eoi-bot.doctor")
OK, WARN, FAIL, OFF, SKIP = "ok", "warn", "FAIL", "off", "skip"


@dataclass(frozen=True)
class Finding:
    status: str  # OK, WARN, FAIL, OFF (not configured, and that is allowed) or SKIP (an earlier check failed)
    says: str
    todo: str = ""  # what to do about it


class Skip(Exception):
    """A check that can't run because one it depends on failed (said once, by that check)."""


@dataclass
class Context:
    """What the checks share: the environment, the settings when they could be read, and what earlier checks
    found out (the database handle, Slack's answer to auth.test)."""

    env: dict[str, str]
    settings: Settings | None = None
    settings_error: str = ""
    db: Any = None  # storage.db.Database, opened without upgrading
    db_current: bool = False  # reachable and at this version's migration level
    slack: Any = None  # slack_sdk AsyncWebClient once the token is accepted
    slack_scopes: frozenset[str] | None = None
    notes: dict[str, Any] = field(default_factory=dict)

    def now(self) -> datetime:
        if self.settings is not None and self.settings.fixed_now is not None:
            return self.settings.fixed_now
        return datetime.now(ZoneInfo("Europe/London"))
