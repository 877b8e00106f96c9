"""How a provision's places build up, year by year: "2027/28: 6, 2028/29: 12".

Stored as [["2027/28", 6], ["2028/29", 12]]: the academic years in order, each with the places open that year.
The plan must begin in the academic year the provision opens (the `start` answer), run in consecutive years,
rise every year, and reach the places proposed (the `places` answer) in its last year."""

from __future__ import annotations

import itertools
import re
from typing import Any

from storage.report import academic_year_of_answer
from storage.vocabulary import academic_year

# "2027/28", "2027-28", "2027 to 2028", "2027/2028"
_YEAR = re.compile(r"\b(20\d\d)\s*(?:/|-|–|to)\s*(?:20)?(\d\d)\b")
# "year 1", "the first year", "yr 2"
_NTH = re.compile(r"\b(?:year|yr)\s*(\d)\b|\b(first|second|third|fourth|fifth)\s+year\b", re.I)
_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5}
_PIECES = re.compile(r"\s*(?:[,;\n]|\bthen\b|\band\b)\s*", re.I)
_WHOLE = re.compile(r"\b\d{1,3}\b")
MAX_YEARS = 5

EXAMPLE = '"2027/28: 6, 2028/29: 12"'


def opening_year(start: Any) -> int | None:
    """The academic year (by its first calendar year) of the `start` answer: September to August."""
    year = academic_year_of_answer(start)
    return int(year[:4]) if year else None


def read_plan(text: str, answers: dict[str, Any]) -> list[list[Any]] | str:
    """The plan typed, or what is wrong with how it is written (the caller adds the example)."""
    first = opening_year(answers.get("start"))
    plan: list[list[Any]] = []
    for piece in (p for p in _PIECES.split(text) if p and p.strip(" .")):
        year_match = _YEAR.search(piece)
        if year_match is not None:
            begins = int(year_match.group(1))
            if (begins + 1) % 100 != int(year_match.group(2)):
                return f"“{year_match.group(0)}” isn't an academic year (they run like 2027/28)"
            rest = piece[: year_match.start()] + " " + piece[year_match.end() :]
        else:
            nth = _NTH.search(piece)
            if nth is None:
                return f"I couldn't find an academic year in “{piece.strip()}”"
            if first is None:
                return "I don't know the year the provision opens yet, so please name the academic years"
            begins = first + (int(nth.group(1)) if nth.group(1) else _ORDINALS[nth.group(2).casefold()]) - 1
            rest = piece[: nth.start()] + " " + piece[nth.end() :]
        numbers = _WHOLE.findall(rest)
        if len(numbers) != 1:
            return f"please give one number of places for {academic_year(begins)}"
        plan.append([academic_year(begins), int(numbers[0])])
    if not plan:
        return "I couldn't find any years in that"
    return plan


def problem_with(plan: list[list[Any]], answers: dict[str, Any]) -> str:
    """What is wrong with a plan given the other answers, in words; "" when it holds."""
    years = [int(str(year)[:4]) for year, _ in plan]
    places = [int(n) for _, n in plan]
    if len(plan) < 2:
        return "that is one year: if all the places open at once, choose “All at once” instead (type back to change it)"
    if len(plan) > MAX_YEARS:
        return f"please build up over at most {MAX_YEARS} years"
    if any(b != a + 1 for a, b in itertools.pairwise(years)):
        return "the years must follow on, one after another, like 2027/28 then 2028/29"
    first = opening_year(answers.get("start"))
    if first is not None and years[0] != first:
        return f"the provision opens in {academic_year(first)}, so the plan must begin then"
    if any(b <= a for a, b in itertools.pairwise(places)) or places[0] < 1:
        return "the places must rise each year"
    proposed = answers.get("places")
    if isinstance(proposed, int) and places[-1] != proposed:
        return f"the last year must reach the {proposed} places you proposed (this plan reaches {places[-1]})"
    return ""


def shown(plan: Any) -> str:
    """2027/28: 6, 2028/29: 12."""
    if not isinstance(plan, list):
        return str(plan)
    return ", ".join(f"{year}: {n}" for year, n in plan)
