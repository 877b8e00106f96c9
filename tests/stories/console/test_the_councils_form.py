"""The council's real form (version 2 of the questions): the register's facts shown once, a trust's sign-off
asked of an academy and not of a community school, places that build up year by year, the building work and its
cost, the staffing model and outreach, files as evidence, and the words people use for the provision."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pypdf
import pytest

from bot.console import Console
from bot.service import Service
from dialogs.turns import ReceivedFile, Speaker
from storage.models import School
from tests.chat import LONG_VISION, RESOURCED_ANSWERS, STAFFING, Chat, complete_eoi, headteacher, officer
from tests.real_files import executable, pdf, png

ACADEMY = "114003"  # a secondary in Colchester: in the demo register, an academy in a trust
COMMUNITY = "114000"  # a primary in Colchester: a community school


async def _answer(chat: Chat, *answers: str) -> None:
    for answer in answers:
        await chat.say(answer)


async def test_an_academy_head_answers_version_2_with_a_site_plan_and_an_officer_sees_it_all(service):
    head = await headteacher(service, ACADEMY, user="academy-head")
    welcome = await head.say("start")
    assert "as an academy converter in Colchester Learning Trust, ages 11 to 16" in welcome
    assert "on roll of" in welcome and "tell an officer if that is wrong" in welcome

    await _answer(head, "Partnership Provision", "none", "KS3, KS4", "12", "September 2027")
    assert head.last.question_id == "places_by_year"
    # Build up: the plan must reach the 12 places proposed.
    await head.say("build up")
    said = await head.say("2027/28: 6, 2028/29: 10")
    assert "reach the 12 places you proposed" in said
    assert head.last.question_id == "places_plan"
    await head.say("2027/28: 6, 2028/29: 12")
    await _answer(head, "1", "Space that needs adaptation", "Two classrooms on the first floor, next to the lift.")
    assert head.last.question_id == "works_estimate"
    await head.say("Knock through two rooms and add an accessible toilet; the trust's surveyor would manage it.")
    said = await head.say("about £60k")
    assert "£60,000" in said
    await head.press("Yes")
    await _answer(head, "Yes", "£10,000", "Yes", "Yes")
    await head.say("Our SENCo has the NPQ; two staff are trained in trauma-informed practice and Zones of Regulation.")
    await _answer(head, STAFFING, "Yes", "skip", "14", "38", LONG_VISION)
    assert head.last.question_id == "attachments"

    said = await head.send(ReceivedFile("site-plan.pdf", pdf()), ReceivedFile("photo.png", png()))
    assert "Kept site-plan.pdf (PDF" in said and "Kept photo.png (PNG" in said
    said = await head.send(ReceivedFile("plan.pdf", executable()))  # a program, renamed
    assert "plan.pdf isn't a file I can accept" in said and "PDF" in said
    await head.say("remove 2")
    assert "Removed photo.png" in head.text
    await head.say("done")

    await _answer(head, "Yes, approved", "12 November 2026")
    assert head.last.question_id == "trust_signoff"
    assert "Not applicable" not in [c.label for c in head.last.choices][0:3]  # an academy has a trust
    await _answer(head, "Yes", "Jane Smith, CEO", "3 November 2026")
    await _answer(head, "Sam Patel", "Headteacher", "sam.patel@school.example", "skip")
    assert head.last.kind == "review", head.text
    review = {f.label: f.value for f in head.last.facts}
    assert review["Places by year"] == "2027/28: 6, 2028/29: 12"
    assert review["Estimated cost"] == "£60,000"
    assert review["Contribution offered"] == "Yes" and review["Contribution amount"] == "£10,000"
    assert review["Trust sign-off"] == "Yes" and review["Agreed by"] == "Jane Smith, CEO"
    assert review["Files"].startswith("site-plan.pdf (PDF,")
    await head.press("Submit")
    submitted = await head.press("I confirm")
    ref = next(w.strip(".,*") for w in submitted.split() if w.startswith("EOI-"))

    ecc = officer(service)
    shown = await ecc.say(f"show {ref}")
    facts = {f.label: f.value for f in ecc.last.facts}
    assert facts["School type"] == "Academy converter" and facts["Trust"] == "Colchester Learning Trust"
    assert "on roll of" in facts["Pupils"]
    assert facts["Files"].startswith("site-plan.pdf (PDF,") and "Outreach" in facts
    assert "Fetch the files" in [c.label for c in ecc.last.choices], shown
    fetched_text = await ecc.press("Fetch the files")
    files = [r for r in ecc.replies if r.file]
    assert len(files) == 1, fetched_text
    fetched = files[0]
    assert fetched.file == ("site-plan.pdf", pdf())

    await ecc.say("export")
    (exported,) = [r for r in ecc.replies if r.file]
    rows = list(csv.reader(io.StringIO(str(exported.file[1]))))
    header, row = rows[0], dict(zip(rows[0], rows[1], strict=True))
    # Version 1's columns keep their places; version 2's come after the last of them.
    assert header.index("contact_phone") < header.index("decision") < header.index("places_by_year")
    assert header[-1] == "trust_signoff_date"
    assert row["places_plan"] == "2027/28:6;2028/29:12" and row["works_cost"] == "60000"
    assert row["attachments"] == "site-plan.pdf" and row["trust_signoff_by"] == "Jane Smith, CEO"

    await ecc.say("report")
    reported = {f.label: f.value for f in ecc.last.facts}
    assert reported["Places open by year"] == "2027/28: 6 · 2028/29: 12"
    assert reported["Building work"] == (
        "1 offer needs building work; 1 estimated £60,000 in all; schools or trusts could put in £10,000"
    )
    assert reported["Outreach"] == "yes 1 · possibly later 0 · no 0"
    assert reported["Trust sign-off"] == "1 of 1 academies or free schools agreed"


async def test_a_community_school_is_never_asked_for_its_trusts_sign_off(service):
    head = await headteacher(service, COMMUNITY)
    assert "as a community school" in await head.say("start")
    await complete_eoi(head, RESOURCED_ANSWERS)
    await head.say("review")
    labels = [f.label for f in head.last.facts]
    assert "Trust sign-off" not in labels and "Places open" in labels and "Files" in labels


async def test_files_sent_when_the_form_is_not_asking_for_them_are_not_kept(service):
    head = await headteacher(service, COMMUNITY)
    await head.say("start")
    said = await head.send(ReceivedFile("site-plan.pdf", pdf()))
    assert "nothing was kept" in said and "change files" in said
    assert head.last.question_id == "provision_type"  # the question asked, asked again


async def test_a_file_too_big_to_fetch_or_whose_download_failed_is_refused_and_nothing_is_kept(service):
    head = await headteacher(service, COMMUNITY)
    await head.say("start")
    for answer in RESOURCED_ANSWERS:
        if head.last.question_id == "attachments":
            break
        await head.say(answer)
    assert head.last.question_id == "attachments"
    said = await head.send(
        ReceivedFile("survey.pdf", size=25 * 1024 * 1024, problem="too_big"),
        ReceivedFile("minutes.docx", problem="unreachable"),
    )
    assert "survey.pdf is over 20 MB" in said and "I accept PDF" in said
    assert "minutes.docx couldn't be fetched" in said and "please send it again" in said
    await head.say("done")
    await head.say("review")
    assert {f.label: f.value for f in head.last.facts}["Files"] == "None"


async def test_other_names_for_the_provision_are_understood_as_resourced_provision(service):
    head = await headteacher(service, COMMUNITY)
    await head.say("start")
    await head.say("an inclusion base")
    assert head.last.question_id == "primary_need"  # Resourced Provision: its need is asked
    await head.say("save")
    said = await head.say("is an SRP the same thing?")
    assert "what ECC commissions as a Resourced Provision" in said and "inclusion base" in said
    assert "inclusion base" in await head.say("help")


async def test_a_head_at_the_terminal_attaches_a_site_plan_and_keeps_the_pdf_copy_it_saves(
    service: Service, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`eoi-bot chat`: `attach PATH` sends a file as Slack or Teams would; the copy is saved beside the terminal."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "site plan.pdf").write_bytes(pdf())
    await headteacher(service, COMMUNITY, user="head-at-terminal")
    async with service.db.session() as session:
        school = await session.get(School, COMMUNITY)
    out = io.StringIO()
    console = Console(service, Speaker("console", "head-at-terminal"), school=school, out=out)
    await console.send("start")
    for answer in RESOURCED_ANSWERS[: RESOURCED_ANSWERS.index("done")]:
        await console.send(answer)
    assert "(to send files here: attach PATH [PATH...])" in out.getvalue()
    await console.send(f"attach '{tmp_path / 'site plan.pdf'}'")
    assert "Kept site plan.pdf (PDF" in out.getvalue()
    for answer in RESOURCED_ANSWERS[RESOURCED_ANSWERS.index("done") :]:
        await console.send(answer)
    await console.send("submit")
    await console.send("1")  # I confirm and submit
    printed = out.getvalue()
    assert "expression of interest is submitted" in printed, printed[-2000:]
    (saved,) = tmp_path.glob("EOI-*.pdf")
    assert oct(saved.stat().st_mode & 0o777) == "0o600"  # the school's answers: readable by its owner only
    text = " ".join(page.extract_text() for page in pypdf.PdfReader(saved).pages)
    assert "site plan.pdf" in text and "Sam Patel" in text


async def test_changing_the_places_asks_for_the_plan_again_saying_why(service: Service) -> None:
    head = await headteacher(service, COMMUNITY)
    answers = list(RESOURCED_ANSWERS)
    at = answers.index("All at once")
    answers[at : at + 1] = ["Build up", "year 1: 6, year 2: 12"]  # years counted from the opening, September 2027
    await complete_eoi(head, answers)
    await head.say("amend")
    await head.say("change places")
    told = await head.say("14")
    assert "I'll ask Places by year again: the last year must reach the 14 places you proposed" in told
    assert head.last.question_id == "places_plan"
    await head.say("2027/28: 6, 2028/29: 10, 2029/30: 14")
    assert head.last.kind == "review"
    assert {f.label: f.value for f in head.last.facts}["Places by year"] == "2027/28: 6, 2028/29: 10, 2029/30: 14"
