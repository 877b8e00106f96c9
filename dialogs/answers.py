"""Reading a typed or tapped answer for each question type, and saying what would work when it fails.

`read_answer` never raises on any text: it returns the stored value, an Understood (a value with a doubt to
ask back, or words to tell back), or a Problem whose message always shows a valid answer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from dateutil.relativedelta import relativedelta
from rapidfuzz.distance import OSA

from dialogs.cleaning import visible_length
from dialogs.dates import date_to_store, format_date, format_stored_date, last_day, read_date_answer, stored_date
from dialogs.glossary import EOI_NEED_TYPES, NEED_ALIASES, NEED_TYPES
from dialogs.money import pounds, read_pounds
from dialogs.places_plan import problem_with, read_plan, shown
from dialogs.questions import Question
from dialogs.rich import Text, md

EMAIL = re.compile(r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
OTHER_NEED = "other"
MAX_INPUT = 10_000  # longer input is refused before any parsing


@dataclass(frozen=True)
class AnswerContext:
    today: date
    window_closes: date | None = None
    key_stages: tuple[str, ...] = ()
    priority_options: tuple[tuple[str, str], ...] = ()
    # What each option stands for, by the answer it must agree with (Question.choices_match):
    # {"ASD/resourced/Colchester/primary": {"provision_type": "resourced", "primary_need": "ASD"}}
    option_facts: dict[str, dict[str, str]] = field(default_factory=dict)
    defaults: dict[str, str] = field(default_factory=dict)  # "school.headteacher_name" -> value
    # The files an EOI holds, by id, as the school reads them: "site-plan.pdf (PDF, 1.2 MB)".
    files: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Problem:
    message: str | Text


@dataclass(frozen=True)
class Understood:
    """An answer read from everyday words, with something to say before or after storing it.

    `confirm`: the reading could be wrong ("Sept 27", "maybe ten"), so it is asked back as a yes/no and stored
    only on yes. `note`: said once it is stored (a term date that is an estimate, the detail kept).
    `also`: answers to later questions read from the same message ({"accessible_site_details": "..."})."""

    value: Any
    confirm: str = ""
    note: str | Text = ""
    also: dict[str, Any] = field(default_factory=dict)


def value_of(result: Any) -> Any:
    return result.value if isinstance(result, Understood) else result


def choices_for(q: Question, ctx: AnswerContext, answers: dict[str, Any] | None = None) -> list[tuple[str, str]]:
    """The options offered; given the answers so far, without the one an earlier answer already took
    (`except_answer`: no "other need" that is the primary need)."""
    answers = answers or {}
    options = [(v, label) for v, label in _all_choices(q, ctx) if q.offers(v, answers)]
    taken = answers.get(q.except_answer) if q.except_answer else None
    if taken:
        options = [(v, label) for v, label in options if v != taken]
    if q.choices_match:
        options = [(v, label) for v, label in options if _agrees(ctx.option_facts.get(v, {}), q.choices_match, answers)]
    return options


def _agrees(facts: dict[str, str], answer_ids: tuple[str, ...], answers: dict[str, Any]) -> bool:
    """An option without facts ("Another need") always holds; one with facts, when each answered one agrees."""
    return all(answers.get(a) is None or a not in facts or facts[a] == answers[a] for a in answer_ids)


def _all_choices(q: Question, ctx: AnswerContext) -> list[tuple[str, str]]:
    if q.choices_from == "need_types":
        return [(code, f"{code}: {NEED_TYPES[code]}") for code in EOI_NEED_TYPES]
    if q.choices_from == "key_stages":
        return [(ks, ks) for ks in ctx.key_stages]
    if q.choices_from == "priority_needs":
        return [*ctx.priority_options, (OTHER_NEED, "Another need (explain)")]
    if q.type == "yesno" and not q.choices:
        return [("yes", "Yes"), ("no", "No")]
    return list(q.choices)


def _numbered(options: list[tuple[str, str]]) -> str:
    """Every option with its number, short labels only ("ASD" for "ASD: Autistic Spectrum Disorder")."""
    codes = [label.split(":")[0] for _, label in options]
    shown = [
        code if len(code) < len(label) and codes.count(code) == 1 else label
        for code, (_, label) in zip(codes, options, strict=True)
    ]
    return "; ".join(f"{n} {label}" for n, label in enumerate(shown, 1))


def _example_list(options: list[tuple[str, str]]) -> str:
    shown = [f"“{label}”" for _, label in options[:3]]
    return ", ".join(shown) + (" …" if len(options) > 3 else "")


def aliases_for(q: Question) -> tuple[tuple[str, str], ...]:
    """Other words people type for the question's choices: from the question data, or the need types'."""
    return NEED_ALIASES if q.choices_from == "need_types" else q.aliases


def match_choice(
    text: str, options: list[tuple[str, str]], aliases: tuple[tuple[str, str], ...] = (), *, exact: bool = False
) -> str | None:
    """By number, value, label, code before a colon, alias, or a unique beginning of a label (any case).
    `exact`: only a whole value, label, code or alias (for the first words of a longer answer)."""
    t = " ".join(text.strip().strip(".!").replace("’", "'").casefold().split())
    if not t:
        return None
    if t.isdecimal() and not exact:
        n = int(t)
        return options[n - 1][0] if 1 <= n <= len(options) else None
    for value, label in options:
        if t in (value.casefold(), label.casefold(), label.split(":")[0].casefold()):
            return value
    offered = {value for value, _ in options}
    for alias, value in aliases:
        if t == alias.casefold() and value in offered:
            return value
    if exact:
        return None
    # "speech" finds "SLCN: Speech, Language and Communication Needs"
    starts = [
        value
        for value, label in options
        if len(t) >= 3 and (label.casefold().startswith(t) or label.split(": ", 1)[-1].casefold().startswith(t))
    ]
    return starts[0] if len(starts) == 1 else None


def _typo_allowance(n: int) -> int:
    """How many slips a word of `n` characters may carry and still be asked about: none under four ("ASD" is
    one letter from "SLD"), one up to six ("autsm"), then one more for every six characters ("resorced")."""
    return 0 if n < 4 else 1 if n <= 6 else 1 + n // 6


def near_choice(text: str, options: list[tuple[str, str]], aliases: tuple[tuple[str, str], ...] = ()) -> str | None:
    """The one choice that `text` misspells by a few letters ("resorced", "autsm", "autsim"): by edit distance,
    two swapped letters counting as one slip (rapidfuzz's OSA), to its value, label, code, words after the code,
    or an alias; None when none is that close, or two are. Never taken silently: the caller asks "Do you mean…?"."""
    t = " ".join(text.strip().strip(".!").replace("’", "'").casefold().split())
    allowed = _typo_allowance(len(t))
    if not allowed:
        return None
    offered = {value for value, _ in options}
    names = [
        (name.casefold(), value)
        for value, label in options
        for name in (value, label, label.split(":")[0], label.split(": ", 1)[-1])
    ] + [(alias.casefold(), value) for alias, value in aliases if value in offered]
    best: dict[str, int] = {}
    for name, value in names:
        if _typo_allowance(len(name)) == 0:
            continue  # a short code is matched exactly or not at all
        distance = OSA.distance(t, name, score_cutoff=allowed)
        if distance <= allowed:
            best[value] = min(distance, best.get(value, distance))
    if not best:
        return None
    closest = min(best.values())
    near = [value for value, distance in best.items() if distance == closest]
    return near[0] if len(near) == 1 else None


def read_answer(q: Question, text: str, ctx: AnswerContext, answers: dict[str, Any]) -> Any | Problem:
    text = text.strip()
    if len(text) > MAX_INPUT:
        return Problem(f"That is too long to read (over {MAX_INPUT:,} characters). {_how(q, ctx, answers)}")
    if not text:
        return Problem(f"I didn't get an answer. {_how(q, ctx, answers)}")
    reader = _READERS[q.type]
    result = reader(q, text, ctx, answers)
    if isinstance(result, Problem):
        return result
    problem = check_answer(q, value_of(result), ctx, answers)
    return problem or result


def check_answer(q: Question, value: Any, ctx: AnswerContext, answers: dict[str, Any]) -> Problem | None:
    """Limits that depend on other answers or on the date; also used to recheck stored answers at review."""
    if q.type in ("single", "confirm", "yesno"):
        if value not in [v for v, _ in choices_for(q, ctx, answers)]:
            return Problem(f"That option is no longer available. {_how(q, ctx, answers)}")
    elif q.type == "multi":
        allowed = {v for v, _ in choices_for(q, ctx, answers)}
        if not value and not q.optional:
            return Problem(f"Please choose at least one. {_how(q, ctx, answers)}")
        if any(v not in allowed for v in value):
            return Problem(f"Some of those options are not available. {_how(q, ctx, answers)}")
    elif q.type == "number":
        low, high = q.limits(answers)
        if (low is not None and value < low) or (high is not None and value > high):
            return Problem(f"Please give a whole number from {low:,} to {high:,}, for example {low + 4}.")
    elif q.type == "date":
        return _check_date(q, str(value), ctx, answers)
    elif q.type == "money":
        low, high = q.limits(answers)
        if (low is not None and value < low) or (high is not None and value > high):
            return Problem(f"Please give a sum in whole pounds from {pounds(low or 0)} to {pounds(high or 0)}.")
    elif q.type == "places_by_year":
        wrong = problem_with(value, answers)
        if wrong:
            return Problem(f"That plan won't do: {wrong}. For example {q.example}.")
    elif q.type in ("short_text", "long_text"):
        n = visible_length(value)  # zero-width and direction characters don't make an answer longer
        if q.min is not None and n < q.min:
            return Problem(
                f"Please write a little more: at least {q.min:,} characters (you wrote {n:,})."
                + (f" For example: {q.example}" if q.example else "")
            )
        if q.max is not None and len(value) > q.max:
            return Problem(f"Please keep it to {q.max:,} characters or fewer (you wrote {len(value):,}).")
    return None


# Why a date no longer fits, when an earlier answer changed what it asks for (a meeting held, or to come).
_NOW_ASKS = {
    "past": "is still to come, and it now asks for a day that has passed",
    "future": "has passed, and it now asks for a day still to come",
}


def asked_again_because(
    q: Question, value: Any, ctx: AnswerContext, before: dict[str, Any], after: dict[str, Any]
) -> str | None:
    """Why an answer is asked again when answers it depends on change (`before` to `after`, as submitted), in
    words for the headteacher; None when it still holds. A choice is asked again whenever the choices offered
    change: "Another need" chosen for a Partnership Provision means something else for a Resourced one."""
    if q.type in ("single", "multi", "confirm", "yesno"):
        offered = choices_for(q, ctx, after)
        if offered == choices_for(q, ctx, before) and check_answer(q, value, ctx, after) is None:
            return None
        chosen = value if isinstance(value, list) else [value]
        gone = [v for v in chosen if v not in {v for v, _ in offered}]
        if gone:
            shown = format_answer(q, gone if q.type == "multi" else gone[0], ctx)
            return f"“{shown}” isn't one of its choices now"
        return "the choices it offers are different now"
    if q.type == "number":
        low, high = q.limits(after)
        if (low is None or value >= low) and (high is None or value <= high):
            return None
        return f"it must now be from {low:,} to {high:,}, and you said {value:,}"
    if q.type == "places_by_year":
        return problem_with(value, after) or None  # "the last year must reach the 14 places you proposed (…)"
    problem = check_answer(q, value, ctx, after)
    if problem is None:
        return None
    if q.type == "date" and q.date_expects(after) in _NOW_ASKS:
        return f"{format_stored_date(value)} {_NOW_ASKS[q.date_expects(after)]}"  # a month is kept as 2027-09
    message = problem.message.plain if isinstance(problem.message, Text) else problem.message
    return message.split(". ")[0].rstrip(".")  # what is wrong, without the "for example" that follows


def _how(q: Question, ctx: AnswerContext, answers: dict[str, Any]) -> str:
    options = choices_for(q, ctx, answers)
    if q.type in ("single", "confirm", "yesno"):
        return (
            f"Please choose one of the options, e.g. {_example_list(options)}, or type its number. "
            f"The options are: {_numbered(options)}."
        )
    if q.type == "multi":
        extra = ", or “none”" if q.optional else ""
        return (
            f"Please choose from the list: numbers or codes separated by commas, e.g. “1, 3”{extra}. "
            f"The options are: {_numbered(options)}."
        )
    if q.type == "number":
        low, high = q.limits(answers)
        return f"Please give a whole number from {low:,} to {high:,}, for example {q.example or low + 4}."
    if q.type == "date":
        return f"Please give a date, for example {q.example or '“September 2027”'}."
    if q.type == "email":
        return f"Please give an email address, for example {q.example or '“name@school.org.uk”'}."
    if q.type == "phone":
        return f"Please give a UK phone number, for example {q.example}."
    if q.type == "money":
        return f"Please give a sum in pounds, for example {q.example or '“£45,000”'}."
    if q.type == "places_by_year":
        return f"Please give the places in each academic year, for example {q.example}."
    return "Please type your answer."


def _read_choice(q: Question, text: str, ctx: AnswerContext, answers: dict[str, Any]) -> Any:
    options = choices_for(q, ctx, answers)
    value = match_choice(text, options, aliases_for(q))
    if value is not None:
        return value
    understood = _choice_in_words(q, text, options, answers) if q.type == "single" else None
    if understood is not None and not understood.confirm:
        return understood  # "yes, fully": the choice, and words that agree with it or answer the next question
    near = near_choice(text, options, aliases_for(q))  # "Resourced Provisoin": a slip in the whole of it
    if near is not None:
        return Understood(near, confirm=f"Do you mean {dict(options)[near]}?")
    if understood is not None:
        return understood
    return Problem(f"I didn't recognise “{_clip(text)}” as an option. {_how(q, ctx, answers)}")


# Words that join a choice to what is said about it: "mostly, there's one step", "no - the hall has steps".
_JOIN = re.compile(
    r"^(?:[\s,;:.!()–—-]+|\b(?:but|and|as|because|though|although|except|there'?s|there\s+is|there\s+are)\b)+", re.I
)


def _choice_in_words(q: Question, text: str, options: list[tuple[str, str]], answers: dict[str, Any]) -> Any:
    """A choice named in its first words, the rest kept: as the answer to `details_to` when that question
    follows this choice, otherwise the reading is asked back before it is stored."""
    words = text.replace("’", "'").split()
    for n in range(min(6, len(words) - 1), 0, -1):
        lead = " ".join(words[:n]).strip(",;:.!-–— ")
        value = match_choice(lead, options, aliases_for(q), exact=True)
        if value is None:
            continue
        rest = _JOIN.sub("", " ".join(words[n:])).strip()
        label = dict(options)[value]
        if not rest or match_choice(rest, options, aliases_for(q), exact=True) == value:
            return Understood(value)  # "yes, fully"
        details = _details_question(q)
        if details is not None and details.applies({**answers, q.id: value}):
            # Read as that question reads its answers (a plan of places by year, or words kept as typed).
            kept = _READERS[details.type](details, rest, AnswerContext(today=date.min), {**answers, q.id: value})
            if not isinstance(kept, Problem | Understood) and (
                check_answer(details, kept, AnswerContext(today=date.min), {**answers, q.id: value}) is None
            ):
                return Understood(
                    value,
                    note=md(
                        "I've kept “{}” as your answer to “{}” (type *back* to change it).",
                        _clip(format_answer(details, kept, AnswerContext(today=date.min)), 200),
                        details.ask,
                    ),
                    also={details.id: kept},
                )
        said = " ".join(words[n:]).strip(",;:.!-–— ")
        return Understood(value, confirm=f"Do you mean “{label}”? (Only the choice is saved, not “{_clip(said)}”.)")
    return None


def _details_question(q: Question) -> Question | None:
    from dialogs.questions import eoi_questions  # the question set the dialog runs on

    return eoi_questions().get(q.details_to) if q.details_to else None


# Separators between the items of a list: "ASD, MLD", "speech and language + SEMH", "ASD & HI", one per line.
_LONGEST_ITEM = 4  # pieces one item may span ("speech, language and communication"): keeps a long list linear
_LIST_SEPARATOR = re.compile(r"\s*(?:,|;|\+|&|/|\n|\band\b|\bplus\b)\s*", re.I)


def _split_list(
    text: str, options: list[tuple[str, str]], aliases: tuple[tuple[str, str], ...], *, slips: bool = False
) -> list[str] | str:
    """The items of a typed list, the longest that names a choice first, so "speech and language" (an alias
    with "and" in it) stays one item. Returns the first piece that names nothing when there is one. `slips`:
    an item may also be a choice misspelt ("speach and language"), for the caller to ask about."""
    bounds, start = [], 0
    for sep in _LIST_SEPARATOR.finditer(text):
        bounds.append((start, sep.start()))
        start = sep.end()
    bounds.append((start, len(text)))
    bounds = [(a, b) for a, b in bounds if text[a:b].strip()]
    chosen, i = [], 0
    while i < len(bounds):
        for j in range(min(len(bounds), i + _LONGEST_ITEM) - 1, i - 1, -1):
            item = text[bounds[i][0] : bounds[j][1]]
            value = match_choice(item, options, aliases)
            if value is None and slips:
                value = near_choice(item, options, aliases)
            if value is not None:
                chosen.append(value)
                i = j + 1
                break
        else:
            return text[bounds[i][0] : bounds[i][1]]
    return chosen


def _read_multi(q: Question, text: str, ctx: AnswerContext, answers: dict[str, Any]) -> Any:
    options = choices_for(q, ctx, answers)
    if text.casefold() in ("none", "no", "none of these", q.none_label.casefold(), "-"):
        if q.optional:
            return []
        return Problem(f"Please choose at least one. {_how(q, ctx, answers)}")
    if text.casefold().rstrip(".!") in ("all", "all of them", "all of these", "all of the above"):
        return [v for v, _ in options]
    aliases = aliases_for(q)
    found = _split_list(text, options, aliases)
    if isinstance(found, str) and _LIST_SEPARATOR.search(text) is None and " " in text.strip():
        found = _split_list(re.sub(r"\s+", ",", text.strip()), options, aliases)  # "ASD MLD" or "1 3"
    order = [v for v, _ in options]
    if isinstance(found, str):
        guessed = _split_list(text, options, aliases, slips=True)
        if isinstance(guessed, str) and _LIST_SEPARATOR.search(text) is None and " " in text.strip():
            guessed = _split_list(re.sub(r"\s+", ",", text.strip()), options, aliases, slips=True)
        if isinstance(guessed, str):
            return Problem(f"I didn't recognise “{_clip(found)}”. {_how(q, ctx, answers)}")
        chosen = sorted(set(guessed), key=order.index)
        said = ", ".join(dict(options)[v].split(":")[0] for v in chosen)
        return Understood(chosen, confirm=f"Do you mean {said}?")
    return sorted(set(found), key=order.index)


def _number_words() -> dict[str, int]:
    """Number words people type: twelve -> 12, twenty-four (or twenty four) -> 24, up to ninety-nine."""
    units = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven"]
    units += ["twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
    tens = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
    words = {word: n for n, word in enumerate(units)} | {"none": 0, "a dozen": 12}
    for n, ten in enumerate(tens, start=2):
        words[ten] = n * 10
        for u in range(1, 10):
            words[f"{ten}-{units[u]}"] = words[f"{ten} {units[u]}"] = n * 10 + u
    return words


NUMBER_WORDS = _number_words()
# Words around a number that make it a guess ("not sure, maybe ten?", "about 12", "15ish"): the number is read
# and asked back before it is stored.
_HEDGES = re.compile(
    r"\b(?:not\s+(?:100%\s+|totally\s+|entirely\s+)?sure|unsure|(?:i\s+)?don'?t\s+know|no\s+idea\s+but|i\s+think|"
    r"i\s+guess|i'?d\s+say|at\s+a\s+guess|maybe|perhaps|probably|possibly|about|around|roughly|approximately|"
    r"approx\.?|circa|c\.|something\s+like|or\s+so|give\s+or\s+take|ish|at\s+a\s+push|say)(?=\W|$)",
    re.I,
)
_ISH = re.compile(r"(?<=[0-9a-z])-?ish\b", re.I)
_NUMBER = re.compile(r"(\d{1,3}(?:,\d{3})+|\d{1,9})(?:\s*[a-z .]*)?", re.I)
_RANGE = re.compile(r"(\d{1,9}|[a-z]+(?:-[a-z]+)?)\s*(?:-|–|to|or)\s*(\d{1,9}|[a-z]+(?:-[a-z]+)?)", re.I)
_COUNTED = re.compile(
    r"\s+(?:places|place|pupils|children|kids|students)$|^(?:we\s+have|there\s+are|we\s+could\s+offer)\s+"
)


def _number_in(text: str) -> int | None:
    t = " ".join(text.split()).strip(" .,;:!?()-")
    t = _COUNTED.sub("", t)
    match = _NUMBER.fullmatch(t)
    if match:
        return int(match.group(1).replace(",", ""))
    return NUMBER_WORDS.get(t.casefold())


def _read_number(q: Question, text: str, ctx: AnswerContext, answers: dict[str, Any]) -> Any:
    t = " ".join(text.replace("’", "'").casefold().split())
    plain = _ISH.sub("", _HEDGES.sub(" ", t))
    plain = " ".join(plain.replace(",", " , ").split()).strip(" ,.;:!?()-")
    plain = re.sub(r"\s*,\s*(?=\d{3}\b)", ",", plain)  # "1,200" keeps its comma
    hedged = _HEDGES.search(t) is not None or _ISH.search(t) is not None
    value = _number_in(plain)
    if value is not None:
        return Understood(value, confirm=f"Do you mean {value:,}?") if hedged else value
    span = _RANGE.fullmatch(plain)
    if span and _number_in(span.group(1)) is not None and _number_in(span.group(2)) is not None:
        return Problem(
            f"“{_clip(text)}” gives more than one number; please give the one you propose, for example "
            f"{_number_in(span.group(2))}."
        )
    return Problem(f"“{_clip(text)}” isn't a whole number. {_how(q, ctx, answers)}")


def _read_date(q: Question, text: str, ctx: AnswerContext, answers: dict[str, Any]) -> Any:
    reading = read_date_answer(text, today=ctx.today, expects=q.date_expects(answers))
    if reading.day is None:
        if reading.problem:
            return Problem(reading.problem)
        return Problem(f"I couldn't read “{_clip(text)}” as a date. {_how(q, ctx, answers)}")
    value = date_to_store(reading)  # "2026-10" for "October": what was meant is what is kept
    if reading.doubt:
        return Understood(value, confirm=f"Do you mean {reading.doubt}?", note=reading.note)
    if reading.note:
        return Understood(value, note=reading.note)
    return value


# What a past or future date is, in the words of the question's expectation.
_EXPECTED_WORDS = {
    "past": "this asks when it happened, so it must be today or earlier",
    "future": "this asks when it will happen, so it must be today or later",
}


def _check_date(q: Question, value: str, ctx: AnswerContext, answers: dict[str, Any]) -> Problem | None:
    rules = q.dates
    example = f" For example {q.example}." if q.example else ""
    expects = q.date_expects(answers)
    d, said = stored_date(value), format_stored_date(value)
    # A month is past once it has begun, and still to come until it has ended: "November" on 30 November is both.
    if (expects == "past" and d > ctx.today) or (expects == "future" and last_day(value) < ctx.today):
        hint = format_date(ctx.today + relativedelta(weeks=-2 if expects == "past" else 2))
        return Problem(f"{said} won't do: {_EXPECTED_WORDS[expects]}. For example “{hint}”.")
    if rules.get("after") == "window_close":
        earliest = ctx.window_closes or ctx.today
        latest = earliest + relativedelta(years=int(rules.get("within_years", 3)))
        if d <= earliest:
            return Problem(
                f"{said} is too early: it must be after the window closes on {format_date(earliest)}.{example}"
            )
        if d > latest:
            return Problem(f"{said} is too far ahead: it must be by {format_date(latest)}.{example}")
    if "within_months" in rules:
        months = int(rules["within_months"])
        low, high = ctx.today - relativedelta(months=months), ctx.today + relativedelta(months=months)
        if not low <= d <= high:
            return Problem(
                f"{said} is more than {months} months away; please give a date between "
                f"{format_date(low)} and {format_date(high)}.{example}"
            )
    return None


def _read_text(q: Question, text: str, ctx: AnswerContext, answers: dict[str, Any]) -> Any:
    return re.sub(r"[ \t]+", " ", text).strip()


def _read_money(q: Question, text: str, ctx: AnswerContext, answers: dict[str, Any]) -> Any:
    amount, roughly = read_pounds(text)
    if amount is None:
        return Problem(f"I couldn't read “{_clip(text)}” as a sum of money. {_how(q, ctx, answers)}")
    return Understood(amount, confirm=f"Shall I put {pounds(amount)}?") if roughly else amount


def _read_places_plan(q: Question, text: str, ctx: AnswerContext, answers: dict[str, Any]) -> Any:
    plan = read_plan(text, answers)
    if isinstance(plan, str):
        return Problem(f"I couldn't read that plan: {plan}. {_how(q, ctx, answers)}")
    return plan


def _read_files(q: Question, text: str, ctx: AnswerContext, answers: dict[str, Any]) -> Any:
    # Files come with a message, not in its words: the dialog keeps them as they arrive (dialogs.attachments).
    return Problem(md("Please send the files here as attachments, or type *done* when you have sent them all."))


def _read_email(q: Question, text: str, ctx: AnswerContext, answers: dict[str, Any]) -> Any:
    candidate = text.strip().strip("<>").removeprefix("mailto:")
    if "|" in candidate:  # Slack sends <mailto:a@b|a@b>
        candidate = candidate.split("|", 1)[1]
    if len(candidate) > 254 or not EMAIL.match(candidate):
        return Problem(f"“{_clip(text)}” doesn't look like an email address. {_how(q, ctx, answers)}")
    return candidate.lower()


def _read_phone(q: Question, text: str, ctx: AnswerContext, answers: dict[str, Any]) -> Any:
    digits = re.sub(r"[\s().-]", "", text)
    if digits.startswith("+44"):
        digits = "0" + digits[3:].lstrip("0")
    if not re.fullmatch(r"0\d{9,10}", digits):
        return Problem(f"“{_clip(text)}” doesn't look like a UK phone number. {_how(q, ctx, answers)}")
    return digits


def format_answer(q: Question, value: Any, ctx: AnswerContext) -> str:
    if value is None:
        return "(not answered)"
    if q.type in ("single", "confirm", "yesno"):
        return dict(choices_for(q, ctx)).get(value, str(value))
    if q.type == "multi":
        if not value:
            return q.none_label
        labels = dict(choices_for(q, ctx))
        return ", ".join(labels.get(v, v).split(":")[0] for v in value)
    if q.type == "date":
        return format_stored_date(str(value))
    if q.type == "number":
        return f"{value:,}"
    if q.type == "phone":
        return format_phone(str(value))
    if q.type == "money":
        return pounds(int(value))
    if q.type == "places_by_year":
        return shown(value)
    if q.type == "files":
        return "; ".join(ctx.files.get(int(i), "(a file since removed)") for i in value) if value else "None"
    return str(value)


def format_phone(digits: str) -> str:
    """A UK number grouped as people write it (stored as digits): "01245 123456", "020 7946 0000",
    "0118 496 0000", "07700 900123", "0300 123 4567"."""
    if not re.fullmatch(r"0\d{9,10}", digits) or len(digits) != 11:
        return digits
    if digits.startswith("02"):
        return f"{digits[:3]} {digits[3:7]} {digits[7:]}"
    if re.match(r"01\d1|011", digits) or digits.startswith(("03", "08", "09")):
        return f"{digits[:4]} {digits[4:7]} {digits[7:]}"
    return f"{digits[:5]} {digits[5:]}"


def _clip(text: str, n: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


_READERS = {
    "single": _read_choice,
    "confirm": _read_choice,
    "yesno": _read_choice,
    "multi": _read_multi,
    "number": _read_number,
    "date": _read_date,
    "short_text": _read_text,
    "long_text": _read_text,
    "email": _read_email,
    "phone": _read_phone,
    "money": _read_money,
    "places_by_year": _read_places_plan,
    "files": _read_files,
}
