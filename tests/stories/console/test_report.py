"""`report`: identified places against the places EOIs offered, shortlisted, approved and opened, checked against
a register worked out by hand; the close-of-window summary says the same numbers; the chart is a PNG that the
console saves."""

from __future__ import annotations

import base64
import colorsys
import io
import itertools
from pathlib import Path

from sqlalchemy import select

from bot.console import Console
from dialogs import report_chart
from dialogs.announcements import closing_summary
from dialogs.turns import Speaker
from storage.models import EOI, Window
from storage.report import for_window
from storage.windows import eois_in, need_for
from tests.chat import officer

PNG = b"\x89PNG\r\n\x1a\n"
# The hand-made register (the demo need, storage/seed.py: 96 places identified in 2627A). Each school's EOI,
# where it has got to, and how many places it offers. Colchester 114000-114002 are primaries and 114003 a
# secondary; 114005 is a Tendring primary (no identified need there); 114015 a Chelmsford primary.
REGISTER = [
    ("114000", "approved", "ASD", "resourced", 12),  # Colchester ASD primary need (16)
    ("114001", "shortlisted", "ASD", "resourced", 8),  # the same need
    ("114002", "withdrawn", "ASD", "resourced", 10),  # left out
    ("114015", "submitted", "SLCN", "resourced", 6),  # Chelmsford SLCN primary need (10)
    ("114003", "opened", "SEMH", "partnership", 6),  # North East SEMH secondary PP need, quadrant-wide (12)
    ("114005", "declined", "ASD", "resourced", 4),  # answers no identified need: counted, outside it
    ("114004", "draft", "", "", 0),  # left out
]
# Worked out by hand from REGISTER: places (EOIs) at each stage.
EXPECTED_ALL = "identified 96 · offered 36 (5 EOIs) · shortlisted 30 (4) · approved 18 (2) · opened 6 (1)"
EXPECTED_QUADRANT = {
    "North East": "identified 28 · offered 30 (4 EOIs) · shortlisted 30 (4) · approved 18 (2) · opened 6 (1)",
    "Mid": "identified 30 · offered 6 (1 EOI) · shortlisted 0 (0) · approved 0 (0) · opened 0 (0)",
    "South": "identified 20 · offered 0 (0 EOIs) · shortlisted 0 (0) · approved 0 (0) · opened 0 (0)",
    "West": "identified 18 · offered 0 (0 EOIs) · shortlisted 0 (0) · approved 0 (0) · opened 0 (0)",
}
EXPECTED_DISTRICT = {
    "Colchester": "identified 16 · offered 20 (2 EOIs) · shortlisted 20 (2) · approved 12 (1) · opened 0 (0)",
    "North East (whole quadrant)": "identified 12 · offered 6 (1 EOI) · shortlisted 6 (1) · approved 6 (1) · "
    "opened 6 (1)",
    "Tendring": "identified 0 · offered 4 (1 EOI) · shortlisted 4 (1) · approved 0 (0) · opened 0 (0)",
    "Chelmsford": "identified 10 · offered 6 (1 EOI) · shortlisted 0 (0) · approved 0 (0) · opened 0 (0)",
}
EXPECTED_NEED = {
    "ASD": "identified 48 · offered 24 (3 EOIs) · shortlisted 24 (3) · approved 12 (1) · opened 0 (0)",
    "SEMH": "identified 20 · offered 6 (1 EOI) · shortlisted 6 (1) · approved 6 (1) · opened 6 (1)",
    "SLCN": "identified 10 · offered 6 (1 EOI) · shortlisted 0 (0) · approved 0 (0) · opened 0 (0)",
}


async def _register(service) -> None:
    """The register's EOIs as rows: what matters to the report is where each has got to."""
    async with service.db.session() as session:
        window = await session.scalar(select(Window))
        for n, (urn, status, need, offer, places) in enumerate(REGISTER, 1):
            answers = {"places": places} if places else {}
            session.add(
                EOI(
                    ref=f"EOI-2627A-{n:03d}",
                    school_urn=urn,
                    window_id=window.id,
                    status=status,
                    primary_need=need,
                    offer=offer,
                    answers=answers,
                    created_at=window.opens_at,
                    updated_at=window.opens_at,
                )
            )
        await session.commit()


