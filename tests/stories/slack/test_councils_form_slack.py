"""The council's form in Slack: the head of an academy answers it in the app's DM, sends a PDF site plan as a Slack
file (and a program renamed plan.pdf, which is refused), gives the trust's sign-off, submits, and gets the PDF
copy of what they sent as a file in the DM; an officer sees the register's facts and the file in `show`, and
fetches the site plan, byte for byte, into their own DM. A community school's head is never asked for a trust's
sign-off. The same story in the console: tests/stories/console/test_the_councils_form.py."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pypdf import PdfReader

from storage.clock import Clock
from storage.models import School
from tests.chat import LONG_VISION, RESOURCED_ANSWERS, STAFFING
from tests.conftest import TestDatabase as _TestDatabase
from tests.fakes import slack_requests as sr
from tests.real_files import executable
from tests.real_files import pdf as a_pdf
from tests.slack_fixtures import HEAD_ID, OFFICER_ID, Workspace, slack_workspace, text_of
from tests.slack_fixtures import Person as SlackPerson

ACADEMY = "114003"  # a secondary in Colchester: in the demo register, an academy converter in a trust
ACADEMY_HEAD = "U0ACADEMYHEAD"
ACADEMY_HEAD_EMAIL = f"head{ACADEMY}@demo-school.example"  # the register's email for its head (storage/seed.py)
PROGRAM = executable()  # a Windows program


@pytest.fixture
async def slack(test_db: _TestDatabase, clock: Clock) -> AsyncIterator[Workspace]:
    """The Slack workspace (the head of community school 114000 is HEAD_ID), with the academy's head in it too:
    Slack gives the register's email for them, so the bot knows whose head they are."""
    async with slack_workspace(test_db, clock) as workspace:
        workspace.fake.add_user(ACADEMY_HEAD, ACADEMY_HEAD_EMAIL, "Alex Academy")
        yield workspace


def file_share(user: str, files: list[dict[str, Any]]) -> str:
    """A message event with files and no words, as Slack sends one when someone shares files in the app's DM."""
    body = json.loads(sr.message_im_event_body(user, ""))
    body["event"].update(subtype="file_share", files=files, upload=True, blocks=[])
    return json.dumps(body)


async def sends_file(slack: Workspace, person: SlackPerson, name: str, data: bytes, mimetype: str) -> str:
    """Share one file in the DM (Slack's file host serves its bytes); what the bot said back."""
    shared = slack.fake.add_user_file(name, data, user=person.user_id, mimetype=mimetype)
    await slack.turn(file_share(person.user_id, [shared]), person)
    return person.heard


async def says(person: SlackPerson, *answers: str) -> str:
    """Type each answer in turn; what the bot said to the last one."""
    for answer in answers:
        await person.types(answer)
        assert person.latest, f"no answer to {answer!r}"
    return person.heard


async def register_entry(slack: Workspace, urn: str) -> School:
    async with slack.service.db.session() as session:
        school = await session.get(School, urn)
        assert school is not None
        return school


def shown_buttons(person: SlackPerson) -> list[str]:
    return [
        e["text"]["text"]
        for b in person.last.get("blocks", [])
        for e in ([b["accessory"]] if "accessory" in b else b.get("elements", []))
        if e.get("type") == "button"
    ]


def shared_in_dm(slack: Workspace, user_id: str) -> list[tuple[dict[str, Any], bytes]]:
    """Files the bot shared in its DM with this person, with the bytes it uploaded, oldest first."""
    return [(f, slack.fake.uploads[f["id"]]) for f in slack.fake.shared_files(f"D{user_id}")]


