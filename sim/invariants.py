"""What must hold after every step of the simulation and at the end. Each check reads only what an auditor
could: the product's tables (read-only SQL), what reached the fake Slack, the fake Bot Connector and the SMTP
server, and the simulation's own log of what people were told. A check returns the failures it found (empty: it
held)."""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sim.platforms import Platforms
from sim.service import Database
from sim.world import School
from storage import lifecycle
from tests.fakes import teams_activities as ta

# Words that tell a school the window is open; none may reach anyone once it has closed.
SAYS_OPEN = re.compile(r"window is open|is open until|still open|closes in \d|you have until", re.IGNORECASE)
# Invariants about time taken: reported by `make simulate`, not asserted by the test suite.
TIMED = frozenset({"Slack acked within 3 s"})
DELIVERY_EVENT_KEY = re.compile(r'"key":\s*"([^"]+)"')


@dataclass
class Checks:
    run: Counter[str] = field(default_factory=Counter)
    failed: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    duplicates: int = 0
    losses: int = 0
    teams_resent_after_kill: int = 0

    def record(self, name: str, problems: list[str], step: str) -> None:
        self.run[name] += 1
        for p in problems[:20]:
            self.failed[name].append(f"[{step}] {p}")

    @property
    def failures(self) -> int:
        return sum(len(v) for v in self.failed.values())


# ------------------------------------------------------------------------------------------------- lifecycle
async def states_allowed(db: Database) -> list[str]:
    rows = await db.fetch("SELECT ref, status FROM eois")
    return [
        f"{r['ref']} is {r['status']!r}, not a state of the life table"
        for r in rows
        if r["status"] not in lifecycle.STATES
    ]


async def transitions_audited_once(db: Database) -> list[str]:
    """Every EOI's audited transitions form one path through the life table, from draft to where it is now: a
    transition audited twice, or one not audited, breaks the path."""
    problems = []
    eois = {r["id"]: r for r in await db.fetch("SELECT id, ref, status FROM eois")}
    steps: dict[int, list[Any]] = defaultdict(list)
    for r in await db.fetch(
        "SELECT eoi_id, action, from_status, to_status FROM audit WHERE eoi_id IS NOT NULL AND from_status <> '' "
        "ORDER BY id"
    ):
        steps[r["eoi_id"]].append(r)
    for eoi_id, eoi in eois.items():
        state = lifecycle.DRAFT
        for s in steps.get(eoi_id, []):
            rule = lifecycle.step(s["action"], s["from_status"])
            if s["from_status"] != state:
                problems.append(f"{eoi['ref']}: {s['action']} audited from {s['from_status']!r} but it was {state!r}")
            if rule is None or rule.target != s["to_status"]:
                problems.append(f"{eoi['ref']}: {s['action']} {s['from_status']}→{s['to_status']} is not in the table")
            state = s["to_status"]
        if state != eoi["status"]:
            problems.append(f"{eoi['ref']} is {eoi['status']!r} but its audited path ends at {state!r}")
    return problems


async def submitted_by_the_rules(db: Database) -> list[str]:
    """No EOI submitted that breaks a rule: submitted while its window was open, the offer its first answer,
    places within the offer's range, one EOI per school, window and offer."""
    problems = []
    rows = await db.fetch(
        "SELECT e.ref, e.status, e.offer, e.answers, e.submitted_at, w.opens_at, w.closes_at, e.school_urn, "
        "e.window_id FROM eois e JOIN windows w ON w.id = e.window_id"
    )
    seen: Counter[tuple[str, int, str]] = Counter()
    for r in rows:
        if r["status"] == lifecycle.DRAFT:
            continue
        seen[(r["school_urn"], r["window_id"], r["offer"])] += 1
        if r["submitted_at"] is None:
            if r["status"] != lifecycle.WITHDRAWN:
                problems.append(f"{r['ref']} is {r['status']} with no submission time")
            continue
        if not (r["opens_at"] <= r["submitted_at"] < r["closes_at"]):
            problems.append(f"{r['ref']} submitted at {r['submitted_at']} outside its window")
        answers = r["answers"] if isinstance(r["answers"], dict) else json.loads(r["answers"] or "{}")
        if answers.get("provision_type") != r["offer"]:
            problems.append(f"{r['ref']} offers {r['offer']!r} but answered {answers.get('provision_type')!r}")
        places = int(answers.get("places") or 0)
        low, high = (4, 16) if r["offer"] == "partnership" else (4, 30)
        if not low <= places <= high:
            problems.append(f"{r['ref']} submitted with {places} places for a {r['offer']} provision")
        for needed in ("contact_name", "contact_email", "inclusion_vision", "age_range"):
            if not answers.get(needed):
                problems.append(f"{r['ref']} submitted without {needed}")
    problems += [f"school {k[0]} has {n} EOIs for {k[2]} in window {k[1]}" for k, n in seen.items() if n > 1]
    return problems


