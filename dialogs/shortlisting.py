"""Scored shortlisting: the council's criteria as data (dialogs/shortlisting_criteria.yaml), an officer's `score REF`
(a form, or typed one criterion or several at a time), each officer's scores and the mean in `show`, `list ... by
score`, and the feedback a school not shortlisted is offered from the reasons behind its lowest scores."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from dataclasses import replace as dc_replace
from functools import cache
from pathlib import Path

import yaml
from sqlalchemy.ext.asyncio import AsyncSession

from dialogs import commands, registry
from dialogs.actions import MAX_ENCODED, Command, OpenForm, encode
from dialogs.officer_turn import PLATFORM_NAMES, CommandTurn, eoi_or_refuse
from dialogs.references import about, by_ref
from dialogs.replies import Choice, Fact, Form, FormField, Reply, refuse
from dialogs.rich import md
from storage import eois, people, scores
from storage.models import EOI, School, Score

CRITERIA_FILE = Path(__file__).with_name("shortlisting_criteria.yaml")
KEY = re.compile(r"[a-z][a-z0-9-]{0,39}")  # what officers type; scores are kept under it (scores.criterion)
REASON_MAX = 500  # a reason is a sentence or two: what a school may be given as feedback
# Nothing to score before the school sends it, nor once it has taken it back.
NOT_SCORED = (eois.DRAFT, eois.WITHDRAWN)
OPTIONS = tuple(str(n) for n in scores.SCORES)


@dataclass(frozen=True)
class Criterion:
    key: str
    title: str
    description: str
    weight: float
    words: tuple[str, ...]  # what each score 0-3 means, in the council's words
    aliases: tuple[str, ...] = ()

    def said(self, score: int) -> str:
        return f"{score} ({self.words[score]})"

    def titled(self) -> str:
        """Its title, and its weight when that isn't 1 ("Value for money (x2)")."""
        return self.title if self.weight == 1 else f"{self.title} (x{number(self.weight)})"


@dataclass(frozen=True)
class Criteria:
    criteria: tuple[Criterion, ...]
    below: float  # a criterion whose mean is below this is drawn into a school's feedback
    at_most: int  # ... at most this many of them

    @property
    def weights(self) -> dict[str, float]:
        return {c.key: c.weight for c in self.criteria}

    @property
    def most(self) -> float:
        """The highest total there is: every criterion scored 3."""
        return sum(3 * c.weight for c in self.criteria)

    def names(self) -> dict[str, Criterion]:
        """Every word that names a criterion (its key, its aliases), any case."""
        return {name: c for c in self.criteria for name in (c.key, *c.aliases)}


