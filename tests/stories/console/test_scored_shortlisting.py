"""Scored shortlisting in the console (issue 27): officers score each submitted EOI against the council's criteria
(dialogs/shortlisting_criteria.yaml), each 0-3 with a reason; two officers' scores are both kept, `show` has each and
the mean, `list submitted by score` puts the highest mean total first, and a school not shortlisted is offered
feedback drawn from the reasons for its lowest scores, which the officer edits (or sends as it is) before it goes.
What can't be kept is refused whole, saying why, with what was typed given back to correct."""

from __future__ import annotations

import re

from sqlalchemy import select

from dialogs.replies import Reply
from dialogs.turns import Speaker
from storage.models import Score
from tests.chat import Chat, complete_eoi, headteacher, officer

# Olive's scores of Meadow Primary's EOI, typed all at once: `;` between criteria, or a reason in quotes.
OLIVE = (
    'need 3 Matches the ASD need in Colchester; travel 2 "On the bus route from Tiptree" accommodation 1 Rooms need '
    "works before opening; staffing 2 Two TAs with Level 3 autism training; leadership 3 A strong inclusion "
    "record; value 2 Fair for 12 places"
)
# Sam's, one criterion, then the rest.
SAM_NEED = "need 2 Close to the need, though mostly KS1"
SAM_REST = (
    "travel 2 Reachable; accommodation 1 The sensory room is not built yet; staffing 1 No teacher with autism "
    "experience named; leadership 2 Good record; value 1 The works cost more than the places bring"
)


async def _submitted(service, urn: str, user: str) -> tuple[str, Chat]:
    head = await headteacher(service, urn=urn, user=user)
    return re.search(r"EOI-2627A-\d{3}", await complete_eoi(head)).group(0), head


async def _two_officers(service) -> tuple[Chat, Chat]:
    """Olive (an officer from the start, EOI_OFFICERS) adds Sam; each is known by name."""
    olive = Chat(service, Speaker("console", "officer-1", "Olive Officer"))
    assert "is now an officer" in await olive.say("officer add console:officer-2")
    return olive, Chat(service, Speaker("console", "officer-2", "Sam Scorer"))


async def _school_heard(service, urn: str) -> list[Reply]:
    found = await service.conversations.pending_notices(
        destination=f"console:head-{urn}", audience="school", school_urn=urn
    )
    return [Reply.from_dict(n.body) for n in found]


def _refs(text: str) -> list[str]:
    return re.findall(r"EOI-2627A-\d{3}", text)


async def test_two_officers_score_an_eoi_show_has_both_and_the_mean_and_the_list_sorts_by_score(service):
    meadow, _ = await _submitted(service, "114000", "head-114000")
    hillcrest, _ = await _submitted(service, "114001", "head-114001")
    greenfields, _ = await _submitted(service, "114002", "head-114002")
    olive, sam = await _two_officers(service)

    # `score REF`: the council's criteria, what each score means, how to type scores, and the form.
    sheet = await olive.say(f"score {meadow}")
    assert "Fit to the identified need (need)" in sheet and "Value for money (value)" in sheet
    assert "0 (no suitable space) · 1 (major works needed) · 2 (minor works needed) · 3 (ready now)" in sheet
    assert f"`score {meadow} need 3 matches the ASD need; travel 2 on the bus route`" in sheet
    form = olive.find("Score").form
    assert form.command == f"score {meadow}"
    assert [f.name for f in form.fields[:4]] == ["need", "need_why", "travel", "travel_why"]
    assert form.fields[0].options == ("0", "1", "2", "3")

    # A score outside 0-3 and a missing reason: nothing is kept, each problem said on its field, and what was
    # typed comes back whole, to correct and send again.
    typed = f'score {meadow} need 3 Matches the ASD need; travel 5 "On the bus route"; value 2'
    refused = await olive.say(typed)
    assert olive.last.kind == "error" and set(olive.last.field_errors) == {"travel", "value_why"}
    assert "choose a score from 0 to 3" in olive.last.field_errors["travel"]
    assert "say why" in olive.last.field_errors["value_why"]
    assert f'`score {meadow} need 3 "Matches the ASD need"; travel 5 "On the bus route"; value 2`' in refused
    assert "which criterion" in await olive.say(f"score {meadow} 3 great")
    assert "Scores by" not in await olive.say(f"show {meadow}")

    # Olive types all six at once, then changes one: only that one is replaced (the earlier kept in the history).
    kept = await olive.say(f"score {meadow} {OLIVE}")
    assert "Kept your scores" in kept and "• Location and travel: 2 (reachable): On the bus route from Tiptree" in kept
    assert "Your total: 13 of 18." in kept
    kept = await olive.say(f"score {meadow} accommodation 0 No suitable space until 2028")
    assert "• Accommodation readiness: 0 (no suitable space): No suitable space until 2028" in kept
    assert "Your total: 12 of 18." in kept

    # Sam scores one criterion, is told what is left, then scores the rest: Olive's scores stay as they are.
    said = await sam.say(f"score {meadow} {SAM_NEED}")
    assert f"Still to score: travel, accommodation, staffing, leadership, value, e.g. `score {meadow} travel" in said
    said = await sam.say(f"score {meadow} {SAM_REST}")
    assert "Your total: 9 of 18. Mean of 2 officers: 10.5 of 18." in said

    # `show`: each officer's scores by name, with their reasons and total, and the mean of each and of the total.
    shown = await olive.say(f"show {meadow}")
    assert "Scores by Olive Officer (console): Total 12 of 18" in shown
    assert "• Fit to the identified need: 3 (close match): Matches the ASD need in Colchester" in shown
    assert "Scores by Sam Scorer (console): Total 9 of 18" in shown
    assert "• Staffing and expertise: 1 (weak): No teacher with autism experience named" in shown
    assert "Mean of 2 officers' scores: Total 10.5 of 18" in shown
    assert "• Accommodation readiness: 0.5" in shown and "• Fit to the identified need: 2.5" in shown
    assert "score by Olive Officer (console): accommodation 0 (was 1: Rooms need works before opening)" in shown
    assert "Score" in [c.label for c in olive.last.choices]

    # Hillcrest is scored higher by one officer; nobody has scored Greenfields yet.
    await olive.say(
        f"score {hillcrest} need 3 Close match; travel 3 Central; accommodation 3 Ready now; staffing 2 Good; "
        "leadership 3 Strong; value 3 Strong value"
    )
    listed = await olive.say("list submitted by score")
    assert _refs(listed) == [hillcrest, meadow, greenfields]
    assert "EOIs: submitted by score" in listed
    assert f"{hillcrest}: Hillcrest Primary School" in listed and "· submitted · mean score 17 of 18" in listed
    assert "· submitted · mean score 10.5 of 18" in listed and "· submitted · not scored" in listed
    # Without it, the list is as it was: by reference, no scores.
    listed = await olive.say("list submitted")
    assert _refs(listed) == [meadow, hillcrest, greenfields] and "mean score" not in listed