# ------------------------------------------------------------------------------------------------- deliveries
async def told_exactly_once(
    db: Database, platforms: Platforms, checks: Checks | None = None, retaken: frozenset[str] = frozenset()
) -> list[str]:
    """Each delivery the product recorded as sent reached its destination exactly once (Slack: by the delivery
    key carried as message metadata; email: by the Message-ID made from the delivery key; Teams: proactive sends
    per conversation), nothing is left waiting, and nothing failed."""
    problems = []
    rows = await db.fetch("SELECT key, destination, status, last_error, payload FROM deliveries")
    # A calendar invitation goes to Slack as a file shared in the channel or DM (files.completeUploadExternal),
    # which carries no delivery key: those are counted per channel. A file shared as a turn's reply (the school's
    # PDF copy on submitting) is no delivery: only invitations (.ics) are counted.
    uploads: Counter[str] = Counter(
        str(c.args.get("channel_id", ""))
        for c in platforms.slack.calls
        if c.method == "files.completeUploadExternal" and c.ok and ".ics" in str(c.args.get("files", ""))
    )
    uploads_expected: Counter[str] = Counter()
    uploads_retaken: Counter[str] = Counter()
    slack_sent: Counter[str] = Counter()
    for call in platforms.slack.calls:
        if call.method == "chat.postMessage" and call.ok and call.args.get("metadata"):
            found = DELIVERY_EVENT_KEY.search(json.dumps(call.args["metadata"]))
            if found:
                slack_sent[found.group(1)] += 1
    teams_sent: Counter[str] = Counter(
        a["conversation_id"].split(";")[0] for a in platforms.teams.activities if a["kind"] == "send"
    )
    mailed: Counter[str] = Counter(
        str(m.message["Message-ID"]).strip("<>").split("@")[0] for m in platforms.mail.received
    )
    teams_expected: Counter[str] = Counter()
    teams_retaken: Counter[str] = Counter()
    duplicates = losses = resent = 0
    for r in rows:
        platform, _, address = r["destination"].partition(":")
        if r["status"] in ("pending", "sending"):
            problems.append(f"{r['key']} still {r['status']}")
            losses += 1
            continue
        if r["status"] in ("superseded", "in digest"):  # a newer notice said it; an officer's digest carried it
            continue
        if r["status"] == "failed":
            problems.append(f"{r['key']} failed: {r['last_error'][:120]}")
            losses += 1
            continue
        payload = r["payload"] if isinstance(r["payload"], dict) else json.loads(r["payload"] or "{}")
        if platform == "slack" and payload.get("file") and not slack_sent.get(r["key"]):
            channel = "D" + address if address[:1] in ("U", "W") else address  # the DM the fake opens
            uploads_expected[channel] += 1
            uploads_retaken[channel] += r["key"] in retaken
            continue
        if platform == "slack":
            n = slack_sent.get(r["key"], 0)
            if n != 1:
                problems.append(f"{r['key']} reached Slack {n} times")
                duplicates += max(0, n - 1)
                losses += 1 if n == 0 else 0
        elif platform == "email":
            n = mailed.get(hashlib.sha256(r["key"].encode()).hexdigest()[:40], 0)
            if n == 2 and r["key"] in retaken:
                # As with Teams: an SMTP server can't be asked whether a message went, so an email in flight
                # when the process was killed is sent again (with the same Message-ID). Counted, not failed.
                resent += 1
            elif n != 1:
                problems.append(f"{r['key']} reached the mail server {n} times")
                duplicates += max(0, n - 1)
                losses += 1 if n == 0 else 0
        elif platform == "msteams" and address.startswith("19:"):
            # A school's team channel hears only proactive messages; a personal chat also gets each turn's
            # replies, which the connector can't tell apart, so Teams DMs are counted by the Slack-style key
            # check only where the platform carries one.
            conversation = address if address.startswith("19:") else ta.personal_conversation_id(address)
            teams_expected[conversation] += 1
            if r["key"] in retaken:
                teams_retaken[conversation] += 1
    for channel, n in uploads_expected.items():
        got = uploads[channel]
        if n < got <= n + uploads_retaken[channel]:
            resent += got - n  # as with Teams: no key to ask Slack about, so one in flight at a SIGKILL goes again
        elif got != n:
            problems.append(f"Slack channel {channel}: {n} invitations sent, {got} files shared")
            duplicates += max(0, got - n)
            losses += max(0, n - got)
    for conversation, n in teams_expected.items():
        got = teams_sent.get(conversation, 0) - platforms.teams_greetings.get(conversation, 0)
        if n < got <= n + teams_retaken[conversation]:
            # The product's stated limit (bot/teams_channel.py TeamsSender.send): the Bot Connector can't be asked
            # whether a message went, so one in flight when the process was killed is sent again. Counted, not
            # failed; anything beyond that is a failure.
            resent += got - n
            continue
        if got != n:
            said = [
                str(a["body"].get("text") or json.dumps(a["body"].get("attachments"))[:80])[:80]
                for a in platforms.teams.activities
                if a["conversation_id"].split(";")[0] == conversation
            ]
            problems.append(f"Teams conversation {conversation}: {n} deliveries sent, {got} messages arrived: {said}")
            duplicates += max(0, got - n)
            losses += max(0, n - got)
    if checks is not None:
        checks.duplicates, checks.losses = duplicates, losses
        checks.teams_resent_after_kill = resent
    return problems