async def test_an_academy_head_sends_the_form_with_a_site_plan_and_an_officer_fetches_it(slack: Workspace) -> None:
    head = slack.person(ACADEMY_HEAD)
    welcome = await says(head, "start")
    school = await register_entry(slack, ACADEMY)
    assert "as an academy converter in Colchester Learning Trust, ages 11 to 16" in welcome, welcome
    assert f"{school.pupils:,} on roll of {school.capacity:,} places" in welcome, welcome

    await says(head, "Partnership Provision", "none")
    await head.tick_and_done("KS3", "KS4")  # the key stages are boxes to tick
    await says(head, "12", "September 2027", "build up")
    said = await says(head, "2027/28: 6, 2028/29: 10")
    assert "reach the 12 places you proposed" in said, said  # the plan must reach the places proposed
    await says(head, "2027/28: 6, 2028/29: 12")
    await says(head, "1", "Space that needs adaptation", "Two classrooms on the first floor, next to the lift.")
    await says(head, "Knock through two rooms and add an accessible toilet; the trust's surveyor would manage it.")
    said = await says(head, "about £60k")
    assert "£60,000" in said, said
    await head.press("Yes")  # the school or trust would contribute
    await says(head, "Yes", "£10,000", "Yes", "Yes")
    await says(head, "Our SENCo has the NPQ; two staff are trained in trauma-informed practice and Zones of Regulation")
    said = await says(head, STAFFING, "Yes", "skip", "14", "38", LONG_VISION)
    assert "Anything to attach" in said, said

    plan = a_pdf()
    said = await sends_file(slack, head, "site-plan.pdf", plan, "application/pdf")
    assert "Kept site-plan.pdf (PDF" in said, said
    # Fetched as Slack has it: files.info with the bot's token, then the file's own download URL.
    (download,) = slack.fake.downloads()
    assert download.response["ok"] and download.headers["Authorization"] == "Bearer xoxb-test"
    said = await sends_file(slack, head, "plan.pdf", PROGRAM, "application/pdf")  # a program, renamed
    assert "plan.pdf isn't a file I can accept" in said and "I accept PDF, Word (DOCX)" in said, said
    assert "1. site-plan.pdf (PDF" in said and "2." not in said  # the question again: only the site plan kept
    await says(head, "done")

    await says(head, "Yes, approved", "12 November 2026")
    assert "trust's CEO" in head.heard, head.heard  # an academy: its trust's sign-off is asked
    await says(head, "Yes", "Jane Smith, CEO", "3 November 2026")
    review = await says(head, "Sam Patel", "Headteacher", "sam.patel@school.example", "skip")
    assert "*Trust sign-off*: Yes" in review and "*Agreed by*: Jane Smith, CEO" in review, review
    assert "*Places by year*: 2027/28: 6, 2028/29: 12" in review
    assert "*Estimated cost*: £60,000" in review and "*Contribution amount*: £10,000" in review
    assert "*Files*: site-plan.pdf (PDF," in review
    contribution = next(b for b in head.last["blocks"] if "Contribution offered*" in text_of({"blocks": [b]}))
    assert contribution["accessory"]["text"]["text"] == "Change Contribution offered"  # beside its answer
    await head.press("Submit")
    await head.press("I confirm")
    ref = next(w.strip(".,*") for w in head.heard.split() if w.startswith("EOI-"))

    # The PDF copy of what they sent arrives in their DM as a file, its text the school's answers.
    ((copy, copy_bytes),) = shared_in_dm(slack, ACADEMY_HEAD)
    assert copy["name"] == f"{ref}.pdf" and copy_bytes.startswith(b"%PDF")
    copy_text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(copy_bytes)).pages)
    assert ref in copy_text and "Jane Smith, CEO" in copy_text and "site-plan.pdf" in copy_text, copy_text

    ecc = slack.person(OFFICER_ID)
    await ecc.slash(f"show {ref}")
    shown = ecc.heard
    assert "*School type*: Academy converter" in shown and "*Trust*: Colchester Learning Trust" in shown, shown
    assert f"*Pupils*: {school.pupils:,} on roll of" in shown
    assert "*Files*: site-plan.pdf (PDF," in shown
    assert "Fetch the files" in shown_buttons(ecc)
    await ecc.types(f"show {ref} files")  # the button's command, typed
    fetched = shared_in_dm(slack, OFFICER_ID)
    assert [(f["name"], data) for f, data in fetched] == [("site-plan.pdf", plan)]
    assert not shared_in_dm(slack, ACADEMY_HEAD)[1:]  # the officer's files went to the officer alone


async def test_a_community_schools_head_is_never_asked_for_a_trusts_sign_off(slack: Workspace) -> None:
    head = slack.person(HEAD_ID)  # the head of 114000, a community primary
    assert "as a community school" in await says(head, "start")
    for answer in RESOURCED_ANSWERS:
        await says(head, answer)
    review = head.heard
    assert "Trust sign-off" not in review and "Places open" in review, review
    await head.press("Submit")
    await head.press("I confirm")
    assert "EOI-" in head.heard
    assert not [m for m in head.seen if "trust's CEO" in text_of(m)]
