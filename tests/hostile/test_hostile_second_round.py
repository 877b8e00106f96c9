"""The hostile suite, second round (issue 24, item 7): a Socket Mode envelope replayed in a new envelope; two
members of staff confirming the same EOI at once on PostgreSQL, the race forced; a 50 MB register and 100,000
need rows; 10,000 turns from one person in a minute; and forged Teams card submissions."""

from __future__ import annotations

import asyncio
import json
import re
import time
import tracemalloc
from dataclasses import dataclass, field

import pytest
from sqlalchemy import func, select

from bot import cli
from bot.turn_runner import Inbound
from dialogs.actions import Command, encode
from dialogs.replies import Reply
from dialogs.turns import Speaker, Turn
from storage.models import EOI, AuditEntry, Discussion, NeedRow, Notice, ProcessedEvent, School
from tests.chat import RESOURCED_ANSWERS, Chat, complete_eoi, headteacher
from tests.cli_db import use_test_database
from tests.conftest import POSTGRES
from tests.fakes import slack_requests as sr
from tests.fakes import slack_socket_mode as envelopes
from tests.fakes import teams_activities as ta
from tests.stories.slack.test_slack_socket_mode import OFFICER_ID, socket_mode  # noqa: F401
from tests.stories.teams.test_teams_e2e import HEAD_EMAIL, HEAD_ID, teams_with


async def _count(service, model: type, *where: object) -> int:
    async with service.db.session() as session:
        return await session.scalar(select(func.count()).select_from(model).where(*where)) or 0


async def _shortlisted(service, desk: Chat) -> str:
    ref = re.search(r"EOI-2627A-\d{3}", await complete_eoi(await headteacher(service))).group(0)
    assert "is shortlisted" in await desk.say(f"shortlist {ref}")
    return ref


# ---------------------------------------------------------------------------------- Socket Mode replay
async def test_a_slash_command_replayed_in_a_new_envelope_schedules_one_discussion_and_one_invitation(
    socket_mode,  # noqa: F811
):
    """Slack's trigger_id, not only the envelope's id, makes a command once: the same `/eoi schedule` arriving
    again in another envelope (after a reconnect, or replayed) is acknowledged and not done twice."""
    service, slack = socket_mode.service, socket_mode.slack
    ref = await _shortlisted(service, Chat(service, Speaker("slack", OFFICER_ID)))
    url = socket_mode.web.response_url("schedule")
    body = sr.slash_command_body(f"schedule {ref} Tuesday at 2pm at County Hall", OFFICER_ID, response_url=url)
    first = envelopes.slash_commands(body)
    await slack.request(first)
    replayed = {**first, "envelope_id": "replayed-" + first["envelope_id"]}
    await slack.request(replayed)
    await socket_mode.adapter.drain(timeout=10)
    assert await _count(service, Discussion) == 1
    assert await _count(service, Notice, Notice.kind == "calendar") == 1
    assert await _count(service, ProcessedEvent, ProcessedEvent.key.like("slack:trigger:%")) == 1


# ------------------------------------------------------------------------ PostgreSQL double submit, forced
@pytest.mark.skipif(not POSTGRES, reason="PostgreSQL not answering")
@pytest.mark.parametrize("backend", ["postgres"], indirect=False)
async def test_two_members_of_staff_confirming_the_same_eoi_at_once_submit_it_once(service, monkeypatch, backend):
    """Two people (not one double click: two people's turns don't queue behind each other) at the declaration of
    the same draft, each pressing I confirm; both turns are held until each has loaded the EOI, so without the
    row lock both would submit."""
    from tests.unit.storage.test_concurrent_turns import SideBySide

    head = await headteacher(service, user="head-1")
    deputy = await headteacher(service, user="deputy-1")
    await head.say("start")
    for answer in RESOURCED_ANSWERS:
        await head.say(answer)
    await head.press("Submit")
    await deputy.say("review")
    await deputy.press("Submit")
    turns = [Turn(c.speaker, action=c.find("I confirm").action) for c in (head, deputy)]
    SideBySide(monkeypatch)
    heard = await asyncio.gather(*(service.conversations.handle(t) for t in turns))
    assert await _count(service, AuditEntry, AuditEntry.action == "submit") == 1
    assert await _count(service, Notice, Notice.kind == "submitted") == 1
    said = [" ".join(r.text.plain for r in replies) for replies in heard]
    assert sum("expression of interest is submitted" in s for s in said) == 1, said


