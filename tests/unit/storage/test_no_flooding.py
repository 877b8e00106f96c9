"""One headteacher can't flood the officers: notices about one EOI's state coalesce while unsent (a later one
supersedes an earlier one), a person may reopen EOIs for changes only so often, and an officer may choose one
digest a day (`notify me daily`) instead of each message."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from sqlalchemy import select

from dialogs.replies import Reply
from dialogs.turns import Speaker
from storage.models import Delivery
from storage.windows import LONDON
from tests.chat import Chat, complete_eoi, headteacher, officer


class RecordingSlack:
    """A Slack sender that reaches everyone in their DMs and keeps what it sent."""

    platform = "slack"
    min_interval = 0.0

    def __init__(self) -> None:
        self.sent: list[tuple[str, Reply]] = []

    async def channel_address(self, session, channel_id: str) -> str | None:
        return f"slack:{channel_id}" if channel_id else None

    async def person_address(self, session, user_id: str) -> str | None:
        return f"slack:{user_id}"

    async def send(self, destination: str, reply: Reply, *, key: str = "") -> None:
        self.sent.append((destination, reply))


async def _amended_and_resubmitted_while_the_first_waits(service, head: Chat) -> None:
    """`amend` is planned for sending (queued behind a busy channel, or held for a digest), then the resubmission
    comes before it went; then the dispatcher sends what is due."""
    await head.say("amend")
    await service.dispatcher.plan_notices()
    await head.press("Submit")
    await head.press("I confirm")
    await service.dispatcher.plan_notices()
    await service.dispatcher.run_due()


async def _officers_heard(service, user: str = "officer-1") -> list[str]:
    found = await service.conversations.pending_notices(
        destination=f"console:{user}", audience="officers", school_urn=None
    )
    return [Reply.from_dict(n.body).text.plain for n in found]


async def test_a_head_changing_her_mind_again_and_again_is_one_message_to_officers_and_then_is_told_to_wait(
    service, clock
):
    head = await headteacher(service)
    ref = re.search(r"EOI-2627A-\d{3}", await complete_eoi(head)).group(0)
    await _officers_heard(service)  # the officer has read the submission

    for _ in range(4):
        clock.advance(timedelta(seconds=2))
        assert "open for changes" in await head.say("amend")
        await head.press("Submit")
        assert "resubmitted" in (await head.press("I confirm")).lower()
    # Eight changes of state, none read yet: the officer is told only where the EOI is now.
    heard = await _officers_heard(service)
    assert heard == [f"Meadow Primary School, Colchester resubmitted {ref} (the same reference)."], heard

    # A fifth reopening within the hour is refused, with when she can, and her EOI stays submitted.
    clock.advance(timedelta(seconds=2))
    said = await head.say("amend")
    assert "You've opened EOIs for changes 4 times in the last hour, the most one person can" in said
    assert "You can again from" in said and "still submit" in said
    assert f"{ref} as you submitted it" in said
    assert await _officers_heard(service) == []
    # An hour after her first change she may again.
    clock.advance(timedelta(hours=1))
    assert "open for changes" in await head.say("amend")


async def test_a_newer_state_supersedes_one_already_planned_but_still_waiting_to_be_sent(service, clock):
    slack = RecordingSlack()
    service.senders.append(slack)
    assert "now an officer" in await officer(service).say("officer add slack:UEACH")
    head = await headteacher(service)
    ref = re.search(r"EOI-2627A-\d{3}", await complete_eoi(head)).group(0)
    await service.dispatcher.plan_notices()
    await service.dispatcher.run_due()
    assert [r.text.plain for _, r in slack.sent] == [f"Meadow Primary School, Colchester submitted {ref}."]

    # "changing" is planned (queued behind a busy channel), then the resubmission comes before it went.
    await _amended_and_resubmitted_while_the_first_waits(service, head)
    assert [r.text.plain for _, r in slack.sent][1:] == [
        f"Meadow Primary School, Colchester resubmitted {ref} (the same reference)."
    ]
    async with service.db.session() as session:
        kinds = (
            await session.execute(
                select(Delivery.kind, Delivery.status)
                .where(Delivery.destination == "slack:UEACH")
                .order_by(Delivery.id)
            )
        ).all()
    assert [tuple(k) for k in kinds] == [("submitted", "sent"), ("changing", "superseded"), ("resubmitted", "sent")]


async def test_an_officer_who_chose_a_daily_digest_gets_one_message_at_eight_and_the_rest_each_as_it_happens(
    service, clock
):
    slack = RecordingSlack()
    service.senders.append(slack)
    desk = officer(service)
    assert "now an officer" in await desk.say("officer add slack:UDAILY")
    daily = Chat(service, Speaker("slack", "UDAILY", "Dee Daily"))
    said = await daily.say("notify me daily")
    assert "one digest a day at 8am (UK time)" in said and "the next is Tuesday 1 December" in said
    assert "Already so" in await daily.say("notify me daily")

    head = await headteacher(service)
    ref = re.search(r"EOI-2627A-\d{3}", await complete_eoi(head)).group(0)
    await service.dispatcher.plan_notices()
    await service.dispatcher.run_due()
    assert [d for d, _ in slack.sent] == []  # console:officer-1 reads at the console; UDAILY's is held
    # The head changes it while the first notice is still held: the newer one supersedes it in the digest too.
    clock.advance(timedelta(minutes=5))
    await _amended_and_resubmitted_while_the_first_waits(service, head)
    assert slack.sent == []

    clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=LONDON))
    await service.dispatcher.run_due()
    [(where, digest)] = slack.sent
    assert where == "slack:UDAILY" and digest.title == "Daily digest: 1 message"
    assert f"resubmitted {ref}" in digest.text.plain and "notify me each" in digest.text.plain
    async with service.db.session() as session:
        statuses = sorted(
            (await session.scalars(select(Delivery.status).where(Delivery.destination == "slack:UDAILY"))).all()
        )
    assert statuses == ["in digest", "pending", "superseded", "superseded"] or statuses == [
        "in digest",
        "sent",
        "superseded",
        "superseded",
    ], statuses

    # Back to each message as it happens.
    assert "each message as it happens" in await daily.say("notify me each")
    await head.say("withdraw")
    await head.say(f"withdraw {ref} confirm")
    await service.dispatcher.plan_notices()
    await service.dispatcher.run_due()
    assert slack.sent[-1][0] == "slack:UDAILY" and f"withdrew {ref}" in slack.sent[-1][1].text.plain
