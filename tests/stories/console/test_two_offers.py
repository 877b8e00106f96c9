"""A school may offer both kinds of provision in one window: a Resourced Provision and a Partnership Provision
are two EOIs, each with its own reference, that officers see apart. A second EOI for the same provision in the
same window is refused, naming the first, and nothing is lost."""

from __future__ import annotations

import re

from tests.chat import OTHER_NEED_EXPLAINED, RESOURCED_ANSWERS, Chat, complete_eoi, headteacher, officer

# The rest of an EOI once the provision is chosen: a Partnership Provision's need is SEMH, so it isn't asked.
PARTNERSHIP_REST = RESOURCED_ANSWERS[2:]


def _refs(text: str) -> list[str]:
    return re.findall(r"EOI-\d{4}[AS]-\d{3}", text)


async def _answer(chat: Chat, answers: list[str]) -> None:
    for answer in answers:
        await chat.say(answer)
        if chat.last.question_id == "priority_need_other":
            await chat.say(OTHER_NEED_EXPLAINED)


async def test_a_school_submits_an_rp_then_a_pp_in_the_same_window_and_officers_see_two_eois(service):
    head = await headteacher(service)
    rp = _refs(await complete_eoi(head))[0]

    # Start again: the RP is shown as it stands, and the other provision is offered.
    text = await head.say("start")
    assert f"{rp} is submitted" in text and "Provision: Resourced Provision" in text
    assert "may also offer a Partnership Provision in the same window" in text
    started = await head.press("Start a Partnership Provision EOI")
    pp = _refs(started)[0]
    assert pp != rp and "It offers a Partnership Provision" in started
    assert "Question 2 of" in started  # the provision is already answered

    await _answer(head, PARTNERSHIP_REST)
    assert head.last.kind == "review", head.text
    assert "Provision type: Partnership Provision" in head.text
    await head.press("Submit")
    assert f"Your reference is {pp}" in await head.press("I confirm")

    # Status lists both; neither provision is offered again.
    status = await head.say("status")
    assert f"{rp} is submitted" in status and f"{pp} is submitted" in status
    assert "may also offer" not in status

    desk = officer(service)
    listed = await desk.say("list submitted")
    assert rp in listed and pp in listed
    shown_rp, shown_pp = await desk.say(f"show {rp}"), await desk.say(f"show {pp}")
    assert "Resourced Provision" in shown_rp and "Partnership Provision" in shown_pp

    # Each EOI is reviewed, withdrawn and amended by its own reference.
    assert f"{pp} as you submitted it" in await head.say(f"review {pp}")
    assert f"Withdraw {rp}?" in await head.say(f"withdraw {rp}")
    await head.press("Yes, withdraw")
    assert f"{rp} is withdrawn" in head.text
    assert f"{pp} is open for changes" in await head.say(f"amend {pp}")
    await head.say("save")
    status = await head.say("status")
    assert f"{rp} is withdrawn" in status and f"{pp} is draft" in status
    assert f"Carrying on with Meadow Primary School, Colchester's draft {pp}" in await head.say("start")
    await head.say("save")
    assert f"{rp} is a draft again" in await head.say(f"start {rp}")  # restarted: never a second RP


async def test_a_second_rp_in_the_same_window_is_refused_naming_the_first_and_nothing_is_lost(service):
    head = await headteacher(service)
    rp = _refs(await complete_eoi(head))[0]
    colleague = await headteacher(service, user="deputy-1")

    # Typed: `start RP` carries on with (here: shows) the school's RP, it never begins a second one.
    text = await colleague.say("start RP")
    assert f"{rp} is submitted" in text and len(set(_refs(text))) == 1

    # A PP draft whose first answer is changed to Resourced Provision is refused, naming the RP.
    await colleague.say("start PP")
    await colleague.say("none")  # other needs
    pp = _refs(await colleague.say("status"))
    draft = next(ref for ref in pp if ref != rp)
    await colleague.say(f"start {draft}")
    await colleague.say("back")
    await colleague.say("back")
    assert colleague.last.question_id == "provision_type", colleague.text
    refused = await colleague.say("Resourced Provision")
    assert (
        f"Your school already has a Resourced Provision EOI, {rp}, in this window (submitted): "
        f"type start {rp} to carry on with it" in refused
    )
    assert colleague.last.question_id == "provision_type"  # asked again, the answer unchanged
    assert "Current answer: Partnership Provision" in colleague.text

    status = await colleague.say("status")
    assert f"{rp} is submitted" in status and f"{draft} is draft" in status
    listed = await officer(service).say("list")
    assert rp in listed and draft in listed


async def test_two_drafts_cancelled_in_one_window_never_clash(service):
    head = await headteacher(service)
    rp = _refs(await head.say("start"))[0]
    await head.say("RP")
    await head.say("save")
    pp = _refs(await head.say("start PP"))[0]
    assert pp != rp and "It offers a Partnership Provision" in head.text
    await head.say("cancel")
    assert "deleted" in await head.press("Yes, delete")  # the PP draft no longer says which provision

    assert "Question 2 of" in await head.say(f"start {rp}")
    await head.say("cancel")
    cancelled = await head.press("Yes, delete")
    assert "It stays Meadow Primary School, Colchester's Resourced Provision draft" in cancelled
    status = await head.say("status")
    assert f"{rp} is draft" in status and f"{pp} is draft" in status
    assert "Provision: Resourced Provision" in status
