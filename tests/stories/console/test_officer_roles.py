"""Who is an officer: those named in EOI_OFFICERS, plus those an officer added with `officer add` (or who ran
the console as an officer). Anyone else loses the role when the service starts, and the audit log says so."""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import select

from bot.service import enforce_officers, open_service
from bot.slack_adapter import SlackSender
from dialogs.replies import say
from dialogs.turns import Speaker
from storage import notices
from storage.models import AuditEntry, Delivery
from tests.chat import Chat, officer
from tests.conftest import OFFICER, make_settings

ALICE = ("slack", "UALICE")  # named in EOI_OFFICERS, later taken out of it
BOB = ("slack", "UBOB")  # added by an officer with `officer add`


async def _officer_notice_destinations(service) -> list[str]:
    """Where a new officer notice goes, planned as the service plans it (Slack's sender, as `serve` wires it;
    EOI_OFFICERS come from the service's settings)."""
    service.senders.append(SlackSender(AsyncWebClient(token="xoxb-test")))
    async with service.db.session() as session:
        body = say("A school replied.").to_dict()
        notice_id = await notices.to_officers(session, kind="test", body=body, now=service.clock.now())
        await session.commit()
    await service.dispatcher.plan_notices()
    async with service.db.session() as session:
        return list(await session.scalars(select(Delivery.destination).where(Delivery.notice_id == notice_id)))


async def test_an_officer_taken_out_of_eoi_officers_loses_the_role_at_restart_and_it_is_audited(test_db, clock):
    db = await test_db.create()
    first = await open_service(make_settings(test_db.url, officers=(OFFICER, ALICE)), clock=clock, db=db)
    alice = Chat(first, Speaker(*ALICE))
    assert "Export of 0 EOIs" in await alice.say("export")
    assert "now an officer" in await officer(first).say("officer add slack:UBOB")
    assert sorted(await _officer_notice_destinations(first)) == ["slack:UALICE", "slack:UBOB"]
    await first.close()

    # EOI_OFFICERS no longer names Alice; the service restarts on the same database.
    restarted = await open_service(make_settings(test_db.url, officers=(OFFICER,)), clock=clock, db=test_db.open())
    await enforce_officers(restarted)  # as `eoi-bot serve` does when it starts
    try:
        alice = Chat(restarted, Speaker(*ALICE))
        assert "for ECC officers only" in await alice.say("export")
        assert alice.last.file is None
        bob = Chat(restarted, Speaker(*BOB))
        assert "Export of 0 EOIs" in await bob.say("export")  # `officer add` is recorded, so it lasts
        assert await _officer_notice_destinations(restarted) == ["slack:UBOB"]
        async with restarted.db.session() as session:
            removed = (
                await session.scalars(select(AuditEntry).where(AuditEntry.action == "officer role removed"))
            ).all()
        assert [(r.actor, r.from_status, r.to_status) for r in removed] == [("start-up", "officer", "none")]
        assert "slack:UALICE" in removed[0].note and "EOI_OFFICERS" in removed[0].note
    finally:
        await restarted.close()


async def test_officer_list_says_where_each_officers_role_comes_from_and_remove_revokes(service):
    desk = officer(service)
    await desk.say("officer add slack:UBOB")
    listed = await desk.say("officer list")
    assert "console:officer-1" in listed and "EOI_OFFICERS" in listed
    assert "slack:UBOB" in listed and "added by console:officer-1 on Monday 30 November 2026" in listed
    assert "Remove the officer role from slack:UBOB?" in await desk.say("officer remove slack:UBOB")
    assert "no longer an officer" in await desk.press("Yes, remove")
    assert "slack:UBOB" not in await desk.say("officer list")
    bob = Chat(service, Speaker(*BOB))
    assert "for ECC officers only" in await bob.say("export")
    assert "remove them there" in await desk.say("officer remove console:officer-1")


async def test_whoever_runs_the_console_as_an_officer_is_recorded_and_stays_an_officer(test_db, clock):
    from bot.console import open_console

    db = await test_db.create()
    first = await open_service(make_settings(test_db.url, officers=()), clock=clock, db=db)
    await open_console(first, role="officer", user="carol", school_urn=None)
    await first.close()
    restarted = await open_service(make_settings(test_db.url, officers=()), clock=clock, db=test_db.open())
    try:
        carol = Chat(restarted, Speaker("console", "carol"))
        assert "added by the console" in await carol.say("officer list")
        assert "Export of 0 EOIs" in await carol.say("export")
    finally:
        await restarted.close()


async def test_the_officer_role_goes_only_to_real_ids_only_after_a_yes_and_never_from_the_last_officer(test_db, clock):
    """With EOI_OFFICERS empty: an invented platform or a malformed id is refused; an added officer can't remove
    the one who added them, or then themselves, without saying yes, and never the last officer there is."""
    db = await test_db.create()
    service = await open_service(make_settings(test_db.url, officers=()), clock=clock, db=db)
    try:
        first = officer(service, "first")
        async with service.db.session() as session:
            from storage import people

            await people.grant_officer(session, actor="console", platform="console", user_id="first", now=clock.now())
            await session.commit()
        for bad, why in (
            ("evilplatform:x", "evilplatform is not a platform the bot is on (it knows console, msteams, slack)"),
            ("slack:not-a-slack-id", "not-a-slack-id is not a slack user id (they look like slack:U0123ABCD)"),
            ("msteams:alice", "alice is not a msteams user id"),
            ("console:", "Use `officer add PLATFORM:USER`"),
        ):
            said = await first.say(f"officer add {bad}")
            assert why in said, said
        assert "evilplatform" not in await first.say("officer list")
        assert "slack:U0SECOND is now an officer" in await first.say("officer add slack:U0SECOND")

        second = Chat(service, Speaker("slack", "U0SECOND"))
        said = await second.say("officer remove console:first")
        assert "Remove the officer role from console:first?" in said and "first" in await first.say("officer list")
        assert "no longer an officer" in await second.press("Yes, remove")
        said = await second.say("officer remove slack:U0SECOND")
        assert "slack:U0SECOND is the last officer: add another officer first" in said
        said = await second.say("officer remove slack:U0SECOND confirm")  # typed, or a stale button: still refused
        assert "is the last officer" in said
        assert "Export of 0 EOIs" in await second.say("export")
        async with service.db.session() as session:
            removals = (
                await session.scalars(select(AuditEntry.note).where(AuditEntry.action == "officer remove"))
            ).all()
        assert removals == ["console:first"]
    finally:
        await service.close()