async def test_a_school_not_shortlisted_is_sent_the_feedback_drawn_from_its_scores_as_the_officer_confirms(service):
    meadow, _ = await _submitted(service, "114000", "head-114000")
    hillcrest, _ = await _submitted(service, "114001", "head-114001")
    greenfields, _ = await _submitted(service, "114002", "head-114002")
    olive, sam = await _two_officers(service)
    await olive.say(f"score {meadow} {OLIVE}")
    await sam.say(f"score {meadow} {SAM_NEED}; {SAM_REST}")
    for urn in ("114000", "114001", "114002"):
        await _school_heard(service, urn)  # what each was told on submitting

    # No feedback typed: the reasons for Meadow's lowest-scoring criteria, in the council's words, offered to send
    # as they are or edit first. Nothing is sent yet.
    offered = await olive.say(f"not-shortlisted {meadow}")
    drawn = (
        "Accommodation readiness (major works needed): Rooms need works before opening. The sensory room is not "
        "built yet.\n"
        "Staffing and expertise (weak): No teacher with autism experience named.\n"
        "Value for money (weak value): The works cost more than the places bring."
    )
    assert drawn in offered and "Nothing is sent until you do" in offered
    assert olive.find("Edit the feedback").form.fields[0].value == drawn
    assert olive.find("Send this feedback").action.text == f"not-shortlisted {meadow} {drawn}"
    assert await _school_heard(service, "114000") == []
    # The show's Not shortlisted form holds it too.
    await olive.say(f"show {meadow}")
    assert olive.find("Not shortlisted").form.fields[0].value == drawn

    # The officer edits it: what the school is sent is what the officer sent, not what was drawn.
    edited = (
        "The accommodation would need major works and the sensory room is not yet built. Please apply again "
        "once the works are planned, naming the teacher who would lead the provision."
    )
    assert "has been sent your feedback" in await olive.say(f"not-shortlisted {meadow} {edited}")
    heard = await _school_heard(service, "114000")
    assert len(heard) == 1 and f"Feedback from ECC: {edited}" in heard[0].text.plain
    assert "No teacher with autism experience named" not in heard[0].text.plain

    # Hillcrest, all good: its lowest-scoring criterion is offered, and sent as it is with the button.
    await olive.say(
        f"score {hillcrest} need 3 Close match; travel 3 Central; accommodation 3 Ready now; staffing 2 Only one "
        "trained TA; leadership 3 Strong; value 3 Strong value"
    )
    await olive.say(f"not-shortlisted {hillcrest}")
    await olive.press("Send this feedback")
    assert f"{hillcrest} is marked not shortlisted" in olive.text
    heard = await _school_heard(service, "114001")
    assert "Feedback from ECC: Staffing and expertise (good): Only one trained TA." in heard[0].text.plain

    # Greenfields, unscored: feedback is asked for, as it always was.
    assert "Please include feedback for the school" in await olive.say(f"not-shortlisted {greenfields}")
    # Meadow, already not shortlisted: nothing offered, the step refused as before.
    assert "Send this feedback" not in [c.label for c in olive.last.choices]
    said = await olive.say(f"not-shortlisted {meadow}")
    assert olive.last.kind == "error" and "not shortlisted" in said


async def test_only_a_submitted_eoi_is_scored_and_the_officer_is_told_why(service):
    meadow, head = await _submitted(service, "114000", "head-114000")
    hillcrest, other_head = await _submitted(service, "114001", "head-114001")
    desk = officer(service)
    await head.say("amend")  # the school changes its answers: a draft again, under its reference
    said = await desk.say(f"score {meadow} need 3 Close match")
    assert f"{meadow} can't be scored now: it is a draft (its school hasn't sent it, or is changing" in said
    await other_head.say("withdraw")
    await other_head.press("Yes, withdraw")
    assert "its school has withdrawn it" in await desk.say(f"score {hillcrest}")
    shown = await desk.say(f"show {meadow}")
    assert "Score" not in [c.label for c in desk.last.choices] and "Scores by" not in shown
    async with service.db.session() as session:
        assert (await session.scalars(select(Score))).all() == []
