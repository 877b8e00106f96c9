"""One way to name an EOI, for every command that takes one: its reference in any case, with or without the
zero padding ("eoi-2627a-3" is EOI-2627A-003), the school's URN, or part of the school's name. When several
EOIs match, the officer is asked which, with a button that runs the same command on each."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING

from rapidfuzz import fuzz
from sqlalchemy.ext.asyncio import AsyncSession

from dialogs.actions import Command
from dialogs.commands import parse_command
from dialogs.replies import Choice, Fact, Reply, refuse
from dialogs.rich import md
from storage import eois
from storage.models import EOI, School

if TYPE_CHECKING:
    from dialogs.questions import Question

# "EOI-2627A-007", "eoi-2627a-7", "EOI 2627A 7", "eoi2627a007", "2627A-7": the window code and the number.
_REF = re.compile(r"^(?:eoi\s*[-\s]?\s*)?(\d{4}[a-z])\s*[-\s]?\s*0*(\d{1,5})$", re.IGNORECASE)
MAX_MATCHES = 10
EXAMPLE_REF = "EOI-2627A-007"


def normal_ref(word: str) -> str | None:
    """The stored form of a typed reference ("eoi-2627a-3" -> "EOI-2627A-003"), or None if it isn't one."""
    match = _REF.fullmatch(word.strip())
    if not match:
        return None
    return f"EOI-{match.group(1).upper()}-{int(match.group(2)):03d}"


def looks_like_ref(word: str) -> bool:
    return normal_ref(word) is not None or word.strip().upper().startswith("EOI-")


async def by_ref(session: AsyncSession, word: str) -> EOI | None:
    """The EOI a typed reference names, in any of the ways people type it."""
    ref = normal_ref(word)
    return await eois.by_ref(session, ref or word) if (ref or word.strip()) else None


async def matching(session: AsyncSession, wanted: str) -> list[tuple[EOI, School]]:
    """Every EOI that `wanted` names: the one its reference names, else those of the schools whose URN it is or
    whose name contains it (newest first)."""
    wanted = " ".join(wanted.split())
    if not wanted:
        return []
    if looks_like_ref(wanted):
        eoi = await by_ref(session, wanted)
        school = await session.get(School, eoi.school_urn) if eoi is not None else None
        return [(eoi, school)] if eoi is not None and school is not None else []
    schools, found = await eois.of_schools_named(session, wanted)
    by_urn = {s.urn: s for s in schools}
    return [(e, by_urn[e.school_urn]) for e in found]


def about(eoi: EOI, school: School) -> str:
    """The school and where the EOI is: "Oak Primary (Colchester, Primary · ASD) · submitted"."""
    need = f" · {eoi.primary_need}" if eoi.primary_need else ""
    return f"{school.name} ({school.district}, {school.phase}{need}) · {eoi.status}"


def which_one(found: list[tuple[EOI, School]], wanted: str, command: str, tail: str = "") -> Reply:
    """Several EOIs match: each with a button that runs `command REF tail` on it."""
    tail = tail.strip()
    facts = [
        Fact(
            eoi.ref or "",
            about(eoi, school),
            Choice(
                f"{command.capitalize()} {eoi.ref}", Command(" ".join(p for p in (command, eoi.ref or "", tail) if p))
            ),
        )
        for eoi, school in found[:MAX_MATCHES]
    ]
    more = f" (the newest {MAX_MATCHES} shown)" if len(found) > MAX_MATCHES else ""
    return Reply(text=f"{len(found)} EOIs match “{wanted[:80]}”{more}: which one?", kind="list", facts=facts)


async def eoi_named(session: AsyncSession, wanted: str, command: str, tail: str = "") -> tuple[EOI, School] | Reply:
    """The one EOI `wanted` names; or a refusal that says how to name one; or, when several match, the question
    which (a list whose buttons run `command REF tail`)."""
    wanted = " ".join(wanted.split())
    if not wanted:
        return refuse(md("Which EOI? Give its reference, URN or school name, e.g. `{} {}`.", command, EXAMPLE_REF))
    found = await matching(session, wanted)
    if not found:
        return refuse(
            md(
                "There is no EOI “{}”. Name one by its reference (like {}), the school's URN or part of its name; "
                "`list` shows them.",
                wanted[:40],
                EXAMPLE_REF,
            )
        )
    if len(found) > 1:
        return which_one(found, wanted, command, tail)
    return found[0]


