"""Sums of money in pounds, as headteachers type them: "£45,000", "45k", "about £1.2m", "nothing"."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

# "£45,000", "45000", "45k", "£1.2m", "1.5 million", "45,000 pounds", "£45k+"
_AMOUNT = re.compile(
    r"^£?\s*(?P<number>\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)\s*(?P<scale>k|thousand|m|million|mn)?\s*"
    r"(?:pounds?|gbp|quid)?\s*\+?$",
    re.I,
)
_SCALES = {"k": 1_000, "thousand": 1_000, "m": 1_000_000, "million": 1_000_000, "mn": 1_000_000}
_NOTHING = ("nothing", "none", "nil", "zero", "no cost", "free", "£0", "0")
# Words that make a sum a guess, asked back before it is kept ("about £40k").
_ROUGHLY = re.compile(
    r"^(?:about|around|roughly|approximately|approx\.?|circa|c\.|maybe|perhaps|probably|up to|under|"
    r"less than|no more than|at most|in the region of|somewhere around|estimated|est\.?)\s+",
    re.I,
)


def read_pounds(text: str) -> tuple[int | None, bool]:
    """(whole pounds, whether the words made it a guess); (None, _) when the text isn't a sum of money."""
    t = " ".join(text.replace("’", "'").split()).strip(" .!?").casefold()
    roughly = False
    while (match := _ROUGHLY.match(t)) is not None:
        roughly, t = True, t[match.end() :]
    t = re.sub(r"\s*(?:ish|or so|give or take)$", "", t)
    if t in _NOTHING:
        return 0, roughly
    match = _AMOUNT.match(t)
    if match is None:
        return None, roughly
    try:
        number = Decimal(match.group("number").replace(",", ""))
    except InvalidOperation:
        return None, roughly
    scale = _SCALES.get((match.group("scale") or "").casefold(), 1)
    pounds = number * scale
    if pounds != pounds.to_integral_value():
        return None, roughly  # "£12.50": the question asks for whole pounds
    return int(pounds), roughly


def pounds(amount: int) -> str:
    """£45,000."""
    return f"£{amount:,}"
