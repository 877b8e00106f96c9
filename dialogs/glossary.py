"""The words users know (RP, PP, the need types and places: storage/vocabulary.py), and the gentle correction
for "enhanced provision"."""

from __future__ import annotations

import re

from dialogs.rich import Text, md
from storage.vocabulary import DISTRICTS, NEED_TYPES, PHASES, QUADRANTS

__all__ = ["DISTRICTS", "NEED_TYPES", "PHASES", "QUADRANTS"]  # the register's words, shown by the dialogs

# Everyday words for the need types, so "autism" or "dyslexia" is understood as well as the code.
NEED_ALIASES: tuple[tuple[str, str], ...] = (
    ("autism", "ASD"),
    ("autistic", "ASD"),
    ("asc", "ASD"),
    ("autism spectrum condition", "ASD"),
    ("speech and language", "SLCN"),
    ("speech, language and communication", "SLCN"),
    ("social emotional and mental health", "SEMH"),
    ("social, emotional and mental health", "SEMH"),
    ("mental health", "SEMH"),
    ("dyslexia", "SpLD"),
    ("dyscalculia", "SpLD"),
    ("deaf", "HI"),
    ("hearing", "HI"),
    ("blind", "VI"),
    ("sight", "VI"),
    ("deafblind", "MSI"),
    ("physical", "PD"),
)
# The EOI asks about these (EOI-QUESTIONS.md); PMLD and OTH are never commissioned as a primary need here.
EOI_NEED_TYPES = ("ASD", "SLCN", "SEMH", "MLD", "SpLD", "SLD", "HI", "VI", "MSI", "PD")

KEY_STAGES_BY_PHASE: dict[str, tuple[str, ...]] = {
    "primary": ("EYFS", "KS1", "KS2"),
    "secondary": ("KS3", "KS4", "Post-16"),
    "all-through": ("EYFS", "KS1", "KS2", "KS3", "KS4", "Post-16"),
}

PROVISION_NAMES = {"resourced": "Resourced Provision", "partnership": "Partnership Provision"}


ENHANCED = re.compile(r"\benhanced\s+(?:resource\s+)?provisions?\b", re.IGNORECASE)
# Other names people use for what ECC commissions as a Resourced Provision. Since 2026 the Department for Education
# calls all of them "inclusion bases".
OTHER_NAMES = re.compile(
    r"\b(?:inclusion\s+bases?|SEND?\s+units?|specialist\s+resource(?:d)?\s+(?:bases?|provisions?)|"
    r"additionally\s+resourced\s+provisions?|SRBs?|SRPs?|ARPs?)\b",
    re.IGNORECASE,
)
NAME_CHANGE = (
    "Since 2026 the Department for Education calls provision like this an “inclusion base”: one name for what "
    "were SEN units, resource bases (SRB, SRP, ARP) and resourced provision. ECC commissions it as a Resourced "
    "Provision, the name this EOI uses."
)

ENHANCED_PROVISION_NOTE = md(
    "“Enhanced Provision” is the old term; Essex no longer uses it. Today it is a *Resourced Provision* "
    "(places in a mainstream school for pupils with an EHCP, and possibly pupils on SEN Support) or, for "
    "SEMH, a *Partnership Provision* (children stay on roll at their own school and attend for a "
    "time-limited placement)."
)


def other_name_note(name: str) -> Text:
    return md("“{}” is what ECC commissions as a *Resourced Provision*. {}", name, NAME_CHANGE)


PROVISION_HELP = md(
    "*Resourced Provision (RP)*: places reserved in a mainstream school for pupils who need specialist "
    "provision: pupils with an EHCP, and it may include pupils on SEN Support (Code K). Commissioned by ECC; "
    "place-funded plus a per-pupil top-up.\n"
    "*Partnership Provision (PP)*: an SEMH resourced provision; children stay on roll at their own school and "
    "attend for a time-limited placement. Place-funded.\n{}",
    NAME_CHANGE,
)


def need_label(code: str) -> str:
    return f"{code}: {NEED_TYPES.get(code, code)}"


def mentions_enhanced_provision(text: str) -> bool:
    return bool(ENHANCED.search(text))


def name_notes(text: str, *, answering: bool = False) -> list[Text]:
    """What is said when someone uses an old or other name for the provision: which current term applies. The
    old term is always corrected; another current name only outside an answer (a vision that mentions the
    school's SEN unit is not about the name)."""
    if mentions_enhanced_provision(text):
        return [ENHANCED_PROVISION_NOTE]
    found = None if answering else OTHER_NAMES.search(text)
    return [other_name_note(" ".join(found.group(0).split()))] if found else []