# --------------------------------------------------------------------------------------- huge imports
def _register_rows(size: int) -> str:
    """A register CSV of about `size` bytes: valid Essex schools with made-up URNs, as an attacker would pad it."""
    header = "urn,name,phase,quadrant,district,headteacher_name,headteacher_email,slack_channel_id,teams_channel_id\n"
    row = "{:07d},School {:07d},primary,North East,Colchester,Head {:07d},head{:07d}@school.example,,\n"
    one = len(row.format(0, 0, 0, 0))
    return header + "".join(row.format(n, n, n, n) for n in range(size // one))


async def _import(monkeypatch, capsys, test_db, service, *args: str) -> tuple[int, str, float, int]:
    use_test_database(monkeypatch, test_db, service.clock.now())
    capsys.readouterr()
    tracemalloc.start()
    started = time.perf_counter()
    try:
        code = await asyncio.to_thread(cli.main, ["import", *args])
    finally:
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    captured = capsys.readouterr()
    return code, captured.out + captured.err, seconds, peak


async def test_a_50_mb_register_is_refused_at_its_limit_quickly_and_changes_nothing(
    service, test_db, monkeypatch, capsys, tmp_path
):
    big = tmp_path / "register.csv"
    big.write_text(_register_rows(50 * 1024 * 1024))
    assert big.stat().st_size > 49 * 1024 * 1024
    before = await _count(service, School)
    code, said, seconds, peak = await _import(monkeypatch, capsys, test_db, service, "schools", str(big))
    assert code == 1 and "line 5002: more than 5,000 rows, and one council's register has far fewer schools" in said
    assert await _count(service, School) == before
    assert seconds < 20 and peak < 50 * 1024 * 1024, (seconds, peak)  # it stopped reading: not the whole file

    # 50 MB of rows that are all wrong: reading stops after 50 problems, each named.
    junk = tmp_path / "junk.csv"
    junk.write_text(_register_rows(50 * 1024 * 1024).replace("North East", "Narnia"))
    code, said, seconds, peak = await _import(monkeypatch, capsys, test_db, service, "schools", str(junk))
    assert code == 1 and re.search(r"stopped reading at line \d+: fix these 50 problems first", said)
    assert said.count("quadrant 'Narnia'") == 50 and "5,000 rows" not in said
    assert seconds < 20 and peak < 50 * 1024 * 1024


async def test_100000_need_rows_are_refused_at_the_limit_the_need_itself_sets(
    service, test_db, monkeypatch, capsys, tmp_path
):
    rows = "quadrant,district,phase,need_type,provision_type,places,priority,notes\n" + (
        "North East,Colchester,primary,ASD,resourced,8,high,\n" * 100_000
    )
    need = tmp_path / "need.csv"
    need.write_text(rows)
    before = await _count(service, NeedRow)
    code, said, seconds, peak = await _import(monkeypatch, capsys, test_db, service, "need", str(need))
    assert code == 1 and "line 1154: more than 1,152 rows, and there are only 1,152 different quadrant" in said
    assert await _count(service, NeedRow) == before and seconds < 20 and peak < 20 * 1024 * 1024


# ------------------------------------------------------------------------------- one person, 10,000 turns
@dataclass
class Recorder:
    """A channel as the runner sees one (bot.turn_runner.Channel): it believes the user id and keeps replies."""

    platform: str = "slack"
    delivered: list[tuple[str, list[Reply]]] = field(default_factory=list)

    async def identify(self, inbound: Inbound[str]) -> Speaker:
        return Speaker(self.platform, inbound.user_id)

    async def deliver(self, where: str, replies: list[Reply]) -> None:
        self.delivered.append((where, replies))


async def test_ten_thousand_turns_from_one_person_in_a_minute_are_turned_away_and_others_are_still_answered(
    service,
):
    channel, now = Recorder(), [0.0]
    service.runner.pace.clock = lambda: now[0]
    started = time.perf_counter()
    for n in range(10_000):
        now[0] = n * 0.006  # 10,000 in 60 seconds
        await service.runner.run(channel, Inbound("UFLOOD", "UFLOOD", text="status", key=f"slack:Ev{n}"))
        if n == 5_000:  # someone else, meanwhile, is answered at once
            await service.runner.run(channel, Inbound("UOTHER", "UOTHER", text="help", key="slack:EvOther"))
    elapsed = time.perf_counter() - started
    flood = [replies for where, replies in channel.delivered if where == "UFLOOD"]
    told = [r for replies in flood for r in replies if "faster than I can answer" in r.text.plain]
    assert len(flood) == 121 and len(told) == 1, (len(flood), len(told))  # 120 answered, told once, then silence
    assert "at most 120 a minute" in told[0].text.plain
    assert [where for where, _ in channel.delivered].count("UOTHER") == 1
    assert await _count(service, ProcessedEvent, ProcessedEvent.key.like("slack:Ev%")) == 121
    assert elapsed < 60, elapsed  # the turned-away turns cost no database time
    # A minute after the flood, they are answered again.
    now[0] += 61
    await service.runner.run(channel, Inbound("UFLOOD", "UFLOOD", text="help", key="slack:EvLater"))
    assert channel.delivered[-1][0] == "UFLOOD" and "faster" not in channel.delivered[-1][1][0].text.plain


# ---------------------------------------------------------------------------------- forged Teams cards
async def test_forged_teams_card_submissions_are_refused_in_words_and_change_nothing(test_db, clock, teams_sdk):
    """A headteacher's Teams client sends card values it made up: another school's EOI, an officer's action, a
    form claiming to be an officer's command, and values far over any limit. Each is refused or bounded, with
    a 200 to Teams, and nothing changes."""
    async with teams_with(test_db, clock, (HEAD_ID, HEAD_EMAIL, "Pat Head"), teams_sdk=teams_sdk) as teams:
        service = teams.service
        other = await headteacher(service, urn="114001", user="head-b")
        theirs = re.search(r"EOI-2627A-\d{3}", await complete_eoi(other)).group(0)
        head = teams.user(HEAD_ID, "Pat Head")
        await head.say("hello")

        said = await head.submit({"eoi_action": encode(Command(f"withdraw {theirs} confirm"))})
        assert f"Meadow Primary School, Colchester has no EOI {theirs}." in said, said
        said = await head.submit({"eoi_action": encode(Command(f"shortlist {theirs}"))})
        assert "for ECC officers only" in said, said
        form = {"title": "x", "command": f"shortlist {theirs}", "fields": []}
        said = await head.submit({"eoi_form": f"shortlist {theirs}", "eoi_form_def": json.dumps(form)})
        assert "for ECC officers only" in said or "older version" in said, said
        # Values near the route's limit (256 KB) are bounded by the dialogs; past it, Teams gets 413 and nothing runs.
        huge = "A" * 200_000
        for value in (
            {"eoi_action": huge},
            {"eoi_pick": 1, "eoi_choice": huge},
            {"eoi_done": encode(Command("status")), "eoi_values": ",".join([huge[:1000]] * 150)},
            {"eoi_form": "answer vision", "eoi_form_def": huge},
        ):
            assert await head.submit(value), value.keys()  # answered in words, not a failure
        await teams.post(
            ta.card_submit_activity({"eoi_action": "A" * 400_000}, HEAD_ID, "Pat Head", **head._common()), expect=413
        )
        async with service.db.session() as session:
            status = await session.scalar(select(EOI.status).where(EOI.ref == theirs))
            actions = set(await session.scalars(select(AuditEntry.action)))
        assert status == "submitted" and "shortlist" not in actions and "withdraw" not in actions
        # What the bot said back stays small: a forged value is never echoed whole.
        assert all(len(json.dumps(a["body"])) < 40_000 for a in teams.connector.activities)
