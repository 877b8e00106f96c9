"""`GET /metrics`, as the council's monitoring sees it: absent unless switched on, answering only Prometheus with
its bearer token, and counting real Slack turns, 429s, deliveries and how late the window scheduler is."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.config import load_settings
from dialogs.schedule import plan_due
from storage.clock import Clock
from tests.conftest import TestDatabase as _TestDatabase
from tests.fakes import slack_requests as sr
from tests.slack_fixtures import HEAD_ID, Workspace, slack_workspace

TOKEN = "metrics-token-0123456789abcdef"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(slack: Workspace, token: str | None = TOKEN) -> Samples:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await slack.client.get("/metrics", headers=headers)
    assert response.status == 200, response.status
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    found: Samples = {}
    for family in text_string_to_metric_families(await response.text()):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_without_eoi_metrics_there_is_no_metrics_page(test_db: _TestDatabase, clock: Clock) -> None:
    async with slack_workspace(test_db, clock) as slack:
        response = await slack.client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert response.status == 404


async def test_metrics_answer_only_the_bearer_of_the_token(test_db: _TestDatabase, clock: Clock) -> None:
    async with slack_workspace(test_db, clock, metrics=True, metrics_token=TOKEN) as slack:
        for headers in (
            {},
            {"Authorization": "Bearer wrong-token-0123456789"},
            {"Authorization": TOKEN},
            {"Authorization": f"Basic {TOKEN}"},
        ):
            response = await slack.client.get("/metrics", headers=headers)
            assert response.status == 401, headers
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
            assert "eoi_turns" not in await response.text()
        assert await scrape(slack)  # and with it, the numbers


def test_metrics_cannot_be_switched_on_without_a_token() -> None:
    with pytest.raises(ValueError, match="EOI_METRICS_TOKEN"):
        load_settings({"EOI_METRICS": "1"})
    with pytest.raises(ValueError, match="at least 16"):
        load_settings({"EOI_METRICS": "1", "EOI_METRICS_TOKEN": "short"})
    settings = load_settings({"EOI_METRICS": "1", "EOI_METRICS_TOKEN": TOKEN})
    assert settings.metrics and settings.metrics_token == TOKEN
    assert not load_settings({"EOI_METRICS_TOKEN": TOKEN}).metrics  # the token alone switches nothing on


async def test_the_numbers_move_with_real_turns_429s_deliveries_and_the_scheduler(
    test_db: _TestDatabase, clock: Clock
) -> None:
    async with slack_workspace(test_db, clock, metrics=True, metrics_token=TOKEN) as slack:
        before = await scrape(slack)
        # The demo window opened before "now" and no scheduler has run yet: its announcement is overdue.
        assert value(before, "eoi_scheduler_overdue_seconds") > 0
        assert value(before, "eoi_database_up") == 1

        head = slack.person(HEAD_ID)
        await head.types("help")
        slack.fake.fail_next("chat.postMessage", status=429, retry_after=0)  # Slack throttles the next reply
        await head.types("status")
        assert "ratelimited" not in head.heard  # the reply was waited out and arrived

        after = await scrape(slack)
        turns = value(after, "eoi_turns_total", channel="slack", outcome="answered")
        assert turns - value(before, "eoi_turns_total", channel="slack", outcome="answered") == 2
        timed = value(after, "eoi_turn_seconds_count", channel="slack")
        assert timed - value(before, "eoi_turn_seconds_count", channel="slack") == 2
        took = value(after, "eoi_turn_seconds_sum", channel="slack")
        assert took > value(before, "eoi_turn_seconds_sum", channel="slack")
        limited = value(after, "eoi_rate_limited_total", platform="slack")
        assert limited - value(before, "eoi_rate_limited_total", platform="slack") == 1

        # The scheduler announces the window: deliveries are recorded, then sent, and nothing is overdue.
        async with slack.service.db.session() as session:
            assert (await plan_due(session, clock.now())).notices
        await slack.service.dispatcher.plan_notices()
        planned = await scrape(slack)
        assert value(planned, "eoi_scheduler_overdue_seconds") == 0
        assert value(planned, "eoi_deliveries", status="pending") > 0
        pending = value(planned, "eoi_deliveries", status="pending")
        await slack.service.dispatcher.run_due()
        sent = await scrape(slack)
        assert value(sent, "eoi_deliveries", status="pending") == 0
        assert value(sent, "eoi_deliveries", status="sent") == pending
        finished = value(sent, "eoi_deliveries_finished_total", platform="slack", status="sent")
        assert finished - value(planned, "eoi_deliveries_finished_total", platform="slack", status="sent") == pending


async def test_a_failed_turn_is_counted_as_failed(test_db: _TestDatabase, clock: Clock, monkeypatch) -> None:
    async with slack_workspace(test_db, clock, metrics=True, metrics_token=TOKEN) as slack:
        before = await scrape(slack)

        async def broken(*args: object, **kwargs: object) -> None:
            raise RuntimeError("the database fell over")

        monkeypatch.setattr(slack.service.conversations, "handle_once", broken)
        await slack.post(sr.message_im_event_body(HEAD_ID, "help"))
        await slack.settle()
        after = await scrape(slack)
        failed = value(after, "eoi_turns_total", channel="slack", outcome="failed")
        assert failed - value(before, "eoi_turns_total", channel="slack", outcome="failed") == 1
