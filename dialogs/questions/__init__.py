"""The EOI questions as data (eoi.yaml), loaded into typed records."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from dialogs.dates import EXPECTS, stored_date

QUESTIONS_FILE = Path(__file__).with_name("eoi.yaml")
TYPES = {
    *("single", "multi", "yesno", "number", "date", "short_text", "long_text", "email", "phone", "confirm"),
    *("money", "places_by_year", "files"),
}
SOURCES = {"need_types", "key_stages", "priority_needs"}
# What the register says of the school, which a question may depend on like an earlier answer (a trust's sign-off
# is asked of academies and free schools): known before the first question, kept with the answers as they were
# when last answered (dialogs.eoi_dialog.school_facts), "" when the register doesn't say.
FACTS = frozenset({"school.type_group"})


@dataclass(frozen=True)
class Question:
    id: str
    ask: str
    type: str
    label: str = ""
    why: str = ""
    help: str = ""
    choices: tuple[tuple[str, str], ...] = ()  # (value, label)
    aliases: tuple[tuple[str, str], ...] = ()  # (what people also type, value), e.g. ("RP", "resourced")
    choices_from: str = ""
    except_answer: str = ""  # leave out the option an earlier answer (this id) chose
    optional: bool = False
    min: int | None = None
    max: int | None = None
    range_when: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    ask_when: dict[str, Any] = field(default_factory=dict)
    skip_when: dict[str, Any] = field(default_factory=dict)
    value_when_skipped: Any = None
    dates: dict[str, Any] = field(default_factory=dict)
    default_from: str = ""
    none_label: str = "None"
    example: str = ""
    # Offer only the options whose facts agree with these earlier answers (a priority need row offered for a
    # Resourced Provision for ASD only to a school offering that).
    choices_match: tuple[str, ...] = ()
    # Other words for the question, by an earlier answer: {answer_id: {value: ask}} (the declaration says
    # what the governing body has actually done).
    ask_by_answer: dict[str, dict[str, str]] = field(default_factory=dict)
    # A later question that holds the words typed after a choice ("mostly, one step into the KS1 block":
    # Partly, and the rest is what would need to change).
    details_to: str = ""
    # A date question's name once its answer is still to come ("Planned for", where "Discussed on" would say
    # it has happened).
    label_when_future: str = ""
    # Options offered only when a condition holds, by value ({"not_applicable": {"school.type_group": ""}}).
    choice_when: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Earlier answers this one is checked against (places by year must add up to `places`).
    checked_against: tuple[str, ...] = ()
    # The question set's version that added it: an export keeps version 1's columns where they were, and puts
    # later questions' columns at the end.
    version: int = 1

    @property
    def depends_on(self) -> frozenset[str]:
        """The answers this question's asking, choices, limits or words depend on: when one of them changes,
        this question's answer is checked again."""
        ids = {*self.ask_when, *self.skip_when, *self.range_when, *self.choices_match, *self.ask_by_answer}
        ids |= set(self.dates.get("expects_by_answer", {})) | set(self.checked_against)
        ids |= {answer_id for condition in self.choice_when.values() for answer_id in condition}
        if self.except_answer:
            ids.add(self.except_answer)
        return frozenset(ids)

    def goes_with(self, other: Question) -> bool:
        """Whether `other` is asked because of this answer (its details, or asked only after some choices):
        when this answer is asked again, so is that one."""
        return other.id == self.details_to or self.id in {*other.ask_when, *other.skip_when}

    def label_for(self, value: Any, today: date) -> str:
        """The question's short name for this answer: `label_when_future` for a date after `today` (a month
        that has not begun)."""
        if self.label_when_future and isinstance(value, str) and value[:4].isdecimal():
            try:
                if stored_date(value) > today:
                    return self.label_when_future
            except ValueError:
                pass
        return self.label

    def ask_for(self, answers: dict[str, Any]) -> str:
        for answer_id, by_value in self.ask_by_answer.items():
            words = by_value.get(str(answers.get(answer_id)))
            if words:
                return words
        return self.ask

    def date_expects(self, answers: dict[str, Any]) -> str:
        """What a date question expects given the answers so far: month | future | past | past_or_future."""
        for answer_id, by_value in self.dates.get("expects_by_answer", {}).items():
            expected = by_value.get(str(answers.get(answer_id)))
            if expected:
                return str(expected)
        return str(self.dates.get("expects", ""))

    def applies(self, answers: dict[str, Any]) -> bool:
        if self.ask_when and not _matches(self.ask_when, answers):
            return False
        return not (self.skip_when and _matches(self.skip_when, answers))

    def offers(self, value: str, answers: dict[str, Any]) -> bool:
        """Whether the option `value` is offered, given the answers so far (its `when`, if it has one)."""
        condition = self.choice_when.get(value)
        return condition is None or _matches(condition, answers)

    def limits(self, answers: dict[str, Any]) -> tuple[int | None, int | None]:
        for answer_id, by_value in self.range_when.items():
            rng = by_value.get(str(answers.get(answer_id)))
            if rng:
                return rng[0], rng[1]
        return self.min, self.max


