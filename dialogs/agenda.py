"""The discussion's agenda, as data (dialogs/discussion_agenda.yaml): the operational standards and service
level agreement topics ECC covers with a shortlisted school, who should come, and how a topic is named when an
officer records its outcome."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

AGENDA_FILE = Path(__file__).with_name("discussion_agenda.yaml")
OFFERS = ("resourced", "partnership")


@dataclass(frozen=True)
class Topic:
    id: str
    title: str
    explains: dict[str, str]  # by offer ("resourced", "partnership"); the same text under both when they agree
    aliases: tuple[str, ...] = ()

    def explanation(self, offer: str) -> str:
        return self.explains.get(offer) or self.explains[OFFERS[0]]


@dataclass(frozen=True)
class Agenda:
    title: str
    topics: tuple[Topic, ...]
    school_roles: tuple[str, ...]
    ecc_roles: tuple[str, ...]

    def topic(self, words: str) -> Topic | None:
        """The topic an officer named: its id, its number on the agenda, its title or one of its aliases."""
        wanted = " ".join(words.casefold().split())
        if wanted.isdecimal() and 1 <= int(wanted) <= len(self.topics):
            return self.topics[int(wanted) - 1]
        for topic in self.topics:
            if wanted in (topic.id, topic.title.casefold(), *topic.aliases):
                return topic
        return None

    def names(self) -> list[str]:
        """Every way a topic can be named, longest first (so "partnership working" wins over "partnership")."""
        found = {w for t in self.topics for w in (t.id, t.title.casefold(), *t.aliases)}
        return sorted(found, key=len, reverse=True)


def _explains(raw: object, topic_id: str) -> dict[str, str]:
    if isinstance(raw, str):
        return dict.fromkeys(OFFERS, " ".join(raw.split()))
    if isinstance(raw, dict) and set(raw) <= set(OFFERS) and raw:
        return {offer: " ".join(str(raw.get(offer) or next(iter(raw.values()))).split()) for offer in OFFERS}
    raise ValueError(f"{AGENDA_FILE.name}: topic {topic_id!r} needs 'explains': a text, or one per {OFFERS}")


def load_agenda(path: Path = AGENDA_FILE) -> Agenda:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    topics = []
    for raw in data["topics"]:
        topic_id = str(raw["id"])
        aliases = tuple(" ".join(str(a).casefold().split()) for a in raw.get("aliases", ()))
        topics.append(Topic(topic_id, str(raw["title"]), _explains(raw.get("explains"), topic_id), aliases))
    agenda = Agenda(
        title=str(data["title"]),
        topics=tuple(topics),
        school_roles=tuple(data["attendees"]["school"]),
        ecc_roles=tuple(data["attendees"]["ecc"]),
    )
    # A name that picked two topics would record an outcome against the wrong one: refuse to load instead.
    seen: dict[str, str] = {}
    for topic in agenda.topics:
        for name in {topic.id, topic.title.casefold(), *topic.aliases}:
            if seen.setdefault(name, topic.id) != topic.id:
                raise ValueError(f"{path.name}: {name!r} names both {seen[name]!r} and {topic.id!r}")
    return agenda


@cache
def agenda() -> Agenda:
    return load_agenda()