def load_criteria(path: Path = CRITERIA_FILE) -> Criteria:
    """The criteria file, checked: keys and aliases unique, weights positive, four words for each."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    found: list[Criterion] = []
    seen: dict[str, str] = {}
    for raw in data.get("criteria") or []:
        key = str(raw.get("key", ""))
        if not KEY.fullmatch(key):
            raise ValueError(f"{path.name}: {key!r} isn't a key: one short word, lower case")
        weight = raw.get("weight", 1)
        if isinstance(weight, bool) or not isinstance(weight, int | float) or weight <= 0:
            raise ValueError(f"{path.name}: {key}'s weight must be a positive number, not {weight!r}")
        words = tuple(" ".join(str(w).split()) for w in raw.get("words") or ())
        if len(words) != len(scores.SCORES) or not all(words):
            raise ValueError(f"{path.name}: {key} needs four words, for its scores 0, 1, 2 and 3")
        if any(c.key == key for c in found):
            raise ValueError(f"{path.name}: two criteria have the key {key!r}")
        aliases = tuple(" ".join(str(a).casefold().split()) for a in raw.get("aliases") or ())
        for name in (key, *aliases):
            if seen.setdefault(name, key) != key:  # a word naming two criteria would score the wrong one
                raise ValueError(f"{path.name}: {name!r} names both {seen[name]!r} and {key!r}")
        title, description = (" ".join(str(raw.get(k) or "").split()) for k in ("title", "description"))
        if not title:
            raise ValueError(f"{path.name}: {key} needs a title")
        found.append(Criterion(key, title, description, float(weight), words, aliases))
    if not found:
        raise ValueError(f"{path.name}: no criteria")
    feedback = data.get("feedback") or {}
    return Criteria(tuple(found), float(feedback.get("below", 2)), int(feedback.get("at_most", 3)))


@cache
def criteria() -> Criteria:
    return load_criteria()


criteria()  # read as the service starts: a criteria file that doesn't hold stops it there, not in an officer's turn


def number(value: float) -> str:
    """2, 2.5, 13.3: a score or total as people write it."""
    return f"{value:.1f}".removesuffix(".0")


def out_of(total: float, table: Criteria) -> str:
    return f"{number(total)} of {number(table.most)}"


def _named(key: str, names: dict[str, str]) -> str:
    """An officer as officers know them: "Olive Officer (Teams)"; their platform id when we have no name."""
    platform = key.split(":", 1)[0]
    return f"{names[key]} ({PLATFORM_NAMES.get(platform, platform)})" if key in names else key


# ------------------------------------------------------------------------------------------ reading what was typed
def _score(word: str) -> int | None:
    word = word.strip().removesuffix("/3")
    return int(word) if word.isdecimal() and int(word) in scores.SCORES else None


def _from_form(values: dict[str, str], table: Criteria) -> tuple[list[scores.Given], dict[str, str]]:
    """A submitted form: every criterion's score and reason, or a problem on each field that lacks one."""
    given, problems = [], {}
    for c in table.criteria:
        # The form sends each score with its prefix, as typed words would say it ("need 3").
        score = _score(values.get(c.key, "").strip().removeprefix(c.key).strip())
        reason = " ".join(values.get(f"{c.key}_why", "").split())
        problems.update(_problems(c, score, reason))
        if score is not None and reason and len(reason) <= REASON_MAX:
            given.append(scores.Given(c.key, score, reason))
    return given, problems


def _problems(c: Criterion, score: int | None, reason: str) -> dict[str, str]:
    found = {}
    if score is None:
        found[c.key] = f"{c.title}: choose a score from 0 to 3 ({', '.join(map(c.said, scores.SCORES))})."
    if not reason:
        found[f"{c.key}_why"] = f"{c.title}: say why (a school not shortlisted may be given it as feedback)."
    elif len(reason) > REASON_MAX:
        found[f"{c.key}_why"] = f"{c.title}: please keep the reason under {REASON_MAX} characters."
    return found


def _entry_start(table: Criteria) -> re.Pattern[str]:
    """Where a criterion's entry starts in typed words: its name, then its score ("need 3", "value for money: 2")."""
    names = "|".join(re.escape(n).replace(r"\ ", r"\s+") for n in sorted(table.names(), key=len, reverse=True))
    return re.compile(rf"(?<![\w-])({names})(?![\w-])\s*[:=]?\s*(-?\d+(?:/3)?)(?![\w-])", re.IGNORECASE)


def _from_words(typed: str, table: Criteria) -> tuple[list[tuple[Criterion, str, str]], str]:
    """`need 3 matches the ASD need; travel 2 "on the bus route" value 1 costly`: each criterion named, its score
    and its reason (quoted, or running to a `;` or the next criterion and score). Returns what was read, as typed,
    and what couldn't be (words before any criterion)."""
    start = _entry_start(table)
    names = table.names()
    read: list[tuple[Criterion, str, str]] = []
    at, text = 0, typed.strip()
    while at < len(text):
        while at < len(text) and (text[at].isspace() or text[at] == ";"):
            at += 1
        if at >= len(text):
            break
        found = start.match(text, at)
        if found is None:
            return read, text[at:]
        c, score = names[" ".join(found.group(1).casefold().split())], found.group(2)
        at = found.end()
        while at < len(text) and text[at].isspace():
            at += 1
        if at < len(text) and text[at] in '"“':
            close = min((i for i in (text.find('"', at + 1), text.find("”", at + 1)) if i >= 0), default=len(text))
            reason, at = text[at + 1 : close], close + 1
        else:
            ends = [m.start() for m in (re.compile(";").search(text, at), start.search(text, at)) if m]
            end = min(ends, default=len(text))
            reason, at = text[at:end], end
        read.append((c, score, " ".join(reason.split())))
    return read, ""


def _as_typed(ref: str, read: list[tuple[Criterion, str, str]], rest: str = "") -> str:
    """What was typed, written out again to correct and send: nothing typed is lost to a refusal."""
    parts = [f'{c.key} {score} "{reason}"' if reason else f"{c.key} {score}" for c, score, reason in read]
    return " ".join([f"score {ref}", "; ".join(parts), rest]).strip()