async def every_school_told(
    db: Database, schools: list[School], in_scope: set[str], kind: str, window_id: int
) -> list[str]:
    """Every in-scope school with somewhere to hear was told on each of its destinations (once: the delivery key
    is unique per school and destination)."""
    problems = []
    rows = await db.fetch(
        "SELECT school_urn, destination, status FROM deliveries WHERE kind = $1 AND window_id = $2", kind, window_id
    )
    got: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        got[r["school_urn"]].add(r["destination"])
    for s in schools:
        if s.urn not in in_scope:
            if got.get(s.urn):
                problems.append(f"{s.urn} is out of scope but was sent a {kind}")
            continue
        wanted = set()
        if s.slack_channel:
            wanted.add(f"slack:{s.slack_channel}")
        if s.teams_channel:
            wanted.add(f"msteams:{s.teams_channel}")
        if s.reach == "email":
            wanted.add(f"email:{s.email}")
        missing = wanted - got.get(s.urn, set())
        if missing:
            problems.append(f"{s.urn} ({s.reach}) was not sent the {kind} on {sorted(missing)}")
    return problems


async def unreachable_listed(
    db: Database, schools: list[School], in_scope: set[str], window_id: int, preview: str
) -> list[str]:
    """Schools in scope with no destination are named to the officers: in what they were told when the window
    opened, or in the officer's `window preview` (which must also not call a reachable school unreachable)."""
    rows = await db.fetch("SELECT body FROM notices WHERE audience = 'officers' AND window_id = $1", window_id)
    told = " ".join(json.dumps(r["body"]) for r in rows)
    # A fact reads "*Name (URN)*: where" in Block Kit (its value on the next line when it has several).
    previewed = {urn: where for urn, where in re.findall(r"\((\d{6})\)\*?:\s*(?:\\n)?([^\\\n]*)", preview)}
    # In a Teams card a short fact is a FactSet's title and value; a long one a bold TextBlock (the school) and the
    # next TextBlock (where it is heard).
    previewed.update(re.findall(r'\((\d{6})\)", "value": "([^"\\]*)', preview))
    previewed.update(
        re.findall(r'\((\d{6})\)", "wrap": true[^{}]*\}, \{"type": "TextBlock", "text": "([^"\\]*)', preview)
    )
    # Schools nothing reaches are listed together, by need, under "Not reached: N of M" at the end (a long list
    # running on into the next Block Kit section): every other school the preview names was named as unreachable.
    if "Not reached: " in preview:
        listed = set(re.findall(r"\((\d{6})\)", preview)) - set(previewed)
        previewed.update((urn, "no working destination") for urn in listed)
    problems = []
    if len(previewed) < len(in_scope):  # the preview lists every school in scope, each with where it hears
        problems.append(f"the preview named {len(previewed)} of the {len(in_scope)} schools in scope")
    for s in schools:
        if s.urn not in in_scope:
            continue
        said = previewed.get(s.urn, "")
        flagged = "unreachable" in said or "no working destination" in said.casefold()
        if s.reach == "none" and s.urn not in told and not flagged:
            problems.append(f"{s.urn} has no destination and was not named to officers")
        if s.reach != "none" and flagged:
            problems.append(f"{s.urn} ({s.reach}) previewed as unreachable: {said[:80]}")
    return problems


