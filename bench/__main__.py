"""`python -m bench` (`make bench`): measured speed of eoi-bot against the frameworks' floor.

    python -m bench [--backend sqlite|postgres|both] [--quick] [--out bench/results/latest.json]

Starts `eoi-bot serve` as a subprocess against a fake Slack Web API and a fake Bot Connector running in this
process (127.0.0.1 only), on a fresh database per run, and prints a table (bench/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.burst import run_burst
from bench.common import (
    HOST,
    Backend,
    base_env,
    cpu_seconds,
    eoi_bot_command,
    named_cpu_seconds,
    postgres_answers,
    profiled,
    serve,
    short,
    tree_cpu_seconds,
    workdir,
)
from bench.dialog_turns import register_people, run_load
from bench.fanout import run_fanout
from bench.officer_list import run_officer_list
from tests.fakes.bot_connector import FakeBotConnector
from tests.fakes.slack_web_api import FakeSlackWebApi

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {
    "p99_turn_ms_at_50": 100.0,
    "throughput_vs_bare": 0.5,
    "fanout_ratio": 1.2,
    "list_p99_ms": 200.0,
    "rss_mb": 200.0,
}


# Teams on the Microsoft 365 Agents SDK (EOI_TEAMS_SDK=agents), measured beside botbuilder's "teams" against the
# bare Agents SDK echo: the same activities, the same fake connector.
AGENTS = "teams-agents"


def plan(quick: bool) -> dict[str, Any]:
    if quick:
        return {
            "users": [5],
            "think": 0.0,
            # Small enough to finish in under a minute with every scenario in it (start-ups are most of it).
            "fanout": [(36, True)],
            "list": {"schools": 200, "windows": 5, "rounds": 5},
            "burst": {"schools": 30, "spread": 3.0},
        }
    return {
        "users": [1, 10, 50],
        "think": 1.0,
        "fanout": [(550, False), (550, True)],
        "list": {"schools": 2000, "windows": 5, "rounds": 30},
        # The morning of an announcement: every in-scope school of Essex presses Start within a minute.
        "burst": {"schools": 550, "spread": 60.0},
    }


async def bare_runs(fake: FakeSlackWebApi, connector: FakeBotConnector, users: list[int], log_dir: Path) -> list[dict]:
    out = []
    for name, target in (("slack", "bare slack-bolt"), ("teams", "bare botbuilder"), (AGENTS, "bare Agents SDK")):
        env = base_env("sqlite+aiosqlite:///:memory:", slack_api_url=fake.base_url)
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        echo = "agents" if name == AGENTS else name
        command = [sys.executable, "-m", "bench.bare_echo", echo, "--port", "{port}"]
        async with serve(env, command=command, log_dir=log_dir) as served:
            for n in users:
                cpu = cpu_seconds(served.pid)
                result = await run_load(name, served.url, n, fake, connector, target=target, echo=True)
                result.cpu_seconds = cpu_seconds(served.pid) - cpu
                result.peak_rss_mb = served.peak_rss_mb()
                out.append(result.to_dict())
                print(f"  {target:16} N={n:<3} {out[-1]['turns_per_second']:7.1f} turns/s", flush=True)
    return out


async def dialog_runs(
    backend: Backend,
    fake: FakeSlackWebApi,
    connector: FakeBotConnector,
    users: list[int],
    log_dir: Path,
    profile: Path | None = None,
    think: float = 0.0,
) -> list[dict]:
    out = []
    runs = [(n, 0.0) for n in users] + ([(max(users), think)] if think else [])
    for name in ("slack", "teams", AGENTS):
        for n, pause in runs:
            url = await backend.fresh()
            env = base_env(url, slack_api_url=fake.base_url)
            env["EOI_TEAMS_SDK"] = "agents" if name == AGENTS else "botbuilder"
            try:
                async with serve(env, log_dir=log_dir) as served:
                    flat_out_max = n == max(users) and not pause
                    spy = profile / f"{backend.name}-{name}-{n}.txt" if profile and flat_out_max else None
                    cpu = cpu_seconds(served.pid)
                    async with profiled(served.pid, spy):
                        result = await run_load(name, served.url, n, fake, connector, target="eoi-bot", think=pause)
                    result.cpu_seconds = cpu_seconds(served.pid) - cpu
                    result.peak_rss_mb = served.peak_rss_mb()
                    service_errors = served.errors()
            finally:
                await backend.drop(url)
            row = {"backend": backend.name, **result.to_dict(), "service_errors": service_errors}
            out.append(row)
            print(
                f"  {backend.name:8} {name:5} N={n:<3} think {pause:g}s {row['turns_per_second']:7.1f} turns/s  "
                f"p99 {row['latency']['p99_ms']} ms  completed {row['completed']}/{n}"
                + (f"  errors: {row['errors'][:2]}" if row["errors"] else "")
                + (f"  service errors: {service_errors[:2]}" if service_errors else ""),
                flush=True,
            )
    return out


async def scale_runs(
    backend: Backend, fake: FakeSlackWebApi, connector: FakeBotConnector, users: int, log_dir: Path
) -> list[dict]:
    """Slack flat out with `eoi-bot serve --workers 1` and `--workers 2` on one port, side by side."""
    out = []
    for workers in (1, 2):
        url = await backend.fresh()
        try:
            command = [*eoi_bot_command(), "serve", "--host", HOST, "--port", "{port}", "--workers", str(workers)]
            async with serve(base_env(url, slack_api_url=fake.base_url), command=command, log_dir=log_dir) as served:
                # Everything on the machine's cores during the run: the service (parent and workers), the load
                # generator with the fake Slack (this process), and PostgreSQL.
                cpu, load, database = tree_cpu_seconds(served.pid), time.process_time(), named_cpu_seconds("postgres")
                started = time.monotonic()
                result = await run_load("slack", served.url, users, fake, connector, target=f"{workers} worker(s)")
                wall = time.monotonic() - started
                result.cpu_seconds = tree_cpu_seconds(served.pid) - cpu
                load, database = time.process_time() - load, named_cpu_seconds("postgres") - database
                service_errors = served.errors()
        finally:
            await backend.drop(url)
        turns = max(result.turns, 1)
        row = {
            "backend": backend.name,
            "workers": workers,
            **result.to_dict(),
            "load_cpu_ms_per_turn": round(load * 1000 / turns, 2),
            "postgres_cpu_ms_per_turn": round(database * 1000 / turns, 2),
            # How busy the machine's cores were, all three together (2.0 = both cores flat out).
            "cores_busy": round((result.cpu_seconds + load + database) / wall, 2) if wall else None,
            "cores": os.cpu_count(),
            "service_errors": service_errors,
        }
        out.append(row)
        print(
            f"  {backend.name:8} slack N={users} workers {workers}: {row['turns_per_second']:7.1f} turns/s  "
            f"p99 {row['latency']['p99_ms']} ms  completed {row['completed']}/{users}"
            + (f"  errors: {row['errors'][:2]}" if row["errors"] else ""),
            flush=True,
        )
    return out


def ratio_to_bare(rows: list[dict], bare: list[dict]) -> None:
    floor = {(b["platform"], b["concurrent_users"]): b["turns_per_second"] for b in bare}
    for row in rows:
        if row["think_seconds"]:
            continue
        base = floor.get((row["platform"], row["concurrent_users"]))
        row["vs_bare"] = round(row["turns_per_second"] / base, 2) if base else None


# ----------------------------------------------------------------------------------------------- output
def table(headers: list[str], rows: list[list[Any]]) -> str:
    cells = [[short(c) for c in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"  # noqa: E731
    return "\n".join([line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *(line(r) for r in cells)])


def report(results: dict[str, Any]) -> str:
    parts = ["### Dialog turns (whole EOIs; latency per turn as the client sees it)", ""]
    rows = []
    for r in [*results["bare"], *results["dialog"]]:
        lat = r["latency"]
        rows.append(
            [
                r.get("backend", "-"),
                r["platform"],
                r["target"],
                r["concurrent_users"],
                f"{r['think_seconds']:g} s" if r.get("think_seconds") else "none",
                f"{r['completed']}/{r['concurrent_users']}",
                r["turns"],
                r["turns_per_second"],
                lat["p50_ms"],
                lat["p95_ms"],
                lat["p99_ms"],
                r.get("vs_bare"),
                r["server_cpu_ms_per_turn"],
                r["peak_rss_mb"],
            ]
        )
    parts.append(
        table(
            [
                "db",
                "platform",
                "target",
                "N",
                "think",
                "EOIs done",
                "turns",
                "turns/s",
                "p50 ms",
                "p95 ms",
                "p99 ms",
                "ours/bare",
                "server CPU ms/turn",
                "peak RSS MB",
            ],
            rows,
        )
    )
    parts += ["", "### Announcement fan-out (`eoi-bot announce`; 1 msg/s per channel, 5% random 429s)", ""]
    parts.append(
        table(
            [
                "db",
                "variant",
                "in scope",
                "channels",
                "max/channel",
                "seconds",
                "sending s",
                "bound s",
                "ratio",
                "sending/bound",
                "duplicates",
                "losses",
                "429s",
                "peak RSS MB",
            ],
            [
                [
                    f["backend"],
                    f["variant"],
                    f["in_scope"],
                    f["channels"],
                    f["max_per_channel"],
                    f["seconds"],
                    f["send_span_seconds"],
                    f["bound_seconds"],
                    f["ratio"],
                    f.get("span_ratio"),
                    f["duplicates"],
                    f["losses"],
                    f["refused_429"],
                    f["peak_rss_mb"],
                ]
                for f in results["fanout"]
            ],
        )
    )
    parts += ["", "### Officer `list` (p50 / p99 ms)", ""]
    rows = []
    for r in results["officer_list"]:
        for via in ("http", "in_process"):
            for q, s in [("all queries", r[via]["all"]), *r[via]["per_query"].items()]:
                rows.append(
                    [
                        r["backend"],
                        r["eois"],
                        "HTTP (Slack DM)" if via == "http" else "in-process",
                        q,
                        s["p50_ms"],
                        s["p99_ms"],
                    ]
                )
    parts.append(table(["db", "EOIs", "via", "command", "p50 ms", "p99 ms"], rows))
    parts += ["", "### Burst: heads press the announcement's Start within the spread, then answer 3 questions", ""]
    parts.append(
        table(
            [
                "db",
                "platform",
                "schools",
                "spread s",
                "all asked s",
                "to 1st question p50 ms",
                "p99 ms",
                "ack p99 ms",
                "ack max ms",
                "acks > 3 s",
                "answer p50 ms",
                "answer p99 ms",
                "done",
                "server CPU ms/turn",
            ],
            [
                [
                    b["backend"],
                    b["platform"],
                    b["schools"],
                    b["spread_seconds"],
                    b["first_question_for_all_seconds"],
                    b["to_first_question"]["p50_ms"],
                    b["to_first_question"]["p99_ms"],
                    b["ack"]["p99_ms"],
                    b["ack"]["max_ms"],
                    b["acks_over_3s"] if b["platform"] == "slack" else "-",
                    b["answer_turn"]["p50_ms"],
                    b["answer_turn"]["p99_ms"],
                    f"{b['completed']}/{b['schools']}",
                    b["server_cpu_ms_per_turn"],
                ]
                for b in results.get("burst", [])
            ],
        )
    )
    parts += ["", "### Scale-out: `eoi-bot serve --workers N` on one port (PostgreSQL, Slack, flat out)", ""]
    one = next((r["turns_per_second"] for r in results.get("scale", []) if r["workers"] == 1), None)
    parts.append(
        table(
            [
                "db",
                "workers",
                "N",
                "EOIs done",
                "turns/s",
                "x 1 worker",
                "p50 ms",
                "p99 ms",
                "service CPU ms/turn",
                "load gen ms/turn",
                "PostgreSQL ms/turn",
                "cores busy",
            ],
            [
                [
                    r["backend"],
                    r["workers"],
                    r["concurrent_users"],
                    f"{r['completed']}/{r['concurrent_users']}",
                    r["turns_per_second"],
                    round(r["turns_per_second"] / one, 2) if one else None,
                    r["latency"]["p50_ms"],
                    r["latency"]["p99_ms"],
                    r["server_cpu_ms_per_turn"],
                    r.get("load_cpu_ms_per_turn"),
                    r.get("postgres_cpu_ms_per_turn"),
                    f"{r.get('cores_busy')} of {r.get('cores')}",
                ]
                for r in results.get("scale", [])
            ],
        )
    )
    parts += ["", "### Against the targets", ""]
    parts.append(table(["target", "db", "measured", "met"], targets(results)))
    return "\n".join(parts)


def targets(results: dict[str, Any]) -> list[list[Any]]:
    out = []
    for db in results["backends"]:
        dialog = [r for r in results["dialog"] if r["backend"] == db]
        top = max((r["concurrent_users"] for r in dialog), default=0)
        for r in [r for r in dialog if r["concurrent_users"] == top]:
            p99 = r["latency"]["p99_ms"]
            how = f"think {r['think_seconds']:g} s" if r["think_seconds"] else "flat out"
            out.append(
                [f"p99 turn < 100 ms at N={top} ({r['platform']}, {how})", db, p99, p99 < TARGETS["p99_turn_ms_at_50"]]
            )
            if not r["think_seconds"]:
                v = r.get("vs_bare")
                out.append([f"throughput >= 0.5 x bare ({r['platform']}, N={top})", db, v, bool(v and v >= 0.5)])
        for f in [f for f in results["fanout"] if f["backend"] == db]:
            # The fan-out itself, first message to last; process start-up is in "seconds" and "ratio".
            ok = f["duplicates"] == 0 and f["losses"] == 0 and (f["span_ratio"] is None or f["span_ratio"] <= 1.2)
            out.append(
                [
                    f"fan-out <= 1.2 x bound, 0 dup, 0 lost ({f['variant']})",
                    db,
                    f"{f['send_span_seconds']} s / {f['bound_seconds']} s, {f['duplicates']} dup, {f['losses']} lost",
                    ok,
                ]
            )
        for r in [r for r in results["officer_list"] if r["backend"] == db]:
            p99 = r["http"]["all"]["p99_ms"]
            out.append([f"list p99 < 200 ms at {r['eois']} EOIs (HTTP)", db, p99, p99 < TARGETS["list_p99_ms"]])
        rss = (
            [r["peak_rss_mb"] or 0 for r in dialog]
            + [f["peak_rss_mb"] or 0 for f in results["fanout"] if f["backend"] == db]
            + [r["peak_rss_mb"] or 0 for r in results["officer_list"] if r["backend"] == db]
        )
        if rss:
            out.append(["service peak RSS < 200 MB (max over scenarios)", db, max(rss), max(rss) < TARGETS["rss_mb"]])
    return out


# ----------------------------------------------------------------------------------------------- main
async def run(args: argparse.Namespace) -> dict[str, Any]:
    pg = await postgres_answers()
    backends = (["sqlite", "postgres"] if pg else ["sqlite"]) if args.backend == "both" else [args.backend]
    if "postgres" in backends and not pg:
        raise SystemExit("PostgreSQL is not answering at 127.0.0.1:5432 (database test)")
    p = plan(args.quick)
    if args.users:
        p["users"] = args.users
    work = workdir()
    results: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "quick": args.quick,
        "backends": backends,
        "plan": {k: v for k, v in p.items()},
        "bare": [],
        "dialog": [],
        "fanout": [],
        "officer_list": [],
        "burst": [],
        "scale": [],
    }
    started = time.perf_counter()

    def phase(what: str) -> None:  # when each scenario began: where the run's minutes go
        print(f"[{time.perf_counter() - started:4.0f} s] {what}", flush=True)

    fake, connector = FakeSlackWebApi(), FakeBotConnector()
    await fake.start()
    await connector.start()
    register_people(fake, connector)
    try:
        if "bare" in args.only:
            phase("Bare frameworks (echo):")
            results["bare"] = await bare_runs(fake, connector, p["users"], work)
        for name in backends:
            backend = Backend(name, work)
            try:
                await backend.prepare()
                if "dialog" in args.only:
                    phase(f"Dialog turns on {name}:")
                    results["dialog"] += await dialog_runs(
                        backend, fake, connector, p["users"], work, args.profile, p["think"]
                    )
                for schools, shared in p["fanout"] if "fanout" in args.only else []:
                    phase(f"Fan-out on {name}: {schools} schools, {'shared' if shared else 'own'} channels")
                    row = await run_fanout(backend, fake, work, schools=schools, shared=shared)
                    results["fanout"].append({"backend": name, **row})
                    print(
                        f"  {row['seconds']} s (bound {row['bound_seconds']} s), {row['duplicates']} duplicates, "
                        f"{row['losses']} lost",
                        flush=True,
                    )
                # The burst runs on PostgreSQL, the production database, when it answers (and on SQLite otherwise).
                if "burst" in args.only and name == ("postgres" if "postgres" in backends else "sqlite"):
                    for chat in ("slack", "teams"):
                        phase(f"Burst on {name}: {p['burst']['schools']} heads press Start ({chat})")
                        row = await run_burst(backend, fake, connector, work, platform=chat, **p["burst"])
                        results["burst"].append(row)
                        print(
                            f"  every school asked within {row['first_question_for_all_seconds']} s; to first question "
                            f"p50 {row['to_first_question']['p50_ms']} ms p99 {row['to_first_question']['p99_ms']} ms; "
                            f"acks over 3 s: {row['acks_over_3s']}; errors {row['error_count']}",
                            flush=True,
                        )
                if "scale" in args.only and name == "postgres":  # --workers is for PostgreSQL only
                    phase(f"Scale-out on {name}: 1 and 2 worker processes on one port")
                    results["scale"] = await scale_runs(backend, fake, connector, max(p["users"]), work)
                if "list" in args.only:
                    phase(f"Officer list on {name}:")
                    row = await run_officer_list(backend, fake, work, **p["list"])
                    results["officer_list"].append({"backend": name, **row})
                    print(f"  HTTP p99 {row['http']['all']['p99_ms']} ms over {row['eois']} EOIs", flush=True)
            finally:
                await backend.cleanup()
        ratio_to_bare(results["dialog"], results["bare"])
    finally:
        await fake.stop()
        await connector.stop()
        if args.keep:
            print(f"Logs and databases kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    results["seconds"] = round(time.perf_counter() - started, 1)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--quick", action="store_true", help="a smoke run: fewer users, schools and EOIs")
    parser.add_argument("--out", type=Path, default=ROOT / "bench/results/latest.json")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (service logs)")
    parser.add_argument(
        "--profile", type=Path, help="py-spy the service during the largest dialog runs (collapsed stacks here)"
    )
    parser.add_argument("--timeout", type=float, default=900.0, help="stop everything after this many seconds")
    parser.add_argument("--users", type=int, nargs="+", help="concurrent headteachers (default 1 10 50)")
    parser.add_argument(
        "--only",
        default="bare,dialog,fanout,list,burst,scale",
        type=lambda v: set(v.split(",")),
        help="comma-separated scenarios: bare, dialog, fanout, list, burst, scale (default all)",
    )
    args = parser.parse_args(argv)
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    try:
        results = asyncio.run(asyncio.wait_for(run(args), args.timeout))
    except TimeoutError:
        print(f"bench: stopped after {args.timeout:.0f} s", file=sys.stderr)
        return 1
    text = report(results)
    print()
    print(text)
    print(f"\n(total {results['seconds']} s)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({**results, "table": text}, indent=2))
    print(f"Wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
