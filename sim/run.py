"""The timeline of one simulated window, the faults on it, and the report.

    setup      register and need imported (CLI), the window added (console), Teams installed in school teams
    open       the service starts on opening day: announcements fan out (429 storms, 5xx, a SIGKILL mid fan-out)
    work       headteachers work (SIGKILL mid-turn, a database connection drop, duplicated and reordered
               deliveries); an officer moves the closing date (schools told)
    remind7    7 days before the close: reminders (another SIGKILL mid fan-out)
    remind1    1 day before: reminders; late finishers submit
    closed     after the close: the summary to officers; a late head is refused
    shortlist  officers (Slack and Teams, in parallel) shortlist, not-shortlist, schedule (with clashes)
    decide     officers decide; an export from the console
    next       the next window is added and changed, another added and cancelled; the next window opens

The service runs as two `eoi-bot serve` processes on one PostgreSQL database, behind the simulation's load
balancer (sim.platforms); both are restarted at each step's "now" (EOI_NOW), so the clock moves as a deployment's
would, and a SIGKILL hits one of them while the other keeps serving.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sim import invariants as inv
from sim.headteachers import QUICK_REPLY_TIMEOUT, QUICK_THINK, REPLY_TIMEOUT, THINK, Head, behaviour_for
from sim.platforms import Heard, Platforms
from sim.service import OFFICERS, Database, Service
from sim.world import in_scope, make_need, make_schools, need_csv, register_csv
from storage import lifecycle

T = datetime.fromisoformat
TIMELINE = {
    "setup": T("2027-08-20T10:00:00+01:00"),
    "open": T("2027-09-01T10:00:00+01:00"),
    "work": T("2027-09-15T10:00:00+01:00"),
    "remind7": T("2027-10-15T18:00:00+01:00"),
    "remind1": T("2027-10-21T18:00:00+01:00"),
    "closed": T("2027-10-22T18:00:00+01:00"),
    "shortlist": T("2027-10-26T10:00:00+01:00"),
    "decide": T("2027-11-16T10:00:00+00:00"),
    "next": T("2028-02-23T10:00:00+00:00"),
}
WINDOW = '"Autumn Term 1 2027/28" opens 1 Sep 2027 9am closes 20 Oct 2027 5pm'
CONCURRENCY = 32


@dataclass
class Faults:
    """The faults, drawn from the seed before the run starts (so the log names them and a replay repeats them)."""

    plan: dict[str, Any]
    injected: Counter[str] = field(default_factory=Counter)

    @classmethod
    def draw(cls, rng: random.Random, schools: int) -> Faults:
        def storm(low: int, high: int) -> int:
            """429s in a storm: as many as a whole county's fan-out meets, fewer for a smaller register."""
            return max(2, round(rng.randint(low, high) * min(1.0, schools / 550)))

        return cls(
            {
                "open_slack_429": storm(10, 40),
                "open_slack_retry_after": rng.choice([1, 2]),
                "open_teams_429": storm(10, 40),
                "open_teams_5xx": storm(3, 10),
                "open_kill_after": rng.randint(20, 90),
                "open_kill_replica": rng.randint(0, 1),
                "work_kill_replica": rng.randint(0, 1),
                "remind_kill_replica": rng.randint(0, 1),
                # Faults while heads work come after so many of their turns, not after so many seconds: a run on a
                # loaded machine meets them at the same point of the story.
                "work_kill_at_turn": rng.randint(10, 60),
                "work_db_drop_at_turn": rng.randint(20, 120),
                "work_close_moved_at_turn": rng.randint(5, 40),
                "duplicate_fraction": 0.15,
                "stale_redeliveries": rng.randint(3, 10),
                "remind_kill_after": rng.randint(10, 60),
                "remind_slack_429": storm(5, 20),
                "decide_teams_429": storm(5, 20),
            }
        )