# ------------------------------------------------------------------------------------------------- the window
async def no_reminder_after_submitting(db: Database, window_id: int, days: int) -> list[str]:
    """A reminder goes only to a school that had put nothing forward or held a draft when it was planned. Run
    right after the reminders go, before anyone acts again: the states now are the states they were planned
    from (the service's clock stands still within a step, so times can't order them)."""
    problems = []
    reminded = await db.fetch(
        "SELECT school_urn FROM notices WHERE kind = 'reminder' AND key LIKE $1", f"remind{days}:{window_id}:%"
    )
    for r in reminded:
        states = [
            e["status"]
            for e in await db.fetch(
                "SELECT status FROM eois WHERE school_urn = $1 AND window_id = $2", r["school_urn"], window_id
            )
        ]
        if states and lifecycle.DRAFT not in states:
            problems.append(f"{r['school_urn']} reminded {days} days before the close while its EOIs were {states}")
    return problems


async def nothing_open_after_close(
    db: Database, window_id: int, closes_at: datetime, heard_after: list[str]
) -> list[str]:
    problems = []
    late = await db.fetch(
        "SELECT key, kind, created_at FROM notices WHERE window_id = $1 AND kind IN ('announcement', 'reminder') "
        "AND created_at >= $2",
        window_id,
        closes_at,
    )
    problems += [f"{r['kind']} {r['key']} planned at {r['created_at']}, after the close" for r in late]
    for text in heard_after:
        found = SAYS_OPEN.search(text)
        if found:
            problems.append(
                f"after the close someone was told: …{text[max(0, found.start() - 200) : found.end() + 60]}…"
            )
    return problems


# How the close summary words each state's count (dialogs/announcements.py says "2 drafts not submitted").
SUMMARY_WORDS = (
    ("drafts? not submitted", lifecycle.DRAFT),
    ("not shortlisted", lifecycle.NOT_SHORTLISTED),
    ("with a discussion scheduled", lifecycle.SCHEDULED),
    ("submitted", lifecycle.SUBMITTED),
    ("shortlisted", lifecycle.SHORTLISTED),
    ("approved", lifecycle.APPROVED),
    ("declined", lifecycle.DECLINED),
    ("withdrawn", lifecycle.WITHDRAWN),
)


def summary_counts(text: str) -> Counter[str]:
    counts: Counter[str] = Counter()
    for n, words in re.findall(r"(\d+) ([a-z ]+?)(?=,|$)", text.split(":", 1)[-1]):
        state = next((s for pattern, s in SUMMARY_WORDS if re.fullmatch(pattern, words.strip())), words.strip())
        counts[state] += int(n)
    return counts


async def close_summary_matches(
    db: Database,
    window_id: int,
    expected: Counter[str],
    unsure: int = 0,
    maybe: frozenset[str] | set[str] = frozenset(),
) -> list[str]:
    """The close summary's counts are the log's; up to `unsure` EOIs (a head pressed "I confirm" or withdrew and
    never saw the answer) may be counted in one of the states `maybe` instead of what their head last saw."""
    rows = await db.fetch("SELECT body FROM notices WHERE kind = 'closing summary' AND window_id = $1", window_id)
    if len(rows) != 1:
        return [f"{len(rows)} closing summaries for the window"]
    body = rows[0]["body"] if isinstance(rows[0]["body"], dict) else json.loads(rows[0]["body"])
    eois_fact = next((f for f in body.get("facts", []) if f.get("label") == "EOIs"), {})
    said = summary_counts(str(eois_fact.get("value", "")))
    want = Counter({k: v for k, v in expected.items() if v})
    states = set(said) | set(want)
    gained = {k: said[k] - want[k] for k in states if said[k] > want[k]}
    lost = {k: want[k] - said[k] for k in states if said[k] < want[k]}
    unsure_states = {lifecycle.DRAFT, lifecycle.SUBMITTED, lifecycle.WITHDRAWN}
    if said == want or (
        set(gained) <= set(maybe)
        and set(lost) <= unsure_states
        and sum(gained.values()) == sum(lost.values()) <= unsure
    ):
        return []
    return [f"close summary says {dict(said)}, the simulation's log says {dict(want)} ({unsure} unsure)"]


def acks_in_time(platforms: Platforms, since: int) -> list[str]:
    """Slack acknowledgements slower than 3 s since the last check (Slack would have given up and retried)."""
    return [f"a Slack request acknowledged after {s}" for s in platforms.slow_acks[since:]]