async def leading_eoi(
    session: AsyncSession, words: list[str], command: str, *, by_name: bool
) -> tuple[EOI | None, list[str]] | Reply:
    """The EOI a command's first word names, and the words after it, for commands where the EOI may be left out
    (`done`, `follow-up`): a reference always; a URN or part of a name too when `by_name` (officers). A list to
    choose from when several match; (None, words) when the first word names none."""
    if not words:
        return None, words
    first, typed_ref = words[0], looks_like_ref(words[0])
    if not typed_ref and (not by_name or len(first) < 3 or (first.isdecimal() and len(first) < 6)):
        return None, words  # "2" is a follow-up's number, not a school
    found = await eoi_named(session, first, command, " ".join(words[1:]))
    if isinstance(found, Reply):
        # A reference that names nothing is refused; words that name no school may be what follows the EOI.
        return found if typed_ref or found.kind != "error" else (None, words)
    return found[0], words[1:]


# The school's commands that name an EOI; and `start`, which also names a provision ("start PP").
_NAMING_COMMANDS = ("start", "status", "review", "amend", "withdraw")


def command_mid_question(text: str, provisions: list[tuple[str, str]], aliases: tuple[tuple[str, str], ...]) -> bool:
    """Whether words typed while a question is asked are a command that names what it acts on: `start PP`,
    `start Resourced Provision`, `review eoi-2627a-2`, `withdraw EOI-2728A-021 confirm`. "start of the spring
    term" stays an answer: only a reference or a whole provision name after the command makes it one."""
    from dialogs.answers import match_choice  # answers reads dates and questions; imported only when asked

    cmd = parse_command(text)
    rest = cmd.rest.strip()
    if cmd.name not in _NAMING_COMMANDS or not rest:
        return False
    words = rest.split()
    # `withdraw EOI-… confirm` is what the Yes button sends: never an answer either.
    if looks_like_ref(words[0]) and (len(words) == 1 or (cmd.name == "withdraw" and words[1:] == ["confirm"])):
        return True
    return cmd.name == "start" and match_choice(rest, provisions, aliases, exact=True) is not None


# Words that say nothing about which answer is meant: "change the date the governors discussed it".
_NOT_NAMING = frozenset(
    [
        "a",
        "about",
        "after",
        "all",
        "also",
        "an",
        "and",
        "answer",
        "any",
        "are",
        "as",
        "at",
        "be",
        "been",
        "by",
        "can",
        "change",
        "could",
        "correct",
        "did",
        "do",
        "does",
        "done",
        "edit",
        "fine",
        "fix",
        "for",
        "go",
        "good",
        "great",
        "had",
        "has",
        "have",
        "here",
        "how",
        "i",
        "i'd",
        "i'm",
        "in",
        "is",
        "it",
        "its",
        "just",
        "like",
        "many",
        "me",
        "much",
        "my",
        "no",
        "not",
        "now",
        "of",
        "ok",
        "okay",
        "on",
        "or",
        "our",
        "please",
        "ready",
        "should",
        "so",
        "some",
        "submit",
        "thank",
        "thanks",
        "that",
        "the",
        "their",
        "them",
        "there",
        "they",
        "this",
        "to",
        "too",
        "update",
        "want",
        "was",
        "we",
        "were",
        "what",
        "when",
        "which",
        "will",
        "with",
        "would",
        "yes",
        "you",
        "your",
    ]
)
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def _words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.casefold().replace("’", "'").replace("_", " ")) if w not in _NOT_NAMING]


def _alike(said: str, word: str) -> bool:
    """ "governors" and "governance", "discussed" and "discuss": the same stem, or a slip of a letter or two."""
    stem = min(len(said), len(word), 5)
    return (stem >= 4 and said[:stem] == word[:stem]) or fuzz.ratio(said, word) >= 85


def questions_named(text: str, questions: Iterable[Question]) -> list[Question]:
    """The questions `text` names by their label, words or id ("change the date the governors discussed it" is
    governance_date): those that share the most words with it, best first; empty when none shares any."""
    said = _words(text)
    scored = []
    for q in questions:
        own = set(_words(" ".join((q.id, q.label, q.label_when_future, q.ask))))
        score = sum(any(_alike(w, o) for o in own) for w in said)
        if score:
            scored.append((score, q))
    if not scored:
        return []
    best = max(score for score, _ in scored)
    found = [q for score, q in scored if score == best]
    # "places" names the question labelled Places, not also "Places open": a label said in full wins.
    exact = [q for q in found if set(_words(q.label)) == set(said)]
    return exact if len(exact) == 1 else found