# ---------------------------------------------------------------------------------------------------- the form
def score_form(ref: str, table: Criteria, mine: dict[str, Score]) -> Form | None:
    """A 0-3 choice and a reason for every criterion, holding the officer's own scores so far. None when the
    council's criteria make a form too big for a Slack button to carry (then scores are typed)."""
    fields: list[FormField] = []
    for c in table.criteria:
        row = mine.get(c.key)
        fields.append(
            FormField(c.key, c.titled(), options=OPTIONS, prefix=f"{c.key} ", value=str(row.score) if row else "")
        )
        fields.append(
            FormField(f"{c.key}_why", "Reason", multiline=True, max_length=REASON_MAX, value=row.reason if row else "")
        )
    form = Form(title=f"Score: {ref}", command=f"score {ref}", submit_label="Keep my scores", fields=tuple(fields))
    carried = asdict(form)
    for f in carried["fields"]:
        f.pop("value")  # a button carries the form without what its boxes hold
    return form if len(json.dumps(carried, separators=(",", ":"))) <= MAX_ENCODED else None


async def form_as_now(session: AsyncSession, officer: str, form: Form) -> Form:
    """A scoring or not-shortlisting form as it opens now, for a channel whose buttons carry forms without what
    their boxes hold (Slack): the officer's own scores so far, or the feedback drawn from the scores."""
    command, _, ref = form.command.partition(" ")
    eoi = await by_ref(session, ref.strip()) if command in ("score", "not-shortlisted") else None
    if eoi is None or eoi.id is None:
        return form
    if command == "score":
        mine = (await scores.of_eoi(session, eoi.id)).by_officer.get(officer, {})
        return score_form(eoi.ref or ref, criteria(), mine) or form
    drawn = await drawn_feedback(session, eoi)
    held = tuple(dc_replace(f, value=drawn) if f.name == "note" and drawn and not f.value else f for f in form.fields)
    return dc_replace(form, fields=held)


def score_choices(eoi: EOI, mine: dict[str, Score]) -> list[Choice]:
    """The Score button (a Slack modal, a Teams card; typed in the console), for an EOI that can be scored."""
    if eoi.status in NOT_SCORED or not eoi.ref:
        return []
    form = score_form(eoi.ref, criteria(), mine)
    return [Choice("Score", OpenForm("score", eoi.ref), form=form)] if form else []


# ---------------------------------------------------------------------------------------------- the command
@registry.handles("score", commands.OFFICER)
async def score_command(t: CommandTurn) -> list[Reply]:
    """`score REF`: the criteria and the form; `score REF need 3 REASON; travel 2 REASON`: those criteria scored
    (all or some: each replaces this officer's earlier score of it). A submitted form scores every criterion.
    Anything refused keeps nothing, and says what was typed, to correct."""
    ref, _, typed = t.rest.strip().partition(" ")
    found = await eoi_or_refuse(t, ref, "score", typed)
    if isinstance(found, Reply):
        return [found]
    eoi, school = found
    if eoi.status in NOT_SCORED:
        why = (
            "it is a draft (its school hasn't sent it, or is changing its answers)"
            if eoi.status == eois.DRAFT
            else "its school has withdrawn it"
        )
        return [refuse(md("{} can't be scored now: {}. Officers score an EOI once it is submitted.", eoi.ref, why))]
    table = criteria()
    mine = (await scores.of_eoi(t.session, eoi.id)).by_officer.get(t.actor, {})
    if t.values:
        given, problems = _from_form(t.values, table)
        if problems:
            return [refuse(f"Nothing is kept yet: {len(problems)} to put right on the form.", field_errors=problems)]
    elif typed.strip():
        given, problem = _from_typed(eoi.ref or "", typed, table)
        if isinstance(problem, Reply):
            return [problem]
    else:
        return [_sheet(eoi, school, table, mine)]
    changed = await scores.keep(t.session, eoi, given, officer=t.actor, now=t.now)
    return [await _kept(t, eoi, school, table, given, changed)]


