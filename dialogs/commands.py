"""The one command grammar shared by Slack's `/eoi`, Teams messages and the console
(docs/ARCHITECTURE.md, "How a turn flows": each command registered once, in COMMANDS)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from dialogs.rich import Text, md
from storage.lifecycle import REOPEN_DAYS

ANYONE, HEADTEACHER, OFFICER = "anyone", "headteacher", "officer"
# A school's staff and officers both (marking a milestone done); anyone an officer asked onto a decision panel.
SHARED, PANEL = "headteacher or officer", "panel member"


@dataclass(frozen=True)
class CommandSpec:
    """One command, registered once: its words, who may run it, its help line and an example. Help, the
    parser, the Slack slash command's hint and the Teams command menu all come from this registry; its handler
    is registered with it by the module that holds it (dialogs.registry.handles), and the service refuses to
    start with a registered command that has no handler."""

    name: str
    who: str  # ANYONE, HEADTEACHER, OFFICER, SHARED or PANEL
    usage: str  # how it is typed, for help: "shortlist REF [note]"
    help: str | Text  # what it does, one line
    example: str = ""  # one that works
    aliases: tuple[str, ...] = ()  # other words for it; a phrase ("cancel discussion") is matched as one word
    hint: str = ""  # the short form for the platforms' command menus; set only for commands offered there
    menu: str = ""  # what the Teams command menu says of it (at most 128 characters), with `hint`
    hidden: bool = False  # sent by forms and buttons, never typed or listed


COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec(
        "help",
        ANYONE,
        "help",
        "what I can do, and what words like RP, PP and EHCP mean",
        aliases=("?", "hi", "hello", "menu"),
        hint="help",
        menu="What I can do, and what words like RP, PP and EHCP mean.",
    ),
    CommandSpec(
        "start",
        HEADTEACHER,
        "start",
        md(
            "begin or carry on your school's EOI (one question at a time; saved as you go); "
            "*start PP* or *start RP* for that provision, *start REF* for that EOI"
        ),
        aliases=("begin", "continue", "resume"),
        hint="start",
        menu="Start or continue your school's Expression of Interest.",
    ),
    CommandSpec(
        "status",
        HEADTEACHER,
        "status",
        "where your EOIs are, and what happens next",
        hint="status",
        menu="Where your school's EOI is up to, and what happens next.",
    ),
    CommandSpec("review", HEADTEACHER, "review", "see your EOI's answers (and change them, while you still can)"),
    CommandSpec("amend", HEADTEACHER, "amend", "change a submitted EOI's answers, then submit it again"),
    CommandSpec("copy", HEADTEACHER, "copy", "a PDF copy of the EOI your school sent, for your governors"),
    CommandSpec(
        "withdraw",
        HEADTEACHER,
        "withdraw",
        md("withdraw a submitted EOI (before a decision); *start* restarts it while the window is open"),
    ),
    CommandSpec(
        "accept",
        HEADTEACHER,
        "accept [REF]",
        "accept your discussion invitation (ECC is told)",
        example="accept EOI-2627A-001",
    ),
    CommandSpec(
        "another-time",
        HEADTEACHER,
        "another time [REF] [TIMES]",
        "ask ECC to move your discussion, saying which times suit",
        example="another time Thursday 10am or Friday 2pm",
        aliases=("another time", "ask for another time", "new time"),
    ),
    CommandSpec(
        "school",
        HEADTEACHER,
        "school [URN]",
        "if you act for more than one school, which one you're working on",
        example="school 114000",
        aliases=("schools",),
    ),
    # What a long answer written in a form (a Slack modal, a Teams card) sends.
    CommandSpec("answer", HEADTEACHER, "answer QID TEXT", "a long answer written in a form", hidden=True),
    CommandSpec(
        "plan",
        OFFICER,
        "plan REF maintained|academy",
        "which implementation plan an EOI follows: a maintained school's prescribed alteration or an academy's "
        "significant change (the register's school type unless set)",
        example="plan EOI-2627A-001 academy",
    ),
    CommandSpec(
        "done",
        SHARED,
        "done REF MILESTONE [undo]",
        md(
            "mark an implementation milestone done (its number or word, e.g. *staffing*) once those before it are; "
            "the other side is told. Officers: first pupils (it opens the provision) after a confirmation, and "
            "*undo* takes one back"
        ),
        example="done EOI-2627A-001 staffing",
    ),
    CommandSpec(
        "list",
        OFFICER,
        "list [status] [RP or PP] [quadrant or district] [need type] [phase] [window] [by score] [page N] | "
        "list implementing | list not-started | list drafts",
        md(
            "EOIs, filtered (need types as headteachers say them too: *autism*), *by score* highest first; *list "
            "implementing*: approved EOIs' plans, late milestones first; *list not-started* and *list drafts*: "
            "in-scope schools yet to submit, when each was last told"
        ),
        example="list submitted ASD Colchester",
        hint="list",
        menu="Officers: list EOIs, e.g. list submitted quadrant=Mid need=ASD",
    ),
    CommandSpec(
        "show",
        OFFICER,
        "show REF | URN | school name",
        "answers, decision panel, implementation plan and history; show REF files fetches its files",
        example="show EOI-2627A-001",
        hint="show REF",
        menu="Officers: show one EOI in full, e.g. show EOI-2627A-007",
    ),
    CommandSpec(
        "shortlist",
        OFFICER,
        "shortlist REF [note]",
        "shortlist a submitted EOI; the school is told",
        example="shortlist EOI-2627A-001 Strong offer",
        hint="shortlist REF",
        menu="Officers: shortlist an EOI, e.g. shortlist EOI-2627A-007",
    ),
    CommandSpec(
        "score",
        OFFICER,
        "score REF [CRITERION 0-3 REASON; …]",
        "score a submitted EOI against the council's shortlisting criteria, each 0-3 with a reason (a form, or "
        "typed one or several at a time); show has every officer's scores and the mean",
        example="score EOI-2627A-001 need 3 matches the ASD need; travel 2 on the bus route",
        aliases=("scores",),
    ),
    CommandSpec(
        "not-shortlisted",
        OFFICER,
        "not-shortlisted REF feedback",
        "not shortlisted, with feedback for the school",
        example="not-shortlisted EOI-2627A-001 Need in the district is met this year",
        aliases=("not-shortlist", "notshortlisted", "reject", "not shortlisted", "not shortlist"),
    ),
    CommandSpec(
        "schedule",
        OFFICER,
        "schedule REF WHEN [for DURATION] [at PLACE or LINK] [with NAMES]",
        "book the discussion; the school is invited, with the agenda and a calendar invitation",
        example="schedule EOI-2627A-001 Tuesday at 2pm for 1 hour at County Hall",
        hint="schedule REF WHEN",
        menu="Officers: book the discussion, e.g. schedule EOI-2627A-007 Tuesday 2pm",
    ),
    CommandSpec(
        "cancel-discussion",
        OFFICER,
        "cancel discussion REF [reason]",
        "call the discussion off; the school is told",
        example="cancel discussion EOI-2627A-001 The panel is unwell",
        aliases=("cancel discussion", "cancel the discussion", "cancel meeting", "cancel the meeting"),
    ),
    CommandSpec(
        "outcome",
        OFFICER,
        "outcome REF [TOPIC agreed: NOTE | TOPIC follow up school|ECC|NAME by DATE: WHAT]",
        "after the discussion, each agenda topic agreed or to follow up (a tracked action with an owner and date)",
        example="outcome EOI-2627A-001 funding follow up school by 15 January: send the draft SLA budget",
        aliases=("outcomes",),
    ),
    CommandSpec(
        "follow-up",
        SHARED,
        "follow-up REF N done",
        "mark a follow-up from a discussion done (a school its own; ECC is told)",
        example="follow-up EOI-2627A-001 1 done",
        aliases=("followup", "follow up"),
    ),
    CommandSpec(
        "panel",
        OFFICER,
        "panel REF MEMBER [as ROLE], MEMBER [as ROLE]…",
        md(
            "ask a decision panel (officers and stakeholders, by platform id or email) to recommend; the school "
            "sees *under consideration*; *panel REF* shows who recommended what"
        ),
        example="panel EOI-2627A-001 me as SEND quadrant lead",
    ),
    CommandSpec(
        "recommend",
        PANEL,
        "recommend REF approve|decline|abstain REASON",
        "a decision panel member's recommendation, with a reason (or use the buttons on the request)",
        example="recommend EOI-2627A-001 approve Strong offer where the need is greatest",
    ),
    CommandSpec(
        "decide",
        OFFICER,
        "decide REF approve|decline [reason]",
        "record the decision with a reason the school sees (needed to decline: a pending discussion is called "
        "off); an approval starts the implementation plan",
        example="decide EOI-2627A-001 approve Opening September 2027",
        hint="decide REF approve|decline",
        menu="Officers: record the decision, e.g. decide EOI-2627A-007 approve|decline [note]",
    ),
    CommandSpec(
        "reopen",
        OFFICER,
        "reopen REF REASON",
        f"undo a decision, a not shortlisted or a provision's opening within {REOPEN_DAYS} days; the school is told",
        example="reopen EOI-2627A-001 The panel had the wrong figures",
    ),
    CommandSpec(
        "window",
        OFFICER,
        "window list | add | plan | preview | open | change | cancel | deliveries | session",
        "submission windows",
        example="window list",
        aliases=("windows",),
        hint="window",
        menu="Officers: show, open or change submission windows (Autumn Term 1, Spring Term 2).",
    ),
    CommandSpec(
        "nudge",
        OFFICER,
        "nudge SCHOOL|all [message]",
        md(
            "remind a school yet to submit (a URN or name as *show* takes), or *all* of them, now: what it has left "
            "to do and your words; once a school a day (*list not-started* and *list drafts* show who)"
        ),
        example="nudge all We would welcome an offer from you",
        aliases=("chase",),
    ),
    CommandSpec(
        "export",
        OFFICER,
        "export [window]",
        "CSV of EOIs",
        example="export 2627A",
        hint="export",
        menu="Officers: export the EOIs of a window as a CSV file.",
    ),
    CommandSpec(
        "report",
        OFFICER,
        "report [window]",
        "identified places against EOIs offered, shortlisted, approved and opened, as text and a chart",
        example="report 2627A",
    ),
    CommandSpec("need", OFFICER, "need [window]", "the identified need and who imported it", example="need"),
    CommandSpec(
        "officer",
        OFFICER,
        "officer list | add PLATFORM:USER or EMAIL | remove PLATFORM:USER or EMAIL",
        "who the officers are",
        example="officer add slack:U0123ABCD",
        aliases=("officers",),
    ),
    CommandSpec(
        "link", OFFICER, "link PLATFORM:USER URN", "link someone to a school", example="link slack:U0123ABCD 114000"
    ),
    CommandSpec(
        "deliveries", OFFICER, "deliveries [window]", "what was sent, what waits, what failed", example="deliveries"
    ),
    CommandSpec(
        "notify",
        OFFICER,
        "notify me daily | notify me each",
        "officers' messages in one digest a day at 8am, or each as it happens",
        example="notify me daily",
    ),
)
BY_NAME = {c.name: c for c in COMMANDS}
WHO = (ANYONE, HEADTEACHER, OFFICER, SHARED, PANEL)
_WORDS = {alias: c.name for c in COMMANDS for alias in c.aliases} | {c.name: c.name for c in COMMANDS}
# Phrases of several words first, longest first, so "cancel the discussion" wins over "cancel".
_PHRASES = sorted((w for w in _WORDS if " " in w), key=len, reverse=True)


def menu() -> list[CommandSpec]:
    """The commands offered in the platforms' command menus, in the registry's order."""
    return [c for c in COMMANDS if c.hint]


def slack_usage_hint() -> str:
    """The `/eoi` slash command's usage hint in the Slack manifests (bot.slack_manifest writes it there)."""
    return " | ".join(c.hint for c in menu())


