"""An officer's daily digest (`notify me daily`): the officers' notices held since their last digest, sent as one
message at DIGEST_AT (London time) instead of each as it happens (bot.delivery holds and gathers them)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from dialogs.actions import Command
from dialogs.commands import OFFICER
from dialogs.officer_turn import CommandTurn
from dialogs.registry import handles
from dialogs.replies import Choice, Reply
from dialogs.rich import Text, bullets, md
from storage import people
from storage.windows import LONDON

DIGEST_AT = time(8, 0)  # before the working day, so the day's news is read once
# A digest is one message: its list is cut to stay well inside every platform's size for one text block.
MOST_CHARACTERS = 2500
EACH, DAILY = "each", "daily"
CHOICES = {"daily": DAILY, "each": EACH, "each message": EACH, "now": EACH, "every message": EACH}


def next_digest(now: datetime) -> datetime:
    """The next DIGEST_AT on London's wall clock after `now`."""
    local = now.astimezone(LONDON)
    due = datetime.combine(local.date(), DIGEST_AT, tzinfo=LONDON)
    if due <= local:
        due = datetime.combine(local.date() + timedelta(days=1), DIGEST_AT, tzinfo=LONDON)
    return due


def digest(payloads: list[dict[str, Any]]) -> Reply:
    """The held notices as one message: each one's first line, oldest first."""
    items: list[Text] = [Reply.from_dict(p).text.first_line() for p in payloads]
    listed, left_out = bullets(items).clip_lines(MOST_CHARACTERS)
    text = (
        md(
            "{} for ECC officers since your last digest (you chose *notify me daily*; *notify me each* to have "
            "each as it happens):",
            f"{len(payloads)} message{'s' if len(payloads) != 1 else ''}",
        )
        + listed
    )
    if left_out:
        text += md("\n…and {} more: *list* shows where every EOI is.", left_out)
    return Reply(
        text=text,
        kind="notice",
        title=f"Daily digest: {len(payloads)} message{'s' if len(payloads) != 1 else ''}",
        choices=[Choice("List EOIs", Command("list"))],
    )


@handles("notify", OFFICER)
async def notify_command(t: CommandTurn) -> list[Reply]:
    """`notify me daily` or `notify me each`: how this officer hears the officers' notices."""
    rest = t.rest
    words = " ".join(rest.casefold().split())
    words = words.removeprefix("me ").strip()
    how = CHOICES.get(words)
    at = DIGEST_AT.strftime("%-I:%M%p").lower().replace(":00", "")
    if how is None:
        now_how = "one digest a day" if t.person.notify == DAILY else "each message as it happens"
        return [
            Reply(
                text=md(
                    "You get officers' messages as {}. Type *notify me daily* for one digest at {} (UK time), or "
                    "*notify me each* for each as it happens.",
                    now_how,
                    at,
                ),
                kind="error" if words else "message",
            )
        ]
    changed = people.set_notify(t.session, t.person, how, now=t.now)
    if how == DAILY:
        when = md("one digest a day at {} (UK time); the next is {}.", at, next_digest(t.now).strftime("%A %-d %B"))
    else:
        when = md("each message as it happens.")
    return [Reply(text=(md("Done: you'll get officers' messages as ") if changed else md("Already so: ")) + when)]