def _from_typed(ref: str, typed: str, table: Criteria) -> tuple[list[scores.Given], Reply | None]:
    read, unread = _from_words(typed, table)
    example = f"score {ref} need 3 matches the ASD need; travel 2 on the bus route"
    if not read:
        keys = ", ".join(c.key for c in table.criteria)
        return [], refuse(
            md(
                "I can't tell which criterion “{}” scores. Name each with its score and reason, e.g. `{}`. The "
                "criteria: {}.",
                unread[:60],
                example,
                keys,
            )
        )
    problems: dict[str, str] = {}
    given = []
    for c, score_word, reason in read:
        score = _score(score_word)
        found = _problems(c, score, reason)
        problems.update(found)
        if not found and score is not None:
            given.append(scores.Given(c.key, score, reason))
    if unread:
        problems["score"] = f"“{unread[:60]}” names no criterion."
    if problems:
        again = _as_typed(ref, read, unread)
        # Each problem is shown on its field (in a terminal, a line of its own): the words say what to send again.
        return [], refuse(md("Nothing is kept yet. Correct it and send it again: `{}`", again), field_errors=problems)
    return given, None


def _sheet(eoi: EOI, school: School, table: Criteria, mine: dict[str, Score]) -> Reply:
    """The criteria, what each score means, the officer's own scores so far, and the form."""
    facts = []
    for c in table.criteria:
        words = " · ".join(c.said(n) for n in scores.SCORES)
        yours = f"\nYours: {c.said(mine[c.key].score)}: {mine[c.key].reason}" if c.key in mine else ""
        facts.append(Fact(f"{c.titled()} ({c.key})", f"{c.description}\n{words}{yours}"))
    how = "Use the form, or type" if score_choices(eoi, mine) else "Type"
    return Reply(
        text=md(
            "Score {} ({}) against the council's criteria: each 0 to 3 with a reason, which a school not shortlisted "
            "may be given as feedback. {} one criterion or several, e.g. `score {} need 3 matches the ASD need; "
            "travel 2 on the bus route`.",
            eoi.ref,
            about(eoi, school),
            how,
            eoi.ref,
        ),
        title=f"Score {eoi.ref}",
        facts=facts,
        choices=score_choices(eoi, mine),
    )


async def _kept(
    t: CommandTurn, eoi: EOI, school: School, table: Criteria, given: list[scores.Given], changed: bool
) -> Reply:
    scored = await scores.of_eoi(t.session, eoi.id)
    mine = scored.by_officer.get(t.actor, {})
    by_key = {c.key: c for c in table.criteria}
    lines = [f"• {by_key[g.criterion].title}: {by_key[g.criterion].said(g.score)}: {g.reason}" for g in given]
    left = [c.key for c in table.criteria if c.key not in mine]
    total = out_of(scored.total_of(t.actor, table.weights), table)
    then = (
        md("Still to score: {}, e.g. `score {} {} 2 REASON`.", ", ".join(left), eoi.ref, left[0])
        if left
        else md("Your total: {}.", total)
    )
    others = len(scored.by_officer) - (1 if mine else 0)
    mean = md(" Mean of {} officers: {}.", len(scored.by_officer), out_of(scored.mean_total(table.weights), table))
    return Reply(
        text=md(
            "{} {} ({}):\n{}\n{}{}",
            "Kept your scores of" if changed else "No change to your scores of",
            eoi.ref,
            school.name,
            "\n".join(lines),
            then,
            mean if others and not left else "",
        ),
        choices=[Choice("Show", Command(f"show {eoi.ref}")), *score_choices(eoi, mine)],
    )


# ------------------------------------------------------------------------------------------ what `show` shows
async def score_facts(session: AsyncSession, eoi: EOI) -> list[Fact]:
    """Each officer's scores (by name, with their total) and, with two or more, the mean of each and the total."""
    table = criteria()
    scored = await scores.of_eoi(session, eoi.id)
    if not scored.by_officer:
        return []
    names = await people.names_of(session, set(scored.by_officer))
    facts = []
    for officer, theirs in scored.by_officer.items():
        lines = [
            f"• {c.titled()}: {c.said(theirs[c.key].score)}: {theirs[c.key].reason}"
            for c in table.criteria
            if c.key in theirs
        ]
        counted = sum(1 for c in table.criteria if c.key in theirs)
        so_far = "" if counted == len(table.criteria) else f" so far ({counted} of {len(table.criteria)} criteria)"
        total = f"Total {out_of(scored.total_of(officer, table.weights), table)}{so_far}"
        facts.append(Fact(f"Scores by {_named(officer, names)}", "\n".join([total, *lines])))
    if len(scored.by_officer) > 1:
        means = scored.means()
        lines = [f"• {c.titled()}: {number(means[c.key])}" for c in table.criteria if c.key in means]
        total = f"Total {out_of(scored.mean_total(table.weights), table)}"
        facts.append(Fact(f"Mean of {len(scored.by_officer)} officers' scores", "\n".join([total, *lines])))
    return facts


