"""Log lines for people (EOI_LOG_FORMAT=text) or for a log collector (EOI_LOG_FORMAT=json: one JSON object per
event, per line).

The standard library's Formatter does this in a few lines, so no logging library is added: structlog or
python-json-logger would bring their own configuration style for what is here one method. What a line holds is
what the code logs: people only by platform id (`slack:U0123`), never names, emails or answers (failed turns log
exception types and SQL without values: storage.db.failure_report).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any, TextIO

# Attributes every LogRecord has; anything else on a record came from `extra={...}` and goes into the event.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime", "taskName"}
HANDLER = "eoi-bot"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonLines(logging.Formatter):
    """One event as one line of JSON: time (UTC, ISO 8601), level, logger, message, the `extra` fields, and a
    traceback as one string (newlines escaped, so a multi-line traceback is still one line)."""

    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in event:
                event[key] = value
        if record.exc_info:
            event["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            event["exception"] = record.exc_text
        if record.stack_info:
            event["stack"] = self.formatStack(record.stack_info)
        return json.dumps(event, ensure_ascii=False, default=str)


def configure(log_format: str, *, level: int = logging.INFO, stream: TextIO | None = None) -> None:
    """Send the process's log (ours, aiohttp's, Bolt's, botbuilder's) to stderr (or `stream`) in the chosen
    format."""
    handler = logging.StreamHandler(stream)
    handler.set_name(HANDLER)
    handler.setFormatter(JsonLines() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == HANDLER]:  # configured twice: replace ours only
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # Alembic says at INFO how it checks the schema at every start (a dozen lines); a migration it runs is
    # still logged by `eoi-bot migrate`'s own output, and its warnings and errors still come through.
    logging.getLogger("alembic").setLevel(max(level, logging.WARNING))
