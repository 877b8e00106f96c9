"""`eoi-bot announce`: one run of the scheduler from cron (dialogs/schedule.py says what is due when; `eoi-bot
serve` runs it every few seconds, bot.app.housekeeping), then delivery of what it planned."""

from __future__ import annotations

from bot.service import Service
from dialogs.schedule import plan_due


async def run_once(service: Service, dry_run: bool = False) -> int:
    """Plan what is due, then deliver it; a dry run says what it would plan and changes nothing."""
    async with service.db.session() as session:
        planned = await plan_due(
            session, service.clock.now(), dry_run=dry_run, reach=service.dispatcher.school_destinations
        )
    for line in planned.lines or ["Nothing is due."]:
        print(("(dry run) " if dry_run else "") + line)
    if dry_run:
        return 0
    while await service.dispatcher.plan_notices():  # 500 notices a call: a whole register is several calls
        pass
    stats = await service.dispatcher.run_due()
    print(f"Delivered {stats.sent}, failed {stats.failed}, retried {stats.retries}.")
    return 0
