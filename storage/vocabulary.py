"""The register's vocabulary, in ECC's own words: need types, phases, and Essex's quadrants and districts.

Kept with the record, not the conversation: the register and the need rows are checked against these words
(storage/register.py) and the dialogs show them (dialogs/glossary.py re-exports them).
"""

from __future__ import annotations

from datetime import date

NEED_TYPES: dict[str, str] = {
    "ASD": "Autistic Spectrum Disorder",
    "SLCN": "Speech, Language and Communication Needs",
    "SEMH": "Social, Emotional and Mental Health",
    "MLD": "Moderate Learning Difficulty",
    "SpLD": "Specific Learning Difficulty",
    "SLD": "Severe Learning Difficulty",
    "PMLD": "Profound and Multiple Learning Difficulty",
    "HI": "Hearing Impairment",
    "VI": "Visual Impairment",
    "MSI": "Multi-Sensory Impairment",
    "PD": "Physical Disability",
    "OTH": "Other Difficulty or Disability",
}

QUADRANTS: dict[str, tuple[str, ...]] = {
    "North East": ("Colchester", "Tendring"),
    "Mid": ("Braintree", "Chelmsford", "Maldon"),
    "South": ("Basildon", "Brentwood", "Castle Point", "Rochford"),
    "West": ("Epping Forest", "Harlow", "Uttlesford"),
}
DISTRICTS: dict[str, str] = {d: q for q, ds in QUADRANTS.items() for d in ds}
PHASES = ("primary", "secondary", "all-through")

# The national register's establishment type groups, as the questions name them (school.type_group): an academy
# or free school answers to its trust as well as its governors.
TYPE_GROUPS: dict[str, str] = {
    "Local authority maintained schools": "maintained",
    "Academies": "academy",
    "Free Schools": "free_school",
}
TYPE_GROUP_NAMES: dict[str, str] = {
    "maintained": "maintained school",
    "academy": "academy",
    "free_school": "free school",
}


def academic_year(first: int) -> str:
    """ "2027/28": the academic year that begins in September of `first`, as ECC writes it."""
    return f"{first}/{(first + 1) % 100:02d}"


def academic_year_of(day: date) -> str:
    """The academic year `day` falls in: September to August."""
    return academic_year(day.year if day.month >= 9 else day.year - 1)
