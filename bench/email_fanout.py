"""Announcement fan-out with email on: `python -m bench.email_fanout [--backend sqlite|postgres] [--schools 550]`.

The demo register (`eoi-bot seed --demo`: 60 schools, none with a Slack or Teams channel, each with a
headteacher email) and, optionally, a register of N schools imported with no channels at all. Email is on
(SMTP_URL pointing at a real SMTP server, aiosmtpd, on loopback in this process), Slack is on against the fake
Web API with the bench's officer on Slack. Then `eoi-bot announce` runs as a subprocess.

Reported per register: schools in scope, emails accepted by the SMTP server (and duplicates by Message-ID),
chat messages accepted by the fake Slack (the officers' notice), seconds for the whole `announce` (start-up
included), and the sending span (first email to last).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import csv
import io
import shutil
import threading
import time
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from bench.common import Backend, base_env, free_port, postgres_answers, run_cli, workdir
from bench.fanout import in_scope, need_csv, register_csv
from storage.register import SCHOOL_COLUMNS
from tests.fakes.slack_web_api import FakeSlackWebApi, RecordedCall

FROM = "eoi-bot@essex.gov.uk"


class Counting:
    """An SMTP server's handler that keeps who got what, when."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.accepted: list[tuple[float, str, str]] = []  # (time, recipient, Message-ID)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # aiosmtpd's hook name
        raw = envelope.original_content or envelope.content or b""
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        message_id = next((line for line in text.splitlines() if line.lower().startswith("message-id:")), "")
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.accepted.append((time.perf_counter(), rcpt, message_id))
        return "250 OK"


async def run_email_fanout(
    backend: Backend, fake: FakeSlackWebApi, smtp_url: str, counting: Counting, work: Path, *, schools: int
) -> dict[str, Any]:
    url = await backend.fresh()
    try:
        env = base_env(url, slack_api_url=fake.base_url)
        env.update(SMTP_URL=smtp_url, EOI_MAIL_FROM=FROM)
        if schools:  # the bench register (URNs from 114000: the demo's are replaced), no channels, all in scope
            register = work / f"register-{schools}.csv"
            register.write_text(_without_channels(register_csv(schools, shared=False)))
            need = work / "need.csv"
            need.write_text(need_csv())
            for args in (["import", "schools", str(register)], ["import", "need", str(need)]):
                result = await run_cli(args, env, timeout=120)
                if result.returncode != 0:
                    raise RuntimeError(f"eoi-bot {' '.join(args)} failed: {result.output[-2000:]}")
        expected = await in_scope(url)
        chat: list[str] = []

        def listener(call: RecordedCall) -> None:
            if call.method == "chat.postMessage" and call.ok:
                chat.append(str(call.args.get("channel", "")))

        fake.reset()
        fake.listeners.append(listener)
        with counting.lock:
            counting.accepted.clear()
        try:
            started = time.perf_counter()
            result = await run_cli(["announce"], env, timeout=900)
            wall = time.perf_counter() - started
        finally:
            fake.listeners.remove(listener)
        if result.returncode != 0:
            raise RuntimeError(f"eoi-bot announce failed: {result.output[-2000:]}")
        with counting.lock:
            accepted = list(counting.accepted)
        per_id = collections.Counter(message_id for _, _, message_id in accepted)
        span = accepted[-1][0] - accepted[0][0] if accepted else 0.0
        return {
            "backend": backend.name,
            "register": f"{schools} schools, no channels" if schools else "demo (eoi-bot seed --demo)",
            "schools_in_scope": len(expected),
            "emails": len(accepted),
            "duplicate_emails": sum(n - 1 for n in per_id.values() if n > 1),
            "schools_emailed": len({rcpt for _, rcpt, _ in accepted}),
            "chat_messages": len(chat),
            "seconds": round(wall, 2),
            "sending_seconds": round(span, 2),
            "emails_per_second": round(len(accepted) / span, 1) if span else None,
            "peak_rss_mb": result.peak_rss_mb,
            "announce_output": result.output.strip().splitlines()[-3:],
        }
    finally:
        await backend.drop(url)


def _without_channels(register: str) -> str:
    """The bench register names a Slack channel per school: blank it, so only email reaches them."""
    rows = list(csv.DictReader(io.StringIO(register)))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=SCHOOL_COLUMNS)
    writer.writeheader()
    writer.writerows({**row, "slack_channel_id": "", "teams_channel_id": ""} for row in rows)
    return out.getvalue()


async def main_async(args: argparse.Namespace) -> list[dict[str, Any]]:
    if args.backend == "postgres" and not await postgres_answers():
        raise SystemExit("PostgreSQL is not answering")
    counting = Counting()
    port = free_port()
    controller = Controller(counting, hostname="127.0.0.1", port=port)
    controller.start()
    fake = FakeSlackWebApi()
    await fake.start()
    work = workdir()
    rows = []
    try:
        backend = Backend(args.backend, work)
        await backend.prepare()
        try:
            for schools in (0, *args.schools):
                rows.append(
                    await run_email_fanout(backend, fake, f"smtp://127.0.0.1:{port}", counting, work, schools=schools)
                )
                print(rows[-1], flush=True)
        finally:
            await backend.cleanup()
    finally:
        await fake.stop()
        controller.stop()
        shutil.rmtree(work, ignore_errors=True)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.email_fanout", description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--schools", type=int, nargs="*", default=[], help="also N schools with no channel")
    rows = asyncio.run(main_async(parser.parse_args()))
    headers = [
        "backend",
        "register",
        "schools_in_scope",
        "emails",
        "duplicate_emails",
        "chat_messages",
        "seconds",
        "sending_seconds",
        "emails_per_second",
        "peak_rss_mb",
    ]
    print("| " + " | ".join(headers) + " |")
    print("|" + "---|" * len(headers))
    for row in rows:
        print("| " + " | ".join(str(row[h]) for h in headers) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
