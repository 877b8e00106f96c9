"""Officers: EOI_OFFICERS read, on platforms that are on, each a real Slack member; or added with `officer add`."""

from __future__ import annotations

from bot.config import parse_officers
from bot.doctor.findings import FAIL, OK, Context, Finding, Skip
from bot.doctor.slack import slack_member

PLATFORMS = ("slack", "msteams", "console")


async def check_officers(ctx: Context) -> Finding:
    from sqlalchemy import func, select

    from storage.models import Person
    from storage.people import OFFICER

    try:
        named = parse_officers(ctx.env.get("EOI_OFFICERS", ""))
    except ValueError as error:
        return Finding(FAIL, str(error), "fix EOI_OFFICERS")
    unknown = [f"{p}:{u}" for p, u in named if p not in PLATFORMS]
    if unknown:
        return Finding(
            FAIL, f"EOI_OFFICERS names {', '.join(unknown)}: platforms are {', '.join(PLATFORMS)}", "fix EOI_OFFICERS"
        )
    problems: list[str] = []
    slack_on = bool(ctx.settings.slack_enabled) if ctx.settings is not None else False
    teams_on = bool(ctx.settings.teams_enabled if ctx.settings else ctx.env.get("MICROSOFT_APP_ID"))
    for platform, user_id in named:
        if (platform == "slack" and not slack_on) or (platform == "msteams" and not teams_on):
            problems.append(f"{platform}:{user_id} can't be reached: {platform} is off")
        elif platform == "slack" and ctx.slack is not None:
            problem = await slack_member(ctx, user_id)
            if problem:
                problems.append(problem)
    granted = 0
    if ctx.db_current:
        async with ctx.db.session() as session:
            granted = (
                await session.scalar(
                    select(func.count())
                    .select_from(Person)
                    .where(Person.role == OFFICER, Person.officer_granted_at.is_not(None))
                )
                or 0
            )
    added = f"; {granted} added with `officer add`" if granted else ""
    if problems:
        return Finding(FAIL, "; ".join(problems), "fix EOI_OFFICERS (Slack: profile → ⋮ → Copy member ID)")
    if not named and not ctx.db_current:
        raise Skip("none in EOI_OFFICERS, and those added with `officer add` are in the database")
    if not named and not granted:
        return Finding(
            FAIL,
            "no officers: nobody can list, shortlist or decide EOIs",
            "set EOI_OFFICERS=slack:U0123ABCD (or msteams:29:…) to the SEND officers' ids, and restart",
        )
    if not named:
        return Finding(OK, f"none in EOI_OFFICERS{added}")
    return Finding(OK, f"{len(named)} in EOI_OFFICERS{added}")
