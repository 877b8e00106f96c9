"""A school's sign-in link: what it names, signed so that nothing in it can be changed, and good for 14 days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.email_sender import link_lines
from bot.web_links import LIFETIME, Unusable, WebLinks
from dialogs.rich import Text

NOW = datetime(2026, 11, 30, 10, tzinfo=UTC)
LINKS = WebLinks("https://eoi.essex.example/", "a-web-secret-of-at-least-32-characters")


def test_a_link_names_the_school_its_email_and_its_revocation_count_and_reads_back():
    url = LINKS.url("114001", "Head@School.Example", NOW, 2)
    assert url.startswith("https://eoi.essex.example/web/sign-in/1.")
    claim = LINKS.read(url.rsplit("/", 1)[1], NOW + timedelta(days=13))
    assert (claim.urn, claim.email, claim.generation, claim.issued_at) == ("114001", "head@school.example", 2, NOW)


def test_a_link_expires_after_its_lifetime_and_one_from_the_future_is_refused():
    token = LINKS.token("114001", "head@school.example", NOW)
    with pytest.raises(Unusable) as expired:
        LINKS.read(token, NOW + LIFETIME + timedelta(seconds=1))
    assert expired.value.expired
    with pytest.raises(Unusable):
        LINKS.read(token, NOW - timedelta(hours=1))


def test_a_link_signed_with_another_secret_or_changed_anywhere_is_refused():
    token = LINKS.token("114001", "head@school.example", NOW)
    other = WebLinks("https://eoi.essex.example", "another-secret-of-at-least-32-characters")
    with pytest.raises(Unusable):
        other.read(token, NOW)
    for n in range(len(token)):
        changed = token[:n] + ("A" if token[n] != "A" else "B") + token[n + 1 :]
        with pytest.raises(Unusable):
            LINKS.read(changed, NOW)


def test_an_email_carries_one_link_per_school_the_address_heads_and_says_not_to_forward_it():
    one = link_lines([("Hillcrest", "https://x/1")])
    assert [line.plain for line in one] == [
        "To answer, open your school's form in a web browser.",
        "It works for 14 days. Anyone with it can act for the school, so please don't forward this email.",
    ]
    assert any(span.url == "https://x/1" for span in one[0])
    several = link_lines([("Hillcrest", "https://x/1"), ("Meadow", "https://x/2")])
    assert len(several) == 4 and all(isinstance(line, Text) for line in several)
    assert link_lines([]) == []
