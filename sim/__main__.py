"""`python -m sim --seed N [--schools 550] [--quick] [--teams-sdk agents] [--log FILE]`, or `--replay FILE` to run a
logged seed again."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path

from bot.config import TEAMS_SDKS
from sim.run import simulate, table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sim", description=__doc__)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--schools", type=int, default=550)
    parser.add_argument("--quick", action="store_true", help="stop after the decisions (no next window)")
    parser.add_argument("--teams-sdk", choices=TEAMS_SDKS, default="botbuilder", help="EOI_TEAMS_SDK of the service")
    parser.add_argument("--log", type=Path, default=Path("sim-log.json"), help="where the JSON log goes")
    parser.add_argument("--replay", type=Path, help="a JSON log: run its seed, school count and mode again")
    args = parser.parse_args(argv)
    # A request cut off by a SIGKILL is expected here: the fakes' servers needn't print its traceback.
    logging.getLogger("aiohttp.server").setLevel(logging.CRITICAL)
    seed, schools, quick, sdk = args.seed, args.schools, args.quick, args.teams_sdk
    if args.replay:
        logged = json.loads(args.replay.read_text())
        seed, schools, quick = logged["seed"], logged["schools"], logged["quick"]
        sdk = logged.get("teams_sdk", "botbuilder")
    report = asyncio.run(simulate(seed, schools, quick, teams_sdk=sdk))
    args.log.write_text(json.dumps(report, indent=1, default=str))
    print(table(report))
    print(f"JSON log: {args.log}")
    return 1 if report["checks_failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
