"""`eoi-bot doctor` on reaching schools: the mail server answers (or doesn't), which schools in scope would hear
nothing, and Slack over Socket Mode needs no signing secret. The set-up is tests/unit/bot/test_doctor.py's
`installed`."""

from __future__ import annotations

import pytest

from tests.conftest import TestDatabase as _TestDatabase
from tests.fakes.slack_web_api import FakeSlackWebApi
from tests.fakes.smtp_server import free_port, smtp_server  # noqa: F401
from tests.unit.bot.test_doctor import doctor, installed  # noqa: F401

Installed = tuple[_TestDatabase, FakeSlackWebApi]


async def test_the_mail_server_is_asked_for_ehlo_and_its_answer_reported(installed: Installed, capsys) -> None:  # noqa: F811
    _, checks = await doctor(capsys)
    status, said = checks["smtp"]
    assert status == "ok" and said.startswith("smtp://127.0.0.1:") and "(EHLO)" in said
    assert "emails come from eoi-bot@essex.gov.uk" in said
    assert checks["schools reached"] == ("ok", "all 32 schools in scope of Autumn Term 1 2026/27 can be reached")


async def test_a_mail_server_that_does_not_answer_fails(installed: Installed, capsys, monkeypatch) -> None:  # noqa: F811
    monkeypatch.setenv("SMTP_URL", f"smtp://127.0.0.1:{free_port()}")  # nothing listens there
    status, checks = await doctor(capsys)
    assert status == 1
    assert checks["smtp"][0] == "FAIL" and "did not answer" in checks["smtp"][1]
    assert "check SMTP_URL's host and port" in checks["smtp"][1]


async def test_without_email_or_channels_no_school_in_scope_is_reached_and_doctor_fails(
    installed: Installed,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The seen bug, found before a window opens: the register names no channels, nobody is linked, email is off."""
    monkeypatch.delenv("SMTP_URL")
    monkeypatch.delenv("EOI_MAIL_FROM")
    status, checks = await doctor(capsys)
    assert status == 1
    assert checks["smtp"][0] == "off"
    found, said = checks["schools reached"]
    assert found == "FAIL" and said.startswith(
        "32 of the 32 schools in scope of Autumn Term 1 2026/27 have no working destination (URN 114000, "
    )
    assert "and 22 more" in said and "link PLATFORM:USER URN" in said and "SMTP_URL" in said


async def test_slack_over_socket_mode_needs_no_signing_secret(installed: Installed, capsys, monkeypatch) -> None:  # noqa: F811
    monkeypatch.delenv("SLACK_SIGNING_SECRET")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1-A0EOIBOT1-1-abc")
    status, checks = await doctor(capsys)
    assert checks["slack signing secret"] == ("ok", "not needed: Slack runs over Socket Mode (SLACK_APP_TOKEN)")
    assert checks["officers"][0] == "ok" and status == 0, checks
