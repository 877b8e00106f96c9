"""What the register says of a school (the national register's facts), as the questions use them and as people
read them: shown once to the head at the start of an EOI, and to officers in `show`."""

from __future__ import annotations

from typing import Any

from dialogs.dates import format_date
from storage.models import School
from storage.vocabulary import TYPE_GROUP_NAMES, TYPE_GROUPS


def type_group(school: School) -> str:
    """academy | free_school | maintained, or "" when the register doesn't say."""
    return TYPE_GROUPS.get(school.establishment_group, "")


def for_questions(school: School) -> dict[str, Any]:
    """The facts a question may depend on (dialogs.questions.FACTS), by their names there."""
    return {"school.type_group": type_group(school)}


def _kind(school: School) -> str:
    kind = school.establishment_type.strip() or TYPE_GROUP_NAMES.get(type_group(school), "")
    # The register's own words ("Academy converter") read as a description, lower case but for names.
    return kind[:1].lower() + kind[1:] if kind else ""


def _roll(school: School) -> str:
    if school.pupils is not None and school.capacity:
        return f"{school.pupils:,} on roll of {school.capacity:,} places"
    return f"{school.pupils:,} on roll" if school.pupils is not None else ""


def _ages(school: School) -> str:
    low, high = school.statutory_low_age, school.statutory_high_age
    return f"ages {low} to {high}" if low is not None and high is not None else ""


def described(school: School) -> str:
    """ "We have Meadow Primary as a community school, ages 4 to 11, 412 on roll of 420 places: tell an officer if
    that is wrong." "" when the register has no facts for it."""
    kind = _kind(school)
    if not kind:
        return ""
    article = "an" if kind[0] in "aeiou" else "a"
    parts = [f"{article} {kind}" + (f" in {school.trust}" if school.trust else ""), _ages(school), _roll(school)]
    return f"We have {school.name} as {', '.join(p for p in parts if p)}: tell an officer if that is wrong."


def for_officers(school: School) -> list[tuple[str, str]]:
    """The register's facts as `show` lists them, those it has."""
    inspected = ""
    if school.ofsted_rating or school.ofsted_inspected:
        when = format_date(school.ofsted_inspected) if school.ofsted_inspected else ""
        inspected = ", ".join(p for p in (school.ofsted_rating, when) if p)
    facts = [
        ("School type", school.establishment_type or TYPE_GROUP_NAMES.get(type_group(school), "")),
        ("Trust", school.trust),
        ("Ages", _ages(school).removeprefix("ages ")),
        ("Pupils", _roll(school)),
        ("Ofsted", inspected),
        ("Postcode", school.postcode),
    ]
    return [(label, value) for label, value in facts if value]
