"""Two turns on the same EOI at once (a double click, two members of staff, two replicas) on PostgreSQL, where
sessions really do run side by side: one turn per EOI at a time, the second seeing what the first did.

SQLite is not run here: its writers take turns already (storage.db), so these races cannot happen there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import pytest
from sqlalchemy import func, select, text

from bot.service import Service
from dialogs import conversation_state, eoi_dialog
from dialogs.conversation_state import Answering
from dialogs.turns import Turn
from storage import eois, people
from storage.models import EOI, AuditEntry, Notice, Person
from tests.chat import RESOURCED_ANSWERS, Chat, headteacher
from tests.conftest import PG_URL, POSTGRES

pytestmark = pytest.mark.skipif(not POSTGRES, reason="PostgreSQL not answering")


@pytest.fixture
def backend() -> str:
    return "postgres"


class SideBySide:
    """Makes two turns meet once each has loaded the EOI: each waits until the other has loaded it too, or is
    waiting for PostgreSQL to let it (a row lock). Without a lock both then act on the same state, as two
    replicas can; with one, the first goes ahead while the second waits for its commit."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, *where: tuple[object, str], turns: int = 2) -> None:
        self.turns = turns
        self.pids: dict[asyncio.Task[Any], int] = {}
        self.arrived: set[asyncio.Task[Any]] = set()
        real_identify = people.identify

        async def identify(session: Any, **kwargs: Any) -> Any:
            self.pids[_task()] = await session.scalar(text("select pg_backend_pid()"))
            return await real_identify(session, **kwargs)

        monkeypatch.setattr(people, "identify", identify)
        for module, name in where or [(eoi_dialog, n) for n in ("on_text", "on_action", "answer_from_form")]:
            monkeypatch.setattr(module, name, self._meeting(getattr(module, name)))

    def _meeting(self, real: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def met(*args: Any, **kwargs: Any) -> Any:
            await self._meet()
            return await real(*args, **kwargs)

        return met

    async def _meet(self) -> None:
        me = _task()
        self.arrived.add(me)
        watcher = await asyncpg.connect(PG_URL.replace("+asyncpg", ""))
        try:
            for _ in range(2000):  # a safety valve only: each turn gets there in a few milliseconds
                others = [task for task in self.pids if task is not me]
                ready = [
                    task in self.arrived or task.done() or await _waits_for_a_lock(watcher, self.pids[task])
                    for task in others
                ]
                if len(others) == self.turns - 1 and all(ready):
                    return
                await asyncio.sleep(0.005)
        finally:
            await watcher.close()


def _task() -> asyncio.Task[Any]:
    task = asyncio.current_task()
    assert task is not None
    return task


async def _waits_for_a_lock(watcher: asyncpg.Connection, pid: int) -> bool:
    return await watcher.fetchval("select wait_event_type = 'Lock' from pg_stat_activity where pid = $1", pid) is True


async def _count(service: Service, model: type, *where: object) -> int:
    async with service.db.session() as session:
        return await session.scalar(select(func.count()).select_from(model).where(*where)) or 0


async def _at_the_declaration(service: Service) -> Chat:
    head = await headteacher(service)
    await head.say("start")
    for answer in RESOURCED_ANSWERS:
        await head.say(answer)
    await head.press("Submit")
    head.find("I confirm")  # the declaration is asked
    return head


async def test_a_double_click_on_i_confirm_submits_once_and_the_second_click_is_told_it_is_submitted(
    service, monkeypatch
):
    head = await _at_the_declaration(service)
    confirm = Turn(head.speaker, action=head.find("I confirm").action)
    SideBySide(monkeypatch)
    first, second = await asyncio.gather(service.conversations.handle(confirm), service.conversations.handle(confirm))
    heard = [" ".join(r.text.plain for r in replies) for replies in (first, second)]
    assert await _count(service, AuditEntry, AuditEntry.action == "submit") == 1
    assert await _count(service, Notice, Notice.kind == "submitted") == 1
    # One click submitted it; the other is told so.
    told = sorted(("expression of interest is submitted" in h, "It is submitted now" in h) for h in heard)
    assert told == [(False, True), (True, False)], heard


async def test_two_members_of_staff_answering_different_questions_at_once_both_keep_their_answer(service, monkeypatch):
    head = await headteacher(service)
    deputy = await headteacher(service, user="deputy-1")
    await head.say("start")
    for answer in RESOURCED_ANSWERS[:5]:  # up to and including places: 12
        await head.say(answer)
    assert head.last.question_id == "start", head.text
    SideBySide(monkeypatch)
    await asyncio.gather(
        service.conversations.handle(Turn(head.speaker, text="September 2027")),
        service.conversations.handle(Turn(deputy.speaker, text="answer places 14", command=True)),
    )
    async with service.db.session() as session:
        eoi = await session.scalar(select(EOI))
        person = await session.scalar(select(Person).where(Person.user_id == head.speaker.user_id))
    at = conversation_state.of(person).place  # where the head is in the questions
    assert eoi.answers["places"] == 14
    assert eoi.answers["start"] and at == Answering("places_by_year"), (eoi.answers, at)


async def test_two_starts_at_once_make_one_draft_and_both_are_asked_the_first_question(service, monkeypatch):
    head = await headteacher(service)
    deputy = await headteacher(service, user="deputy-1")
    SideBySide(monkeypatch, (eois, "start_draft"))  # both found no EOI, and both go on to start one
    first, second = await asyncio.gather(
        service.conversations.handle(Turn(head.speaker, text="start")),
        service.conversations.handle(Turn(deputy.speaker, text="start")),
    )
    assert await _count(service, EOI) == 1
    assert await _count(service, AuditEntry, AuditEntry.action == "start") == 1
    for replies in (first, second):
        assert "Question 1 of" in replies[-1].text, [r.text for r in replies]