def teams_commands() -> list[dict[str, str]]:
    """The Teams command menu, as the app manifest lists it (bot.teams_package writes it there)."""
    return [{"title": c.name, "description": c.menu} for c in menu()]


PREFIX = re.compile(r"^\s*(?:/eoi\b|eoi\b)\s*", re.IGNORECASE)


@dataclass(frozen=True)
class ParsedCommand:
    name: str  # "" when the text isn't a known command
    rest: str
    word: str  # what the user typed as the command word


def parse_command(text: str) -> ParsedCommand:
    body = PREFIX.sub("", text or "", count=1).strip()
    folded = " ".join(body.split()).casefold()
    for phrase in _PHRASES:
        if folded == phrase or folded.startswith(phrase + " "):
            words = len(phrase.split())
            parts = body.split(None, words)
            return ParsedCommand(
                _WORDS[phrase], parts[words].strip() if len(parts) > words else "", " ".join(parts[:words])
            )
    word, rest = [*re.split(r"\s+", body, maxsplit=1), ""][:2]  # a command on its own line is still one
    name = _WORDS.get(word.casefold(), "")
    if not name:
        return ParsedCommand("", body, word)
    return ParsedCommand(name, rest.strip(), word)


def has_prefix(text: str) -> bool:
    return bool(PREFIX.match(text or ""))
