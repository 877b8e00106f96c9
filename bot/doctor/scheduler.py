"""The window scheduler: its next step, or how late the oldest due one is."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.doctor.database import needs_current_database
from bot.doctor.findings import OK, WARN, Context, Finding

# A due step older than this means no scheduler is running (serve runs it every few seconds).
SCHEDULER_LATE = timedelta(minutes=5)


async def check_scheduler(ctx: Context) -> Finding:
    from sqlalchemy import select

    from dialogs.dates import format_datetime
    from dialogs.schedule import steps_to_come
    from storage.models import Window
    from storage.windows import window_name

    needs_current_database(ctx)
    now = ctx.now()
    async with ctx.db.session() as session:
        windows = list(await session.scalars(select(Window).where(Window.cancelled_at.is_(None))))
    steps = sorted((step for window in windows for step in steps_to_come(window, now)), key=lambda s: s.due)
    if not steps:
        return Finding(
            WARN,
            "nothing scheduled: no window is planned or open"
            if not windows
            else "nothing scheduled: every window has closed and been summarised",
            "an officer plans the next ones with `window plan 2027/28` (then `Add both`)",
        )

    def said(step: Any) -> str:
        what = {
            "announce": "announcement of",
            "remind": f"{step.days}-day reminder for",
            "session reminder": "information session reminder for",
            "summary": "close summary of",
        }[step.what]
        return f"{what} {window_name(step.window)}, {format_datetime(step.due)}"

    first = steps[0]
    if first.due <= now - SCHEDULER_LATE:
        return Finding(
            WARN,
            f"overdue by {_duration(now - first.due)}: {said(first)}",
            "the scheduler runs inside `eoi-bot serve` (or cron's `eoi-bot announce`): is it running?",
        )
    if first.due <= now:
        return Finding(OK, f"due now: {said(first)}")
    return Finding(OK, f"next: {said(first)}")


def _duration(late: timedelta) -> str:
    minutes = int(late.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} minutes"
    if minutes < 48 * 60:
        return f"{minutes // 60} hours"
    return f"{minutes // (24 * 60)} days"
