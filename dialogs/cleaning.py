"""Typed text, names, emails and ids as every channel's input is cleaned, once, whatever the channel: used by
the turn (dialogs.turns) and by a button's decoded action (dialogs.actions)."""

from __future__ import annotations

import hashlib
import re
import unicodedata

from storage.stored_text import CONTROL, SURROGATE

# The columns these end up in (storage/models.py: people.display_name, people.email, people.user_id).
NAME_MAX, EMAIL_MAX, USER_ID_MAX = 200, 320, 200
# Typed text and button values: well above the longest answer (3,000 characters) and above what the answer
# readers refuse as too long to read (dialogs.answers.MAX_INPUT), so an answer cut short here is still refused
# there with a clear message, never stored shortened.
TEXT_MAX = 20_000

# Zero-width characters and direction marks, overrides and isolates: invisible, yet they can pad a short answer
# or make a name read other than it is.
INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]")


def clean_text(text: str, limit: int = TEXT_MAX) -> str:
    """Typed text as the dialogs and every database can take it: line ends as newlines, no control characters
    but tab and newline, no lone surrogates, Unicode NFC, at most `limit` characters."""
    text = text[: limit * 2].replace("\r\n", "\n").replace("\r", "\n")
    text = SURROGATE.sub("\ufffd", CONTROL.sub("", text))
    return unicodedata.normalize("NFC", text)[:limit]


def tidy(text: str) -> str:
    """Typed words as the dialogs read them, whatever the channel: spaces tidied within each line, the lines
    themselves (paragraphs of a long answer) kept, no more than one blank line between them."""
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def clean_name(name: str) -> str:
    """A display name: one line of visible characters, at most NAME_MAX."""
    return " ".join(INVISIBLE.sub("", clean_text(name, NAME_MAX * 2)).split())[:NAME_MAX]


def clean_email(email: str) -> str:
    """The platform's email as it is, or none: one that can't be stored as it is (control or invisible
    characters, too long) is not edited into an address that might then match a school's."""
    email = email.strip()
    if len(email) > EMAIL_MAX or CONTROL.search(email) or SURROGATE.search(email) or INVISIBLE.search(email):
        return ""
    return email


def clean_user_id(user_id: str) -> str:
    """The platform's user id as it is; one that can't be stored as it is (too long, control characters) becomes
    a stable stand-in that no other id shares: its printable start and a hash of the whole."""
    if len(user_id) <= USER_ID_MAX and not (CONTROL.search(user_id) or SURROGATE.search(user_id)):
        return user_id
    start = "".join(c for c in user_id[:150] if c.isprintable())
    return f"{start}~{hashlib.sha256(user_id.encode('utf-8', 'surrogatepass')).hexdigest()[:40]}"


def visible_length(text: str) -> int:
    """Characters a reader sees: minimum lengths count these, not invisible padding."""
    return len(INVISIBLE.sub("", text))
