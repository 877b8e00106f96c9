"""The whole window, simulated (sim/): a small seed of it runs here, and each failure a seed found is a story.

The full run is `make simulate` (550 schools, under ten minutes); this one is about 30 schools, so it stays
quick while still crossing every step: announcements, headteachers on Slack and Teams, reminders, the close,
shortlisting, decisions, with a SIGKILL mid fan-out and mid-turn, 429 storms, connector 5xx, a database
connection drop, and duplicated and stale deliveries.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from bot.announce import plan_due
from storage import eois
from tests.chat import headteacher, officer
from tests.conftest import POSTGRES

postgres_only = pytest.mark.skipif(not POSTGRES, reason="PostgreSQL not answering")


@pytest.fixture
def backend() -> str:
    return "postgres"


@postgres_only
async def test_an_officer_moving_the_close_while_a_headteacher_starts_an_eoi_both_go_through(service, monkeypatch):
    # Found by the simulation (seed 1): a head's `start` locked the school's row FOR UPDATE and then numbered the
    # EOI on the window's row; the officer's `window change` updated the window's row and then recorded a notice
    # for each school in scope, whose foreign key waits on the school's row. PostgreSQL found the deadlock and
    # one of them was told "Sorry, something went wrong".
    async with service.db.session() as session:
        await plan_due(session, service.clock.now())  # the window is announced: a change tells the schools
    head, desk = await headteacher(service), officer(service)
    school_locked = asyncio.Event()
    numbering = eois._assign_ref

    async def number_a_moment_later(session: Any, eoi: Any, window: Any) -> None:
        school_locked.set()
        await asyncio.sleep(2)  # the officer's change reaches the school's notice meanwhile
        await numbering(session, eoi, window)

    monkeypatch.setattr(eois, "_assign_ref", number_a_moment_later)

    async def officer_moves_the_close() -> str:
        await school_locked.wait()
        return await desk.say("window change 2627A closes 20 Dec 2026 5pm")

    started, moved = await asyncio.wait_for(asyncio.gather(head.say("start"), officer_moves_the_close()), 20)
    assert "Which kind of provision" in started
    assert "now opens" in moved and "Schools in scope have been told" in moved


@postgres_only
def test_a_small_seed_of_the_whole_window_keeps_every_invariant(tmp_path):
    from sim.run import simulate, table

    report = asyncio.run(simulate(seed=7, schools=30, quick=True, workdir=tmp_path))
    assert report["checks_run"] > 50, table(report)
    assert report["checks_failed"] == 0, table(report)
    assert report["faults_injected"], table(report)
