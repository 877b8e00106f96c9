"""An officer's export opens safely in a spreadsheet: an answer or a register entry that looks like a formula
arrives as text (OWASP, "CSV Injection": a leading single quote, every cell quoted), whichever way the
export is made, and reading the CSV back gives what was typed, less that quote."""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

import pytest

from bot import cli
from bot.console import Console
from dialogs.turns import Speaker
from storage.models import School
from tests.chat import LONG_VISION, RESOURCED_ANSWERS, complete_eoi, headteacher

LINK = '=HYPERLINK("http://evil.example","click")'
VISION = f"{LINK} {LONG_VISION}"  # long enough to pass the question's 100-character minimum
ROLE = "@SUM(1+1)"
SCHOOL_NAME = "-2+3 Academy, Chelmsford"
HOSTILE_ANSWERS = [VISION if a == LONG_VISION else ROLE if a == "Headteacher" else a for a in RESOURCED_ANSWERS]
SCHOOLS_HEADER = (
    "urn,name,phase,quadrant,district,headteacher_name,headteacher_email,slack_channel_id,teams_channel_id\n"
)


def _submitted_row(content: str) -> dict[str, str]:
    [row] = [r for r in csv.DictReader(io.StringIO(content)) if r["status"] == "submitted"]
    return row


def _assert_neutralised(content: str) -> None:
    row = _submitted_row(content)
    # Each dangerous cell starts with a single quote, so a spreadsheet shows it as text and runs nothing...
    assert row["inclusion_vision"] == "'" + VISION
    assert row["contact_role"] == "'" + ROLE
    assert row["school"] == "'" + SCHOOL_NAME
    # ...and without that quote it is exactly what was typed.
    assert row["inclusion_vision"].removeprefix("'") == VISION
    # Every cell under the header is quoted, so no separator inside an answer can start a cell of its own.
    header, *lines = content.splitlines()
    assert header.startswith("ref,window,urn,school,")
    for line in lines:
        assert line.startswith('"') and line.endswith('"'), line
    # Ordinary cells are untouched.
    assert row["urn"] == "114000" and row["contact_name"] == "Sam Patel" and row["places"] == "12"


async def test_a_formula_typed_as_an_answer_reaches_the_officers_console_export_as_text(service, tmp_path, monkeypatch):
    async with service.db.session() as session:  # the register names the school so
        school = await session.get(School, "114000")
        school.name = SCHOOL_NAME
        await session.commit()
    head = await headteacher(service)
    assert "submitted" in await complete_eoi(head, HOSTILE_ANSWERS)

    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    console = Console(service, Speaker("console", "officer-1"), school=None, out=out)
    await console.send("export")
    [saved] = list(tmp_path.glob("eois-*.csv"))
    assert f"(saved to {saved.name})" in out.getvalue()
    _assert_neutralised(saved.read_text(encoding="utf-8"))


@pytest.mark.parametrize("to_file", [False, True], ids=["stdout", "--out"])
def test_a_formula_typed_as_an_answer_reaches_the_command_line_export_as_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], to_file: bool
) -> None:
    monkeypatch.chdir(tmp_path)  # the console saves the school's PDF copy where it runs
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'eoi-bot.db'}")
    monkeypatch.setenv("EOI_NOW", "2026-11-30T10:00:00+00:00")
    assert cli.main(["seed", "--demo"]) == 0
    register = tmp_path / "schools.csv"
    register.write_text(
        SCHOOLS_HEADER
        + f'114000,"{SCHOOL_NAME}",primary,North East,Colchester,Pat Head,head114000@demo-school.example,,\n',
        encoding="utf-8",
    )
    assert cli.main(["import", "schools", str(register)]) == 0
    typed = ["start", *HOSTILE_ANSWERS, "Submit", "I confirm and submit"]
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(typed) + "\n"))
    assert cli.main(["chat", "--as", "headteacher", "--school", "114000"]) == 0
    assert "expression of interest is submitted" in capsys.readouterr().out

    if to_file:
        out = tmp_path / "eois.csv"
        assert cli.main(["export", "--out", str(out)]) == 0
        content = out.read_text(encoding="utf-8")
    else:
        assert cli.main(["export"]) == 0
        content = capsys.readouterr().out
    _assert_neutralised(content)
