"""The council's form (version 2 of the questions) in Microsoft Teams, through its real interface: Bot Framework
activities posted to /api/messages, the replies recorded by the local fake Bot Connector (also the fake OneDrive).

The head of an academy answers in personal chat, sends a PDF site plan as a Teams file (a file.download.info
attachment whose downloadUrl the fake serves), has a renamed program refused, gives the trust's sign-off, submits,
and gets the school's PDF copy through Teams' file consent (offered through the read-only `copy REF`, which is what
runs again on "Allow"); an officer in Teams sees the register's facts and the file in `show`, and fetches the file
through a consent card too. A community school's head is never asked for a trust's sign-off.
"""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator

import pypdf
import pytest

from bot.teams_cards import FILE_CONSENT_TYPE, FILE_INFO_TYPE
from storage.clock import Clock
from tests import chat, conftest
from tests.fakes import teams_activities as ta
from tests.real_files import executable
from tests.real_files import pdf as a_pdf
from tests.stories.teams.test_teams_e2e import (
    OFFICER_ID,
    JsonDict,
    Teams,
    User,
    answer_file_offer,
    complete_in_teams,
    consent_attachments,
    consent_card,
    shown_text,
    teams_with,
)

ACADEMY, ACADEMY_HEAD, ACADEMY_EMAIL = "114003", "29:1head114003", "head114003@demo-school.example"
COMMUNITY, COMMUNITY_HEAD, COMMUNITY_EMAIL = "114000", "29:1head114000", "head114000@demo-school.example"
PROGRAM = executable()  # a Windows program, renamed plan.pdf


@pytest.fixture
async def teams(test_db: conftest.TestDatabase, clock: Clock, teams_sdk: str) -> AsyncIterator[Teams]:
    """The demo service on this SDK; the fake connector knows both heads (matched to their schools by the
    register's email) and the officer."""
    members = (
        (ACADEMY_HEAD, ACADEMY_EMAIL, "Alex Academy"),
        (COMMUNITY_HEAD, COMMUNITY_EMAIL, "Pat Head"),
        (OFFICER_ID, "officer@essex.example", "Olu Officer"),
    )
    async with teams_with(test_db, clock, *members, teams_sdk=teams_sdk) as harness:
        yield harness


def read(text: str) -> str:
    """Teams markdown as a person reads it: the backslashes that keep characters literal are not shown."""
    return re.sub(r"\\(.)", r"\1", text)


def facts_of(user: User) -> dict[str, str]:
    """The facts on the cards last seen: short ones in a FactSet (title, value), the others (long, or with a Change
    button) a bold label over their value, each a TextBlock of its own."""
    found: dict[str, str] = {}
    for _, card in user.cards:
        body = card.get("body") or []
        for n, node in enumerate(body):
            if node.get("type") == "FactSet":
                found.update({read(f["title"]): read(f["value"]) for f in node["facts"]})
            elif node.get("weight") == "Bolder" and node.get("separator") and n + 1 < len(body):
                value = body[n + 1]
                if value.get("type") == "TextBlock" and value.get("spacing") == "Small":
                    found[read(node["text"])] = read(value["text"])
    return found


async def send_files(teams: Teams, user: User, *files: tuple[str, bytes]) -> str:
    """Send files in personal chat as Teams does: a message whose attachments are file.download.info, each with a
    pre-authenticated downloadUrl (served by the fake)."""
    activity = ta.message_activity("", user.user_id, user.name, service_url=teams.connector.service_url)
    activity["attachments"] = [teams.connector.file_sent(name, data) for name, data in files]
    user.seen = await teams.post(activity)
    return read(user.text)


async def answer(user: User, *answers: str) -> None:
    for said in answers:
        await user.say(said)
        assert "something went wrong" not in user.text.casefold(), (said, user.text)


def offers(user: User) -> list[tuple[JsonDict, JsonDict]]:
    """(activity, consent attachment) of each file consent card in what the user last saw."""
    return [(a, c) for a in user.seen for c in consent_attachments([a])]