def _lines(value: str) -> dict[str, str]:
    return dict(line.split(": ", 1) for line in value.split("\n"))


async def test_the_report_matches_a_register_worked_out_by_hand(service) -> None:
    await _register(service)
    desk = officer(service)
    await desk.say("report")
    reply = desk.last
    facts = {f.label: f.value for f in reply.facts}
    assert facts["All"] == EXPECTED_ALL
    assert _lines(facts["By quadrant"]) == EXPECTED_QUADRANT
    assert {k: v for k, v in _lines(facts["By district"]).items() if k in EXPECTED_DISTRICT} == EXPECTED_DISTRICT
    needs = _lines(facts["By need type"])
    assert {k: v for k, v in needs.items() if k in EXPECTED_NEED} == EXPECTED_NEED
    assert needs["HI"].startswith("identified 6 · offered 0 (0 EOIs)")
    name, encoded, description = reply.image
    assert name.startswith("report-2627A-") and name.endswith(".png")
    assert base64.b64decode(encoded).startswith(PNG) and EXPECTED_ALL in description
    await desk.say("report 2627A")
    assert desk.last.title == "Report: Autumn Term 1 2026/27" and desk.last.facts[0].value == EXPECTED_ALL
    assert "There is no window “1999X”" in await desk.say("report 1999X")


async def test_the_close_of_window_summary_gives_the_reports_numbers(service) -> None:
    await _register(service)
    async with service.db.session() as session:
        window = await session.scalar(select(Window))
        summary = closing_summary(window, await eois_in(session, window), await need_for(session, window))
    against = next(f.value for f in summary.facts if f.label == "Against identified need").split("\n")
    assert (
        "ASD resourced Colchester primary: identified 16 places; 2 EOIs offering 20; shortlisted 20, approved 12, "
        "opened 0"
    ) in against
    assert (
        "SEMH partnership North East secondary: identified 12 places; 1 EOI offering 6; shortlisted 6, approved 6, "
        "opened 6"
    ) in against
    outside = "ASD resourced Tendring primary (no identified need): 1 EOI offering 4; shortlisted 4, approved 0, "
    outside += "opened 0"
    assert outside in against


async def test_the_console_saves_the_chart_as_a_png(service, tmp_path: Path, monkeypatch) -> None:
    await _register(service)
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    console = Console(service, Speaker("console", "officer-1"), school=None, out=out)
    await console.send("report")
    saved = list(tmp_path.glob("report-2627A-*.png"))
    assert len(saved) == 1 and saved[0].read_bytes().startswith(PNG)
    assert saved[0].stat().st_mode & 0o777 == 0o600
    assert f"(saved to {saved[0].name})" in out.getvalue() and "identified 96" in out.getvalue()


def _hue(colour: str) -> float:
    r, g, b = (int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5))
    return colorsys.rgb_to_hsv(r, g, b)[0] * 360


async def test_the_chart_can_be_read_each_stage_apart_with_its_places_on_the_bars(service, tmp_path: Path) -> None:
    """The seen chart: "shortlisted" and "opened" two blues side by side, no numbers, a tiny legend."""
    await _register(service)
    chart = report_chart.figure(await _numbers(service))
    # Each stage its own hue, well apart, and its own hatching (greyscale, print, any colour vision).
    stages = report_chart.COLOURS[1:]
    apart = min(abs(_hue(a) - _hue(b)) % 360 for a, b in itertools.combinations(stages, 2))
    assert min(apart, 360 - apart) >= 30, stages
    assert len(set(report_chart.HATCHES[1:])) == len(stages)
    # The places are written on the bars: the approved ASD EOI's 12, the opened SEMH one's 6, ASD shortlisted 20.
    written = [t.get_text() for ax in chart.axes for t in ax.texts]
    assert {"12", "6", "20"} <= set(written) and "0" not in written  # an empty bar says nothing
    # One legend naming every series, in type as large as the axes'.
    [legend] = chart.legends
    assert [t.get_text() for t in legend.get_texts()] == list(report_chart.SERIES)
    assert min(t.get_fontsize() for t in legend.get_texts()) >= 9


async def _numbers(service):
    async with service.db.session() as session:
        return await for_window(session, await session.scalar(select(Window)))
