"""The simulated county: a fictional register of schools in the 12 districts, the need for the window, and
how each school can be reached. Everything is drawn from the seed, so a seed names one county."""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass

from storage.register import SCHOOL_COLUMNS
from storage.vocabulary import DISTRICTS

FIRST_URN = 300000
# How schools are reached (weights). Essex schools mostly run Microsoft 365, so Teams is the common case; some
# trusts use Slack, a few both; some have neither set up yet and are written to at the register's email address,
# and a few have no address on the register either: those must be listed to officers.
REACH = (("teams", 50), ("slack", 18), ("both", 10), ("email", 14), ("none", 8))
PHASES = (("primary", 70), ("secondary", 22), ("all-through", 8))
NEED_HEADER = ["quadrant", "district", "phase", "need_type", "provision_type", "places", "priority", "notes"]


@dataclass
class School:
    urn: str
    name: str
    phase: str
    quadrant: str
    district: str
    reach: str  # teams | slack | both | email | none

    @property
    def email(self) -> str:
        return "" if self.reach == "none" else f"head{self.urn}@sim-school.example"

    @property
    def chat(self) -> bool:
        """The head can be reached, and answer, in Slack or Teams."""
        return self.reach in ("teams", "slack", "both")

    @property
    def slack_channel(self) -> str:
        return f"C0SIM{self.urn}" if self.reach in ("slack", "both") else ""

    @property
    def teams_channel(self) -> str:
        return f"19:sim{self.urn}@thread.tacv2" if self.reach in ("teams", "both") else ""

    @property
    def slack_user(self) -> str:
        return f"U0HEAD{self.urn}" if self.reach in ("slack", "both") else ""

    @property
    def teams_user(self) -> str:
        return f"29:1head{self.urn}" if self.reach in ("teams", "both") else ""


@dataclass
class NeedRow:
    quadrant: str
    district: str  # "" for the whole quadrant
    phase: str
    need_type: str
    provision_type: str
    places: int
    priority: str

    def covers(self, school: School) -> bool:
        """The product's rule (storage.windows.covers; README, "Windows, need and announcements"): the need
        covers the school's quadrant or district, and its phase (an all-through school is in scope of primary and
        secondary need)."""
        place = school.district == self.district if self.district else school.quadrant == self.quadrant
        phase = school.phase == self.phase or school.phase == "all-through" or self.phase == "all-through"
        return place and phase


def _weighted(rng: random.Random, table: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([k for k, _ in table], weights=[w for _, w in table])[0]


def make_schools(rng: random.Random, count: int) -> list[School]:
    districts = list(DISTRICTS)
    schools = []
    for i in range(count):
        district = districts[i % len(districts)]
        urn = str(FIRST_URN + i)
        schools.append(
            School(
                urn=urn,
                name=f"Sim School {urn}",
                phase=_weighted(rng, PHASES),
                quadrant=DISTRICTS[district],
                district=district,
                reach=_weighted(rng, REACH),
            )
        )
    return schools


def make_need(rng: random.Random) -> list[NeedRow]:
    """Need in about two thirds of the districts (so some schools are out of scope), primary ASD/SLCN as RP and
    secondary SEMH as PP, as ECC's sufficiency data tends to show."""
    rows = []
    for district, quadrant in DISTRICTS.items():
        if rng.random() < 0.7:
            rows.append(
                NeedRow(
                    quadrant,
                    district,
                    "primary",
                    rng.choice(["ASD", "SLCN"]),
                    "resourced",
                    rng.choice([8, 12, 16]),
                    rng.choice(["high", "medium"]),
                )
            )
        if rng.random() < 0.5:
            rows.append(NeedRow(quadrant, district, "secondary", "SEMH", "partnership", rng.choice([8, 12]), "high"))
    return rows


def register_csv(schools: list[School]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(SCHOOL_COLUMNS)
    for s in schools:
        writer.writerow(
            [
                s.urn,
                s.name,
                s.phase,
                s.quadrant,
                s.district,
                f"Head Teacher {s.urn}",
                s.email,
                s.slack_channel,
                s.teams_channel,
            ]
        )
    return out.getvalue()


def need_csv(rows: list[NeedRow]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(NEED_HEADER)
    for r in rows:
        writer.writerow(
            [r.quadrant, r.district, r.phase, r.need_type, r.provision_type, r.places, r.priority, "simulated"]
        )
    return out.getvalue()


def in_scope(schools: list[School], need: list[NeedRow]) -> list[School]:
    return [s for s in schools if any(n.covers(s) for n in need)]