def _matches(condition: dict[str, Any], answers: dict[str, Any]) -> bool:
    for answer_id, wanted in condition.items():
        options = wanted if isinstance(wanted, list) else [wanted]
        if answers.get(answer_id, "" if answer_id in FACTS else None) not in options:
            return False
    return True


@dataclass(frozen=True)
class QuestionSet:
    questions: tuple[Question, ...]
    declaration: Question

    def get(self, question_id: str) -> Question | None:
        if question_id == self.declaration.id:
            return self.declaration
        return next((q for q in self.questions if q.id == question_id), None)

    def applicable(self, answers: dict[str, Any]) -> list[Question]:
        return [q for q in self.questions if q.applies(answers)]

    def is_follow_up(self, q: Question) -> bool:
        """Asked or skipped by an earlier answer other than the first (which sets the form's shape): numbered
        as part of the question before it ("Question 9a"), so the count of questions doesn't move."""
        conditions = {*q.ask_when, *q.skip_when} - FACTS  # the register's facts set the form's shape too
        return bool(conditions) and self.questions[0].id not in conditions

    def numbered(self, answers: dict[str, Any]) -> tuple[dict[str, str], int]:
        """Each applicable question's number ("7", or "9a" for a follow-up), and how many main questions."""
        numbers: dict[str, str] = {}
        main, letter = 0, 0
        for q in self.applicable(answers):
            if self.is_follow_up(q) and main:
                letter += 1
                numbers[q.id] = f"{main}{chr(ord('a') + letter - 1)}"
            else:
                main, letter = main + 1, 0
                numbers[q.id] = str(main)
        return numbers, main

    def dependents(self, question_id: str) -> list[Question]:
        """Every question whose answer may stop holding when `question_id`'s answer changes, directly or
        through another answer, in the order they are asked."""
        changed, found = {question_id}, []
        first = self.get(question_id)
        details = {first.details_to} if first and first.details_to else set()  # the words typed with a choice
        for q in self.questions:  # dependencies point backwards (checked at load), so one pass is enough
            if q.depends_on & changed or q.id in details:
                found.append(q)
                changed.add(q.id)
                details.add(q.details_to)
        return found

    def effective_answers(self, answers: dict[str, Any]) -> dict[str, Any]:
        """What is submitted: answers to questions that apply, plus the values fixed by skip rules (and the
        register's facts given, which the choices offered may still depend on)."""
        result: dict[str, Any] = {k: v for k, v in answers.items() if k in FACTS}
        for q in self.questions:
            if q.applies(answers):
                if q.id in answers:
                    result[q.id] = answers[q.id]
            elif q.skip_when and q.value_when_skipped is not None and _matches(q.skip_when, answers):
                result[q.id] = q.value_when_skipped
        return result


def _question(raw: dict[str, Any]) -> Question:
    data = dict(raw)
    if data.get("type") not in TYPES:
        raise ValueError(f"question {data.get('id')!r}: type must be one of {sorted(TYPES)}")
    if data.get("choices_from") and data["choices_from"] not in SOURCES:
        raise ValueError(f"question {data['id']!r}: choices_from must be one of {sorted(SOURCES)}")
    choices = data.get("choices", [])
    data["choices"] = tuple((str(c["value"]), str(c["label"])) for c in choices)
    data["aliases"] = tuple((str(a), str(c["value"])) for c in choices for a in c.get("aliases", []))
    data["choice_when"] = {str(c["value"]): dict(c["when"]) for c in choices if c.get("when")}
    data["choices_match"] = tuple(data.get("choices_match", ()))
    data["checked_against"] = tuple(data.get("checked_against", ()))
    dates = data.get("dates") or {}
    by_answer = dates.get("expects_by_answer", {}).values()
    expected = [dates.get("expects", "past_or_future"), *(v for by in by_answer for v in by.values())]
    if any(e not in EXPECTS for e in expected):
        raise ValueError(f"question {data['id']!r}: dates expects must be one of {list(EXPECTS)}")
    data.setdefault("label", data["id"].replace("_", " ").capitalize())
    return Question(**data)


def load_questions(path: Path = QUESTIONS_FILE) -> QuestionSet:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    questions = tuple(_question(q) for q in raw["questions"])
    ids = [q.id for q in questions]
    if len(ids) != len(set(ids)):
        raise ValueError("question ids must be unique")
    declaration = _question(raw["declaration"])
    for position, q in enumerate([*questions, declaration]):
        # A question may depend only on answers asked before it: then the dialog's order is also the order
        # in which a change is re-checked, and asking again never loops.
        later = sorted(q.depends_on - set(ids[:position]) - FACTS)
        if later:
            raise ValueError(f"question {q.id!r} depends on {later}, which are not asked before it")
        if q.details_to and q.details_to not in ids[position + 1 :]:
            raise ValueError(f"question {q.id!r}: details_to {q.details_to!r} must be a question asked after it")
    return QuestionSet(questions=questions, declaration=declaration)


@cache
def eoi_questions() -> QuestionSet:
    return load_questions()
