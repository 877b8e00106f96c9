"""The one command grammar shared by Slack's `/eoi`, Teams messages and the console (DESIGN.md)."""

from __future__ import annotations

import re
from dataclasses import dataclass

# "answer QID TEXT" is what a long answer written in a form (a Slack modal, a Teams card) sends.
HEADTEACHER_COMMANDS = ("help", "start", "status", "review", "amend", "withdraw", "answer", "school")
OFFICER_COMMANDS = (
    "list",
    "show",
    "shortlist",
    "not-shortlisted",
    "schedule",
    "decide",
    "reopen",
    "export",
    "window",
    "need",
    "officer",
    "link",
    "deliveries",
)
ALIASES = {
    "not-shortlist": "not-shortlisted",
    "notshortlisted": "not-shortlisted",
    "reject": "not-shortlisted",
    "begin": "start",
    "continue": "start",
    "resume": "start",
    "windows": "window",
    "officers": "officer",
    "schools": "school",
    "?": "help",
    "hi": "help",
    "hello": "help",
    "menu": "help",
}
PREFIX = re.compile(r"^\s*(?:/eoi\b|eoi\b)\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Command:
    name: str  # "" when the text isn't a known command
    rest: str
    word: str  # what the user typed as the command word


def parse_command(text: str) -> Command:
    body = PREFIX.sub("", text or "", count=1).strip()
    body = re.sub(r"^not\s+shortlist(?:ed)?\b", "not-shortlisted", body, flags=re.IGNORECASE)
    word, _, rest = body.partition(" ")
    name = word.casefold()
    name = ALIASES.get(name, name)
    if name not in HEADTEACHER_COMMANDS + OFFICER_COMMANDS:
        return Command("", body, word)
    return Command(name, rest.strip(), word)


def has_prefix(text: str) -> bool:
    return bool(PREFIX.match(text or ""))