class Simulation:
    def __init__(self, seed: int, schools: int, quick: bool, workdir: Path, teams_sdk: str = "botbuilder") -> None:
        self.seed, self.quick, self.workdir = seed, quick, workdir
        self.rng = random.Random(seed)
        self.schools = make_schools(self.rng, schools)
        self.need = make_need(self.rng)
        self.in_scope = {s.urn for s in in_scope(self.schools, self.need)}
        self.faults = Faults.draw(self.rng, schools)
        self.platforms = Platforms()
        self.db = Database()
        self.teams_sdk = teams_sdk
        self.service = Service(self.db, "", workdir, teams_sdk=teams_sdk)
        self.checks = inv.Checks()
        self.heads: list[Head] = []
        self.steps: list[dict[str, Any]] = []
        self.window: dict[str, Any] = {}
        self.officer_expected: dict[str, str] = {}
        # Officers' commands sent but never seen acknowledged (the reply was lost in a 429 storm, or the
        # replica died): the EOI may or may not have moved to that state, and either is right.
        self.officer_unconfirmed: dict[str, set[str]] = {}
        self.officer_log: list[dict[str, str]] = []
        self.started = time.monotonic()
        self.console_export = ""
        self.preview = ""
        self.fault_times: list[tuple[float, str]] = []
        self.acks_checked = 0
        self.in_flight_at_kill: set[str] = set()  # deliveries claimed ("sending") when the service was killed

    # ------------------------------------------------------------------------------------------- helpers
    def fault(self, name: str) -> None:
        self.faults.injected[name] += 1
        self.fault_times.append((round(time.monotonic() - self.started, 1), name))

    def note(self, step: str, **facts: Any) -> None:
        self.steps.append(
            {
                "step": step,
                "at": self.service.now.isoformat() if self.service.now else None,
                "seconds": round(time.monotonic() - self.started, 1),
                **facts,
            }
        )

    async def drained(self, timeout: float = 240) -> None:
        """Wait until the deployment's scheduler has run at this "now" (what was due is on record), then until every
        notice is planned and every delivery sent or given up, including those waiting out a Retry-After (they
        stay 'sending')."""
        deadline = time.monotonic() + timeout
        await self.service.scheduler_ran(timeout)
        quiet = 0
        while time.monotonic() < deadline:
            rows = await self.db.fetch(
                "SELECT (SELECT count(*) FROM notices WHERE planned_at IS NULL) AS n, "
                "(SELECT count(*) FROM deliveries WHERE status IN ('pending', 'sending')) AS d"
            )
            quiet = quiet + 1 if rows[0]["n"] == 0 and rows[0]["d"] == 0 else 0
            if quiet >= 2:  # twice: a turn's notice is recorded with the turn, so nothing new comes after
                return
            await asyncio.sleep(0.1)
        raise TimeoutError(f"{self.db.name}: deliveries still waiting after {timeout} s")

    async def kill_when_sent(self, count: int, label: str, replica: int) -> None:
        """SIGKILL one replica once `count` proactive messages to schools have arrived: mid fan-out. The other
        carries on, and takes over the sends the killed one had claimed once their leases run out."""

        def sent() -> int:
            slack = sum(
                1
                for c in self.platforms.slack.calls
                if c.method == "chat.postMessage" and c.ok and str(c.args.get("channel", "")).startswith("C0SIM")
            )
            teams = sum(1 for a in self.platforms.teams.activities if a["kind"] == "send")
            return slack + teams + len(self.platforms.mail.received)

        # Mid fan-out: never more than half of what this step will send (a small register sends little).
        destinations = sum(
            1
            for s in self.schools
            if s.urn in self.in_scope
            for c in (s.slack_channel, s.teams_channel, s.email if s.reach == "email" else "")
            if c
        )
        count = max(1, min(count, destinations // 2))
        base = sent()
        while sent() - base < count:
            await asyncio.sleep(0.02)
        await self.service.kill(replica)
        await self.note_in_flight()
        self.fault(f"SIGKILL of one of two processes mid fan-out ({label})")
        await self.service.start_replica(replica)

    def storms_over(self) -> None:
        """A 429 storm or a run of 5xx lasts while the fan-out it hit goes on; what is left of it ends with it."""
        self.platforms.slack.fail_no_more()
        self.platforms.teams.fail_no_more()

    async def note_in_flight(self) -> None:
        rows = await self.db.fetch("SELECT key FROM deliveries WHERE status = 'sending'")
        self.in_flight_at_kill.update(r["key"] for r in rows)

    async def check(self, step: str, *, final: bool = False) -> None:
        c, db = self.checks, self.db
        c.record("EOI states allowed by the life table", await inv.states_allowed(db), step)
        c.record("every transition audited once", await inv.transitions_audited_once(db), step)
        c.record("no EOI submitted breaking a rule", await inv.submitted_by_the_rules(db), step)
        c.record(
            "each delivery told exactly once",
            await inv.told_exactly_once(db, self.platforms, c, frozenset(self.in_flight_at_kill)),
            step,
        )
        c.record("Slack acked within 3 s", inv.acks_in_time(self.platforms, self.acks_checked), step)
        self.acks_checked = len(self.platforms.slow_acks)
        c.record("no acknowledged answer lost", await self.nothing_lost(), step)
        if self.window:
            wid = self.window["id"]
            if self.window.get("announced"):
                c.record(
                    "in-scope schools told on each destination",
                    await inv.every_school_told(db, self.schools, self.in_scope, "announcement", wid),
                    step,
                )
            if self.window.get("closed"):
                heard = [h for head in self.heads for h in head.heard_after_close]
                c.record(
                    "nothing after the close says open",
                    await inv.nothing_open_after_close(db, wid, self.window["closes_at"], heard),
                    step,
                )
        if self.window.get("announced"):
            c.record(
                "schools with no destination listed to officers",
                await inv.unreachable_listed(db, self.schools, self.in_scope, self.window["id"], self.preview),
                step,
            )

    async def nothing_lost(self) -> list[str]:
        """What each head saw acknowledged is in the database: every EOI they were told was submitted or
        withdrawn is in that state (or a later one an officer moved it to), with every answer they gave."""
        problems = []
        rows = {r["ref"]: r for r in await self.db.fetch("SELECT ref, status, answers FROM eois")}
        for head in self.heads:
            for ref, state in head.expected.items():
                row = rows.get(ref)
                want = self.officer_expected.get(ref, state)
                if row is None:
                    problems.append(f"{head.school.urn}: {ref} ({want}) is gone")
                    continue
                maybe = set(self.officer_unconfirmed.get(ref, set()))
                if ref == max(head.refs, default=""):
                    maybe |= head.maybe
                if row["status"] != want and row["status"] not in maybe:
                    problems.append(f"{head.school.urn}: {ref} is {row['status']!r}, the head was told {want!r}")
                answers = row["answers"] if isinstance(row["answers"], dict) else json.loads(row["answers"] or "{}")
                after_change = head.log
                for i, e in enumerate(head.log):
                    if e["event"] == "change provision":
                        after_change = head.log[i:]
                asked = {e["question"] for e in after_change if e["event"] == "answered"}
                missing = sorted(
                    q for q in asked if q not in answers and q not in ("accessible_site_details", "contact_phone")
                )
                if missing:
                    problems.append(f"{ref}: answers acknowledged but not kept: {missing}")
        return problems

    # ------------------------------------------------------------------------------------------- steps
    async def setup(self) -> None:
        await self.db.create()
        await self.platforms.start()
        self.service.slack_api_url = self.platforms.slack.base_url
        self.platforms.targets = self.service.urls
        self.service.smtp_url = self.platforms.smtp_url
        self.service.now = TIMELINE["setup"]
        (self.workdir / "register.csv").write_text(register_csv(self.schools))
        (self.workdir / "need.csv").write_text(need_csv(self.need))
        result = await self.service.cli("import", "schools", str(self.workdir / "register.csv"))
        assert result.code == 0, result.output
        said = await self.service.console_officer(f"window add {WINDOW}")
        rows = await self.db.fetch("SELECT id, opens_at, closes_at FROM windows")
        assert len(rows) == 1, f"window not added: {said[-500:]}"
        self.window = {"id": rows[0]["id"], "closes_at": rows[0]["closes_at"]}
        code = await self.db.fetch("SELECT 1")
        result = await self.service.cli("import", "need", str(self.workdir / "need.csv"))
        assert result.code == 0, result.output
        del code
        for s in self.schools:
            if s.slack_user:
                self.platforms.add_slack_person(s.slack_user, s.email, f"Head Teacher {s.urn}")
            if s.teams_user:
                self.platforms.add_teams_person(s.teams_user, s.email, f"Head Teacher {s.urn}")
        for n, (platform, user) in enumerate(OFFICERS):
            add = self.platforms.add_slack_person if platform == "slack" else self.platforms.add_teams_person
            add(user, f"officer{n}@essex.example", f"Officer {n}")
        # Slack: about one message a second per channel, "with short bursts of more than 1 allowed".
        self.platforms.slack.enforce_rate_limit(1.0, burst=3)
        self.platforms.teams.enforce_rate_limit(7)  # Teams: 7 a second per conversation
        await self.service.start()
        teams = [s for s in self.schools if s.teams_channel]
        sem = asyncio.Semaphore(CONCURRENCY)

        async def install(s) -> None:  # type: ignore[no-untyped-def]
            async with sem:
                await self.platforms.teams_install_team(s.teams_channel)
                await self.platforms.teams_install_personal(s.teams_user)

        await asyncio.gather(*(install(s) for s in teams))
        for platform, user in OFFICERS:
            if platform == "msteams":
                await self.platforms.teams_install_personal(user)
        await self.drained()
        # From Slack, where the whole list is one message (Teams clips a card over 40 KB to 20,000 characters of
        # lines: a county's preview is cut there); read until every school in scope is named (those reached by URN,
        # then those nothing reaches, grouped by need, at the end).
        self.preview = await self.officer(
            "window preview 2728A", expect=f"({max(self.in_scope)})", expect_all=tuple(f"({u})" for u in self.in_scope)
        )
        self.platforms.teams_greetings = Counter(
            a["conversation_id"].split(";")[0] for a in self.platforms.teams.activities if a["kind"] == "send"
        )
        self.note(
            "setup",
            schools=len(self.schools),
            in_scope=len(self.in_scope),
            need_rows=len(self.need),
            teams_installed=len(teams),
        )
        await self.check("setup")

    async def open(self) -> None:
        f = self.faults.plan
        self.platforms.slack.fail_next(
            "chat.postMessage", 429, retry_after=f["open_slack_retry_after"], times=f["open_slack_429"]
        )
        self.platforms.teams.fail_next(429, retry_after=1, times=f["open_teams_429"], path_contains="/activities")
        self.platforms.teams.fail_next(502, times=f["open_teams_5xx"], path_contains="/activities")
        self.fault("Slack 429 storm")
        self.fault("Teams 429 storm")
        self.fault("Teams connector 5xx")
        await self.service.stop()
        self.service.now = TIMELINE["open"]
        killer = asyncio.create_task(self.kill_when_sent(f["open_kill_after"], "announcements", f["open_kill_replica"]))
        await self.service.start()
        await asyncio.wait_for(killer, 120)
        await self.drained()
        self.storms_over()
        self.window["announced"] = True
        self.note("open: announcements")
        await self.check("open")

    async def work(self) -> None:
        await self.service.restart_at(TIMELINE["work"])
        reachable = [s for s in self.schools if s.urn in self.in_scope and s.chat]
        self.heads = [
            Head(s, behaviour_for(self.rng, s), random.Random(f"{self.seed}:{s.urn}"), self.platforms)
            for s in reachable
        ]
        for head in self.heads:
            head.think = QUICK_THINK if self.quick else THINK
            head.reply_timeout = QUICK_REPLY_TIMEOUT if self.quick else REPLY_TIMEOUT
            if head.behaviour in ("submit", "double_click") and head.school.reach == "both":
                head.behaviour = "cross_platform" if head.rng.random() < 0.5 else head.behaviour
        sem = asyncio.Semaphore(CONCURRENCY)
        dup = self.faults.plan["duplicate_fraction"]

        async def act(head: Head) -> None:
            async with sem:
                b = head.behaviour
                if b == "ignore":
                    return
                if b in ("abandon", "late", "after_close"):
                    await head.fill(stop_after=head.rng.randint(2, 9))
                elif b == "cross_platform":
                    await head.fill(stop_after=5)
                    await head.switch_platform()
                    await head.fill()
                elif b == "change_provision":
                    await head.fill(change_at_review=True)
                elif b == "double_click":
                    await head.fill(double_click=True)
                else:
                    await head.fill()
                if b in ("withdraw", "withdraw_resubmit"):
                    await head.withdraw()
                if b == "withdraw_resubmit":
                    ref = sorted(head.refs)[-1] if head.refs else ""
                    await head.fill(first=f"start {ref}".strip())
                if head.rng.random() < dup:
                    await head.turn("status", dup=True)

        heads_done = asyncio.Event()
        busy = sum(10 for h in self.heads if h.behaviour != "ignore")  # about how many turns this step holds

        async def after_turns(plan: str) -> None:
            """Until the heads have taken this many turns (at most a third of the step's), or have finished."""
            wanted = max(1, min(self.faults.plan[plan], busy // 3))
            while sum(h.turns for h in self.heads) < wanted and not heads_done.is_set():
                await asyncio.sleep(0.02)

        async def kill_mid_turn() -> None:
            await after_turns("work_kill_at_turn")
            await self.service.kill(self.faults.plan["work_kill_replica"])
            await self.note_in_flight()
            self.fault("SIGKILL of one of two processes mid-turn")
            await self.service.start_replica(self.faults.plan["work_kill_replica"])

        async def drop_db() -> None:
            await after_turns("work_db_drop_at_turn")
            dropped = await self.db.drop_connections()
            self.fault("database connections dropped")
            self.note("fault: database connections dropped", connections=dropped)

        async def officer_moves_close() -> None:
            await after_turns("work_close_moved_at_turn")
            said = await self.officer("window change 2728A closes 22 Oct 2027 5pm")
            self.note("officer moved the close", said=said[:300])

        async def heads_work() -> None:
            await asyncio.gather(*(act(h) for h in self.heads))
            heads_done.set()

        await asyncio.gather(heads_work(), kill_mid_turn(), drop_db(), officer_moves_close())
        rows = await self.db.fetch("SELECT closes_at FROM windows WHERE id = $1", self.window["id"])
        self.window["closes_at"] = rows[0]["closes_at"]
        await self.stale_redeliveries()
        await self.drained()
        self.note("work", behaviours=dict(Counter(h.behaviour for h in self.heads)))
        await self.check("work")

    async def stale_redeliveries(self) -> None:
        """Reordered deliveries: Slack redelivers events heads sent long ago, after newer ones were handled."""
        old = [c for c in self.platforms.slack.calls if False]
        del old
        n = self.faults.plan["stale_redeliveries"]
        slack_heads = [h for h in self.heads if h.platform == "slack" and h.turns > 3][:n]
        from tests.fakes import slack_requests as sr

        for head in slack_heads:
            body = sr.message_im_event_body(head.user, "Resourced Provision")
            await self.platforms.slack_again(body, retry=None)
            await self.platforms.slack_again(body, retry=2)  # the same event again, late
            self.fault("reordered (stale) redelivery")

    async def remind(self, step: str, late: bool) -> None:
        self.platforms.slack.fail_next(
            "chat.postMessage", 429, retry_after=1, times=self.faults.plan["remind_slack_429"]
        )
        self.fault("Slack 429 storm")
        await self.service.stop()
        self.service.now = TIMELINE[step]
        killer = (
            asyncio.create_task(
                self.kill_when_sent(
                    self.faults.plan["remind_kill_after"], "reminders", self.faults.plan["remind_kill_replica"]
                )
            )
            if step == "remind7"
            else None
        )
        await self.service.start()
        if killer:
            try:
                await asyncio.wait_for(killer, 60)
            except TimeoutError:
                killer.cancel()
        await self.drained()
        self.storms_over()
        days = 7 if step == "remind7" else 1
        self.checks.record(
            "no reminder after submitting or withdrawing",
            await inv.no_reminder_after_submitting(self.db, self.window["id"], days),
            step,
        )
        if late:
            sem = asyncio.Semaphore(CONCURRENCY)

            async def finish(head: Head) -> None:
                async with sem:
                    await head.fill()

            await asyncio.gather(*(finish(h) for h in self.heads if h.behaviour == "late"))
            await self.drained()
        self.note(step)
        await self.check(step)

    def unconfirmed_at_close(self) -> tuple[int, set[str]]:
        """Heads whose last "I confirm" or "withdraw" was never seen answered, and the states that may have made."""
        unsure = [h for h in self.heads if h.maybe]
        return len(unsure), {state for h in unsure for state in h.maybe}

    def expected_at_close(self) -> Counter[str]:
        counts: Counter[str] = Counter()
        for head in self.heads:
            if not head.refs and head.behaviour == "ignore":
                continue
            if head.expected:
                counts.update(head.expected.values())
            elif head.turns:
                counts[lifecycle.DRAFT] += 1
        return counts

    async def closed(self) -> None:
        await self.service.restart_at(TIMELINE["closed"])
        await self.drained()
        self.window["closed"] = True
        for head in [h for h in self.heads if h.behaviour == "after_close"]:
            heard = await head.turn("start")
            head.heard_after_close += [h.text for h in heard]
            heard = await head.turn("submit")
            head.heard_after_close += [h.text for h in heard]
        await self.drained()
        expected = self.expected_at_close()
        self.checks.record(
            "close summary equals the simulation's log",
            await inv.close_summary_matches(self.db, self.window["id"], expected, *self.unconfirmed_at_close()),
            "closed",
        )
        self.note("closed", expected=dict(expected))
        await self.check("closed")

    async def officer(self, text: str, who: int = 0, expect: str = "", expect_all: tuple[str, ...] = ()) -> str:
        """An officer types a command in their DM with the bot; returns the replies to it ("" when none came: a
        reply lost to a 429 storm or with a killed process, so the command may or may not have taken effect).
        Teams answers within the request (a turn's replies go before the 200), so the request's end is the end
        of the answer; Slack answers after its 200, so the officer reads until a reply that mentions `expect`
        (and, given `expect_all`, until the replies mention every one of those: a long answer in several messages,
        which Slack paces a second apart)."""
        p = self.platforms
        platform, user = OFFICERS[who % len(OFFICERS)]
        key = f"{platform}:{user}"
        since = len(p.inbox[key])
        asked = time.monotonic()
        if platform == "slack":
            status, sent = await p.slack_message(user, text)
        else:
            status, sent = await p.teams_message(user, text)
        for attempt in range(1, 30):  # no process answered: deliver the same request again, as Slack does
            if status and status < 500:
                break
            await asyncio.sleep(1)
            status = await (p.slack_again(sent, retry=attempt) if platform == "slack" else p.teams_again(sent))

        def replies() -> list[Heard]:
            return [h for h in p.inbox[key][since:] if not h.proactive]

        if platform == "slack":
            # A long answer (every school in scope) may wait behind notices Slack paces a second apart.
            deadline = time.monotonic() + (180 if expect_all else 30)
            while time.monotonic() < deadline and not any(expect in h.text for h in replies()):
                await asyncio.sleep(0.05)
            while time.monotonic() < deadline and not all(
                any(want in h.text for h in replies()) for want in expect_all
            ):
                await asyncio.sleep(0.05)
            # A turn's replies are posted one after another: read on until they stop.
            while replies() and time.monotonic() - replies()[-1].at < 0.3:
                await asyncio.sleep(0.05)
        said = " ".join(h.text for h in replies())
        self.officer_log.append(
            {
                "said": text,
                "heard": said[:300],
                "seconds": round(time.monotonic() - asked, 2),
                "at": round(asked - self.started, 1),
            }
        )
        return said

    async def officer_moves(self, ref: str, text: str, who: int, done: str, state: str) -> str:
        """An officer's command that moves an EOI to `state`; `done` is how the reply about `ref` says it did.
        No reply about `ref` (lost, or another command's came instead): it may or may not have moved."""
        said = await self.officer(text, who, expect=ref)
        if ref in said and done in said.casefold():
            self.officer_expected[ref] = state
        elif ref not in said:
            self.officer_unconfirmed.setdefault(ref, set()).add(state)
        return said

    async def shortlist(self) -> None:
        await self.service.restart_at(TIMELINE["shortlist"])
        submitted = sorted(ref for h in self.heads for ref, s in h.expected.items() if s == "submitted")
        rng = random.Random(f"{self.seed}:officers")
        picks = {ref: ("shortlist" if rng.random() < 0.6 else "not") for ref in submitted}
        slots = ["2 November 2027 at 10am", "2 November 2027 at 2pm", "3 November 2027 at 10am"]

        async def work(refs: list[str], platform: int) -> None:
            for i, ref in enumerate(refs):
                if picks[ref] == "shortlist":
                    await self.officer_moves(
                        ref, f"shortlist {ref} Strong offer", platform, "shortlisted", lifecycle.SHORTLISTED
                    )
                    if self.officer_expected.get(ref) == lifecycle.SHORTLISTED:
                        # Two discussions share each slot now and then: a clash the officer is told about.
                        slot = slots[i % len(slots)]
                        said = await self.officer(
                            f"schedule {ref} {slot} for 1 hour at County Hall", platform, expect=ref
                        )
                        if "yes" in said.casefold() and "confirm" in said.casefold():
                            said = await self.officer("yes", platform)
                        if ref in said and re.search(r"invit|scheduled|booked", said, re.IGNORECASE):
                            self.officer_expected[ref] = lifecycle.SCHEDULED
                        elif ref not in said:
                            self.officer_unconfirmed.setdefault(ref, set()).add(lifecycle.SCHEDULED)
                else:
                    await self.officer_moves(
                        ref,
                        f"not-shortlisted {ref} The need in the district is met this year",
                        platform,
                        "not shortlisted",
                        lifecycle.NOT_SHORTLISTED,
                    )

        await asyncio.gather(*(work(submitted[n :: len(OFFICERS)], n) for n in range(len(OFFICERS))))
        await self.drained()
        self.note("shortlist", shortlisted=sum(v != lifecycle.NOT_SHORTLISTED for v in self.officer_expected.values()))
        await self.check("shortlist")

    async def decide(self) -> None:
        self.platforms.teams.fail_next(
            429, retry_after=1, times=self.faults.plan["decide_teams_429"], path_contains="/activities"
        )
        self.fault("Teams 429 storm")
        await self.service.restart_at(TIMELINE["decide"])
        rng = random.Random(f"{self.seed}:panel")
        scheduled = sorted(ref for ref, state in self.officer_expected.items() if state == lifecycle.SCHEDULED)
        outcomes = {ref: "approve" if rng.random() < 0.5 else "decline" for ref in scheduled}

        async def panel(refs: list[str], who: int) -> None:
            for ref in refs:
                word = "approved" if outcomes[ref] == "approve" else "declined"
                await self.officer_moves(ref, f"decide {ref} {outcomes[ref]} The panel's view", who, word, word)

        await asyncio.gather(*(panel(scheduled[n :: len(OFFICERS)], n) for n in range(len(OFFICERS))))
        self.console_export = await self.service.console_officer("export")
        await self.drained()
        self.note("decide", decided=sum(v in ("approved", "declined") for v in self.officer_expected.values()))
        await self.check("decide")

    async def next_window(self) -> None:
        await self.service.restart_at(TIMELINE["decide"])
        await self.officer('window add "Spring Term 2 2027/28" opens 23 Feb 2028 9am closes 20 Mar 2028 5pm')
        await self.officer("window change 2728B closes 27 Mar 2028 5pm")
        await self.officer('window add "Autumn Term 1 2028/29" opens 1 Sep 2028 9am closes 20 Oct 2028 5pm')
        await self.officer("window cancel 2829A confirm")
        await self.service.restart_at(TIMELINE["next"])
        await self.drained()
        rows = (
            await self.db.fetch("SELECT code, cancelled_at IS NOT NULL AS cancelled FROM windows ORDER BY opens_at")
            if await self._has_code()
            else []
        )
        self.note("next window", windows=[dict(r) for r in rows])
        await self.check("next", final=True)

    async def _has_code(self) -> bool:
        rows = await self.db.fetch(
            "SELECT 1 FROM information_schema.columns WHERE table_name='windows' AND column_name='code'"
        )
        return bool(rows)

    # ------------------------------------------------------------------------------------------- whole run
    async def run(self) -> dict[str, Any]:
        try:
            await self.setup()
            await self.open()
            await self.work()
            await self.remind("remind7", late=False)
            await self.remind("remind1", late=True)
            await self.closed()
            await self.shortlist()
            await self.decide()
            if not self.quick:
                await self.next_window()
        finally:
            await self.service.stop()
            await self.platforms.stop()
            if not os.environ.get("EOI_SIM_KEEP_DB"):
                await self.db.drop()
        return self.report()

    def report(self) -> dict[str, Any]:
        outcomes: Counter[str] = Counter()
        for head in self.heads:
            for ref, state in head.expected.items():
                outcomes[self.officer_expected.get(ref, state)] += 1
        slack_msgs = sum(1 for c in self.platforms.slack.calls if c.method == "chat.postMessage" and c.ok)
        teams_msgs = len(self.platforms.teams.activities)
        return {
            "seed": self.seed,
            "schools": len(self.schools),
            "quick": self.quick,
            "teams_sdk": self.teams_sdk,
            "in_scope": len(self.in_scope),
            "reach": dict(Counter(s.reach for s in self.schools)),
            "behaviours": dict(Counter(h.behaviour for h in self.heads)),
            "eois_by_outcome": dict(outcomes),
            "messages": {"slack": slack_msgs, "teams": teams_msgs, "email": len(self.platforms.mail.received)},
            "requests_to_service": self.platforms.requests,
            "slack_ack_p_max_s": round(max(self.platforms.ack_seconds, default=0), 3),
            "slack_ack_p50_p99_s": [
                round(_pct(self.platforms.ack_seconds, 50), 3),
                round(_pct(self.platforms.ack_seconds, 99), 3),
            ],
            "slack_acks": len(self.platforms.ack_seconds),
            "fault_times": self.fault_times,
            "slow_ack_times": [(round(t - self.started, 1), round(s, 2)) for t, s in self.platforms.ack_log if s > 3],
            "fault_plan": self.faults.plan,
            "faults_injected": dict(self.faults.injected),
            "service_starts": self.service.starts,
            "service_start_seconds": self.service.start_seconds,
            "officer_log": self.officer_log,
            "officer_unconfirmed": {k: sorted(v) for k, v in self.officer_unconfirmed.items()},
            "service_failed_starts": self.service.failed_starts,
            "checks_run": sum(self.checks.run.values()),
            "checks_by_invariant": dict(self.checks.run),
            "checks_failed": self.checks.failures,
            "failures": {k: v for k, v in self.checks.failed.items()},
            "duplicates": self.checks.duplicates,
            "teams_resent_after_kill": self.checks.teams_resent_after_kill,
            "losses": self.checks.losses,
            "duplicate_deliveries_sent_by_people": sum(h.duplicates_sent for h in self.heads),
            "slack_turns_never_answered": sum(h.unanswered for h in self.heads),
            "head_errors": [e for h in self.heads for e in h.errors][:30],
            "service_errors": self.service.errors()[:30],
            "steps": self.steps,
            "preview_excerpt": self.preview[:2000],
            "preview_urns": sorted(set(re.findall(r"\((\d{6})\)", self.preview))),
            "heads": [
                {
                    "urn": h.school.urn,
                    "reach": h.school.reach,
                    "behaviour": h.behaviour,
                    "refs": sorted(h.refs),
                    "expected": h.expected,
                    "log": h.log,
                }
                for h in self.heads
            ],
            "wall_seconds": round(time.monotonic() - self.started, 1),
        }


async def simulate(
    seed: int, schools: int = 550, quick: bool = False, workdir: Path | None = None, teams_sdk: str = "botbuilder"
) -> dict[str, Any]:
    workdir = workdir or Path(tempfile.mkdtemp(prefix="eoi-sim-"))
    return await Simulation(seed, schools, quick, workdir, teams_sdk).run()


def _pct(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(len(ordered) * p / 100)))]


def table(report: dict[str, Any]) -> str:
    rows = [
        ("seed", report["seed"]),
        ("schools (in scope)", f"{report['schools']} ({report['in_scope']})"),
        ("reach", ", ".join(f"{k} {v}" for k, v in sorted(report["reach"].items()))),
        ("headteachers acting", ", ".join(f"{k} {v}" for k, v in sorted(report["behaviours"].items()))),
        ("EOIs by outcome", ", ".join(f"{k} {v}" for k, v in sorted(report["eois_by_outcome"].items())) or "none"),
        (
            "messages per platform",
            f"Slack {report['messages']['slack']}, Teams {report['messages']['teams']}, "
            f"email {report['messages']['email']}",
        ),
        ("requests to the service", report["requests_to_service"]),
        ("faults injected", ", ".join(f"{k} {v}" for k, v in sorted(report["faults_injected"].items()))),
        ("service process starts (2 processes)", report["service_starts"]),
        ("Teams SDK (EOI_TEAMS_SDK)", report.get("teams_sdk", "botbuilder")),
        ("invariant checks run / failed", f"{report['checks_run']} / {report['checks_failed']}"),
        ("duplicates", report["duplicates"]),
        ("Teams messages in flight at a SIGKILL, sent again", report["teams_resent_after_kill"]),
        ("losses", report["losses"]),
        (
            "Slack acks p50 / p99 / max",
            f"{report['slack_ack_p50_p99_s'][0]} / {report['slack_ack_p50_p99_s'][1]} / "
            f"{report['slack_ack_p_max_s']} s ({report['slack_acks']} acks)",
        ),
        ("wall time", f"{report['wall_seconds']} s"),
    ]
    width = max(len(k) for k, _ in rows)
    lines = [f"| {'':{width}} | value |", f"|{'-' * (width + 2)}|-------|"]
    lines += [f"| {k:{width}} | {v} |" for k, v in rows]
    for name, problems in report["failures"].items():
        lines.append(f"FAILED {name}: {len(problems)}")
        lines += [f"  {p}" for p in problems[:5]]
    return "\n".join(lines)
