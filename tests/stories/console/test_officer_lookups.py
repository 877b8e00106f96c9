"""Officer look-ups people expect: `show` by school name or URN as well as reference; `list RP`, `list PP` and
`list autism` (the words headteachers type work for officers too); `officer add` by email."""

from __future__ import annotations

import re

from storage import people
from tests.chat import complete_eoi, headteacher, officer

PP_ANSWERS_START = ["Partnership Provision"]


async def _submitted(service, urn: str, user: str) -> str:
    head = await headteacher(service, urn=urn, user=user)
    return re.search(r"EOI-2627A-\d{3}", await complete_eoi(head)).group(0)


async def test_show_finds_an_eoi_by_urn_or_school_name_as_well_as_reference(service):
    ref = await _submitted(service, "114000", "head")
    desk = officer(service)
    by_ref = await desk.say(f"show {ref}")
    assert await desk.say("show 114000") == by_ref
    assert await desk.say("show meadow primary") == by_ref  # 114000 is Meadow Primary School
    assert "no EOI yet" in await desk.say("show 114001")
    assert "No EOI reference, URN or school name matches “Hogwarts”" in await desk.say("show Hogwarts")
    second = await _submitted(service, "114015", "other")
    await desk.say("show primary")  # several schools' EOIs: a list to choose from
    assert "2 EOIs match “primary”" in desk.text and {f.label for f in desk.last.facts} == {ref, second}
    assert second in await desk.press("Show")


async def test_list_takes_rp_pp_and_need_words_headteachers_use(service):
    resourced = await _submitted(service, "114000", "a")
    head = await headteacher(service, urn="114003", user="b")  # a Colchester secondary offering a PP
    await head.say("start")
    await head.say("PP")
    desk = officer(service)
    rp = await desk.say("list RP draft submitted")
    assert resourced in rp and "1 EOI" in rp
    assert "EOI-2627A-002" in await desk.say("list PP draft")
    assert "No EOIs match" in await desk.say("list PP submitted")
    autism = await desk.say("list autism")
    assert resourced in autism and "EOI-2627A-002" not in autism
    assert resourced in await desk.say("list resourced provision colchester")
    assert "a provision (RP or PP)" in await desk.say("list purple")


async def test_an_officer_is_added_by_email_once_the_bot_knows_them(service):
    desk = officer(service)
    said = await desk.say("officer add jo.bloggs@essex.gov.uk")
    assert "can't reach jo.bloggs@essex.gov.uk yet" in said
    async with service.db.session() as session:
        await people.identify(session, platform="msteams", user_id="29:1jo", email="jo.bloggs@essex.gov.uk")
        await session.commit()
    assert "Jo.Bloggs@essex.gov.uk (msteams:29:1jo) is now an officer" in await desk.say(
        "officer add Jo.Bloggs@essex.gov.uk"
    )
    assert "msteams:29:1jo" in await desk.say("officer list")
    assert "Remove the officer role from jo.bloggs@essex.gov.uk (msteams:29:1jo)?" in await desk.say(
        "officer remove jo.bloggs@essex.gov.uk"
    )
    assert "is no longer an officer" in await desk.press("Yes, remove")