async def allow(teams: Teams, user: User, offer: JsonDict) -> tuple[bytes, list[JsonDict]]:
    """Press Allow: Teams sends the card's context and a OneDrive upload session; the bot PUTs the file there."""
    name = consent_card(offer)["name"]
    replies = await answer_file_offer(teams, user, offer, teams.connector.file_consent_accepted(name))
    assert name in teams.connector.uploads, [shown_text(r) for r in replies]
    return teams.connector.uploads.pop(name), replies


def pdf_text(data: bytes) -> str:
    return " ".join(" ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages).split())


# ------------------------------------------------------------------------------------------------ the story
async def test_an_academy_head_answers_in_teams_sends_a_site_plan_and_an_officer_fetches_it(teams: Teams) -> None:
    head = teams.user(ACADEMY_HEAD, "Alex Academy")
    welcome = read(await head.say("start"))
    assert "as an academy converter in Colchester Learning Trust" in welcome, welcome

    await answer(head, "Partnership Provision", "none", "KS3, KS4", "12", "September 2027")
    await head.say("build up")
    assert "reach the 12 places you proposed" in read(await head.say("2027/28: 6, 2028/29: 10"))
    await answer(head, "2027/28: 6, 2028/29: 12", "1", "Space that needs adaptation")
    await answer(head, "Two classrooms on the first floor, next to the lift.")
    await head.say("Knock through two rooms and add an accessible toilet; the trust's surveyor would manage it.")
    assert "£60,000" in read(await head.say("about £60k"))
    await head.press("Yes")  # the estimate, confirmed on the card
    await answer(head, "Yes", "£10,000", "Yes", "Yes")
    await head.say("Our SENCo has the NPQ; two staff are trained in trauma-informed practice and Zones of Regulation.")
    await answer(head, chat.STAFFING, "Yes", "skip", "14", "38", chat.LONG_VISION)
    assert "attach" in head.text.casefold(), head.text

    # The site plan, sent as a Teams file, is kept; a program renamed plan.pdf is refused with what is accepted.
    plan = a_pdf("Site plan of Colchester Academy")
    said = await send_files(teams, head, ("site-plan.pdf", plan))
    assert "Kept site-plan.pdf (PDF, " in said, said
    said = await send_files(teams, head, ("plan.pdf", PROGRAM))
    assert "plan.pdf isn't a file I can accept" in said and "I accept PDF" in said, said
    assert len(teams.connector.downloads) == 2  # each fetched from its OneDrive link
    await head.say("done")

    # Governance, then the trust's sign-off: asked, as the school is an academy in a trust.
    await answer(head, "Yes, approved", "12 November 2026")
    assert "Has your trust's CEO or board agreed to this?" in read(head.text), head.text
    await answer(head, "Yes", "Jane Smith, CEO", "3 November 2026")
    await answer(head, "Sam Patel", "Headteacher", "sam.patel@school.example", "skip")
    assert "Here is everything you've told us" in head.text, head.text
    review = facts_of(head)
    assert review["Trust sign-off"] == "Yes" and review["Agreed by"] == "Jane Smith, CEO", review
    assert review["Files"].startswith("site-plan.pdf (PDF,"), review
    assert review["Places by year"] == "2027/28: 6, 2028/29: 12" and review["Estimated cost"] == "£60,000"

    # Submitted: the school's PDF copy comes as a file consent card, offered through `copy REF`.
    await head.press("Submit")
    submitted = read(await head.press("I confirm"))
    ref = re.search(r"EOI-[0-9A-Z]+-\d+", submitted)
    assert ref, submitted
    ref = ref.group(0)
    [(offer, consent)] = offers(head)
    assert consent["name"] == f"{ref}.pdf" and consent["content"]["sizeInBytes"] > 0
    assert consent["content"]["acceptContext"] == {"eoi_export": f"copy {ref}", "eoi_file": f"{ref}.pdf"}
    assert "could not be attached" not in head.text

    copy, replies = await allow(teams, head, offer)
    assert copy.startswith(b"%PDF") and len(copy) == consent["content"]["sizeInBytes"]
    text = pdf_text(copy)
    assert ref in text and "Jane Smith, CEO" in text and "site-plan.pdf" in text, text
    [info] = replies[-1]["attachments"]
    assert info["contentType"] == FILE_INFO_TYPE and info["name"] == f"{ref}.pdf"

    # Asked for again later: the same offer.
    await head.say("copy")
    [(again, consent)] = offers(head)
    assert consent["name"] == f"{ref}.pdf" and consent["content"]["acceptContext"]["eoi_export"] == f"copy {ref}"
    declined = await answer_file_offer(teams, head, again, {"type": "fileUpload", "action": "decline"})
    told = read(shown_text(declined[-1]))
    assert "No file sent" in told and f"copy {ref}" in told and "export" not in told, told  # not an officer's
    assert f"{ref}.pdf" not in teams.connector.uploads

    # An officer in Teams: the register's facts and the file in `show`, the file fetched through a consent card.
    ecc = teams.user(OFFICER_ID, "Olu Officer")
    await ecc.say(f"show {ref}")
    facts = facts_of(ecc)
    assert facts["School type"] == "Academy converter" and facts["Trust"] == "Colchester Learning Trust", facts
    assert facts["Files"].startswith("site-plan.pdf (PDF, "), facts
    assert ecc.find_button("Fetch the files"), ecc.text

    await ecc.say(f"show {ref} files")
    [(offer, consent)] = offers(ecc)
    assert consent["name"] == "site-plan.pdf" and consent["content"]["sizeInBytes"] == len(plan)
    assert "could not be attached" not in ecc.text
    fetched, replies = await allow(teams, ecc, offer)
    assert fetched == plan  # exactly the bytes the head sent
    [info] = replies[-1]["attachments"]
    assert info["contentType"] == FILE_INFO_TYPE and info["name"] == "site-plan.pdf"

    # The button on `show` does the same.
    await ecc.say(f"show {ref}")
    await ecc.press("Fetch the files")
    [(offer, consent)] = offers(ecc)
    assert consent["name"] == "site-plan.pdf"
    fetched, _ = await allow(teams, ecc, offer)
    assert fetched == plan

    # A card for a file the EOI no longer has (its context names the file) uploads nothing, not another file.
    stale = {**consent_card(offer)["content"]["acceptContext"], "eoi_file": "old-plan.pdf"}
    value = {**teams.connector.file_consent_accepted("old-plan.pdf"), "context": stale}
    invoke = ta.file_consent_invoke(value, ecc.user_id, ecc.name, service_url=teams.connector.service_url)
    replies = await teams.post(invoke)
    assert "I don't recognise that file any more" in shown_text(replies[-1]) and not teams.connector.uploads

    # Asked for in a channel: never posted there, and the officer is told what to message the bot instead.
    in_channel = teams.user(OFFICER_ID, "Olu Officer", conversation_type="channel")
    said = read(await in_channel.say(f"show {ref} files"))
    assert f"personal chat only: message me `show {ref} file" in said, said  # `show REF file 1` or `files`
    assert not offers(in_channel) and "%PDF" not in said

    # The head can't fetch the files through the officer's offer.
    replies = await answer_file_offer(teams, head, offer, teams.connector.file_consent_accepted("site-plan.pdf"))
    assert "for ECC officers only" in shown_text(replies[-1]) and not teams.connector.uploads


async def test_a_community_schools_head_in_teams_is_never_asked_for_a_trusts_sign_off(teams: Teams) -> None:
    head = teams.user(COMMUNITY_HEAD, "Pat Head")
    assert "as a community school" in read(await head.say("start"))
    await complete_in_teams(head, chat.RESOURCED_ANSWERS)
    assert "Here is everything you've told us" in head.text, head.text
    review = facts_of(head)
    assert "Trust sign-off" not in review and "Agreed by" not in review, review
    assert review.get("Files") == "None" and "Places open" in review, review
    assert not any(FILE_CONSENT_TYPE in str(a["body"]) for a in head.seen)
