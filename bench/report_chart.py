"""`report`'s cost: the numbers (storage/report.py) and the chart (dialogs/report_chart.py) for a window with
many EOIs, and the PNG's size against Teams' message limit (about 100 KB, the chart inline as base64).

    .venv/bin/python -m bench.report_chart [EOIS]

In memory (no database): building the numbers is a pass over the EOIs; the chart's first draw in a process
pays for importing matplotlib and its font cache, later ones don't.
"""

from __future__ import annotations

import base64
import random
import sys
import time
from datetime import UTC, datetime

from dialogs import report_chart
from storage import report
from storage.models import EOI, NeedRow, School, Window
from storage.seed import NEED
from storage.vocabulary import DISTRICTS

STATES = ("submitted", "shortlisted", "not shortlisted", "under consideration", "approved", "declined", "opened")


def main(argv: list[str]) -> int:
    count = int(argv[0]) if argv else 2000
    rng = random.Random(2026)
    now = datetime.now(UTC)
    window = Window(id=1, academic_year="2026/27", term="autumn1", opens_at=now, closes_at=now)
    needs = [
        NeedRow(quadrant=q, district=d, phase=p, need_type=n, provision_type=t, places=pl, priority=pr)
        for q, d, p, n, t, pl, pr, _ in NEED
    ]
    found = []
    for i in range(count):
        district = rng.choice(list(DISTRICTS))
        school = School(
            urn=str(200000 + i),
            name=f"School {i}",
            phase=rng.choice(("primary", "secondary")),
            quadrant=DISTRICTS[district],
            district=district,
        )
        eoi = EOI(
            status=rng.choice(STATES),
            primary_need=rng.choice(("ASD", "SEMH", "SLCN", "MLD", "HI")),
            offer="resourced",
            answers={"places": rng.randint(4, 20)},
        )
        found.append((eoi, school))
    started = time.perf_counter()
    numbers = report.build(window, needs, found)
    built = time.perf_counter() - started
    draws = []
    for _ in range(5):
        started = time.perf_counter()
        png = report_chart.draw(numbers)
        draws.append(time.perf_counter() - started)
    print(
        f"{count} EOIs: numbers {built * 1000:.1f} ms; chart first {draws[0] * 1000:.0f} ms, then "
        f"{min(draws[1:]) * 1000:.0f}-{max(draws[1:]) * 1000:.0f} ms; PNG {len(png):,} bytes "
        f"({len(base64.b64encode(png)):,} as base64, Teams' limit about 100,000)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