# ------------------------------------------------------------------------------------------- `list ... by score`
BY_SCORE = re.compile(r"(?:\bsort(?:ed)?\s+)?\bby\s+(?:score|scores|total)\b", re.IGNORECASE)


def by_score(rest: str) -> tuple[str, bool]:
    """`list submitted by score`: the words without the ordering, and whether it was asked for."""
    found = BY_SCORE.search(rest)
    return (BY_SCORE.sub(" ", rest).strip(), True) if found else (rest, False)


async def ranked(
    session: AsyncSession, filters: eois.Filters, *, page: int
) -> tuple[list[tuple[EOI, School]], int, dict[int, float]]:
    """One page of the EOIs matching, highest mean total first (those nobody has scored last, by reference), how
    many match, and the totals."""
    rows = await eois.all_for_export(session, filters)
    totals = await scores.mean_totals(session, [eoi.id for eoi, _ in rows], criteria().weights)
    rows.sort(key=lambda row: (row[0].id not in totals, -totals.get(row[0].id, 0.0)))  # stable: by reference
    start = (page - 1) * eois.PAGE_SIZE
    return rows[start : start + eois.PAGE_SIZE], len(rows), totals


def total_words(total: float | None) -> str:
    return "not scored" if total is None else f"mean score {out_of(total, criteria())}"


# --------------------------------------------------------------------------- feedback for a school not shortlisted
def feedback_from(scored: scores.Scored, table: Criteria) -> str:
    """The reasons behind the lowest-scoring criteria, each with its title and what its score means (the council's
    words): those whose mean is below `below`, at most `at_most`, lowest first; when none is, the lowest."""
    means = scored.means()
    known = sorted((c for c in table.criteria if c.key in means), key=lambda c: (means[c.key], -c.weight))
    low = [c for c in known if means[c.key] < table.below][: table.at_most] or known[:1]
    lines = []
    for c in low:
        rows = [theirs[c.key] for theirs in scored.by_officer.values() if c.key in theirs]
        lowest = min(row.score for row in rows)
        reasons = dict.fromkeys(_sentence(row.reason) for row in rows if row.score == lowest)
        lines.append(f"{c.title} ({c.words[int(means[c.key])]}): {' '.join(reasons)}")
    return "\n".join(lines)


def _sentence(reason: str) -> str:
    """An officer's reason as a sentence for the school: a capital to start, a full stop to end."""
    reason = reason.strip()
    return reason[:1].upper() + reason[1:] + ("" if reason.endswith((".", "!", "?")) else ".")


async def drawn_feedback(session: AsyncSession, eoi: EOI) -> str:
    """What a school not shortlisted is offered as feedback from its scores; "" when nobody has scored it."""
    return feedback_from(await scores.of_eoi(session, eoi.id), criteria())


def feedback_offered(eoi: EOI, school: School, drawn: str, form: Choice) -> Reply:
    """`not-shortlisted REF` with no feedback typed, on a scored EOI: the feedback drawn from the scores, to send as
    it is or edit first. What is sent is what the officer sends: the button carries these exact words."""
    choices = [form]
    send = Choice("Send this feedback", Command(f"not-shortlisted {eoi.ref} {drawn}"), style="primary")
    try:
        encode(send.action)
        choices.insert(0, send)
    except ValueError:  # too long for a button: edited and sent from the form, or typed
        pass
    return Reply(
        text=md(
            "Feedback for {}, drawn from the scores (the reasons for its lowest-scoring criteria):\n{}\n\nSend it as "
            "it is, edit it first, or type your own: `not-shortlisted {} FEEDBACK`. Nothing is sent until you do.",
            school.name,
            drawn,
            eoi.ref,
        ),
        title=f"Not shortlisted: {eoi.ref}",
        choices=choices,
    )
