"""`report [window]`: identified places against the EOIs offered, shortlisted, approved and opened, by
quadrant, district and need type, as text and as a chart (dialogs/report_chart.py). The numbers are
storage/report.py's, the same the close-of-window summary gives."""

from __future__ import annotations

import asyncio
import base64

from dialogs import report_chart
from dialogs.commands import OFFICER
from dialogs.money import pounds
from dialogs.officer_turn import CommandTurn
from dialogs.registry import handles
from dialogs.replies import Fact, Reply, refuse
from dialogs.rich import md
from storage import audit
from storage.report import STAGES, Count, Line, NeedReport, Offers, for_window
from storage.windows import LONDON, all_windows, current_or_next, find_window, window_code, window_name

GROUPS = (("By quadrant", "quadrant"), ("By district", "district"), ("By need type", "need"))


def count_words(count: Count) -> str:
    """'identified 16 · offered 24 (2 EOIs) · shortlisted 12 (1) · approved 12 (1) · opened 0 (0)'."""
    parts = [f"identified {count.identified}"]
    for stage in STAGES:
        n = count.eois[stage]
        eois = f"{n} EOI{'s' if n != 1 else ''}" if stage == "offered" else str(n)
        parts.append(f"{stage} {count.places[stage]} ({eois})")
    return " · ".join(parts)


def line_words(line: Line) -> str:
    """One need row as the close-of-window summary has always said it, then how far its EOIs got."""
    c = line.count
    place = line.district or line.quadrant
    offered = c.eois["offered"]
    head = (
        f"{line.need_type} {line.provision} {place} {line.phase}: identified {c.identified} places; "
        if line.need is not None
        else f"{line.need_type or '?'} {line.provision or '?'} {place} {line.phase} (no identified need): "
    )
    return (
        head + f"{offered} EOI{'s' if offered != 1 else ''} offering {c.places['offered']}; "
        f"shortlisted {c.places['shortlisted']}, approved {c.places['approved']}, opened {c.places['opened']}"
    )


def facts(report: NeedReport) -> list[Fact]:
    found = [Fact("All", count_words(report.total()))]
    for label, key in GROUPS:
        found.append(Fact(label, "\n".join(f"{name}: {count_words(c)}" for name, c in report.by(key)) or "none"))
    return found + offers_facts(report.offers)


OUTREACH_WORDS = (("yes", "yes"), ("later", "possibly later"), ("no", "no"))


def offers_facts(offers: Offers) -> list[Fact]:
    """What the EOIs offered bring besides places: when places open, building work, outreach, trusts' sign-off."""
    found = []
    if offers.by_year:
        found.append(Fact("Places open by year", " · ".join(f"{y}: {n}" for y, n in sorted(offers.by_year.items()))))
    if offers.needing_work:
        n = offers.needing_work
        work = f"{n} offer{'s need' if n != 1 else ' needs'} building work"
        if offers.costed:
            work += f"; {offers.costed} estimated {pounds(offers.estimated_cost)} in all"
        if offers.contributions:
            work += f"; schools or trusts could put in {pounds(offers.contributions)}"
        found.append(Fact("Building work", work))
    if offers.outreach:
        found.append(Fact("Outreach", " · ".join(f"{words} {offers.outreach[v]}" for v, words in OUTREACH_WORDS)))
    if offers.trusts_asked:
        found.append(
            Fact("Trust sign-off", f"{offers.trusts_agreed} of {offers.trusts_asked} academies or free schools agreed")
        )
    return found


@handles("report", OFFICER)
async def report_command(t: CommandTurn) -> list[Reply]:
    rest = t.rest
    wanted = rest.strip()
    window = await find_window(t.session, wanted) if wanted else await current_or_next(t.session, t.now)
    if window is None and not wanted:
        windows = await all_windows(t.session)
        window = windows[-1] if windows else None
    if window is None:
        codes = ", ".join(window_code(w) for w in await all_windows(t.session)) or "none yet"
        return [refuse(md("There is no window “{}”. Windows: {}. For example `report 2627A`.", wanted, codes))]
    numbers = await for_window(t.session, window)
    png = await asyncio.to_thread(report_chart.draw, numbers)  # a few hundred ms of drawing, off the event loop
    audit.record(t.session, at=t.now, actor=t.actor, action="report", note=window_code(window))
    total = numbers.total()
    text = (
        f"Places against identified need in {window_name(window)}: {count_words(total)}. Places are those the "
        "EOIs offer; each EOI counts at every stage it has reached, by its status now (withdrawn EOIs and drafts "
        "are left out)."
    )
    name = f"report-{window_code(window)}-{t.now.astimezone(LONDON):%Y%m%d-%H%M}.png"
    description = f"Bar chart of places by quadrant and by need type in {window_name(window)}: {count_words(total)}"
    image = (name, base64.b64encode(png).decode("ascii"), description)
    return [Reply(text=text, kind="summary", title=f"Report: {window_name(window)}", facts=facts(numbers), image=image)]


def need_lines(report: NeedReport) -> str:
    """The close-of-window summary's "Against identified need": one line per need row, then EOIs that answer no
    identified need."""
    return "\n".join(line_words(line) for line in report.lines) or "no need recorded"
