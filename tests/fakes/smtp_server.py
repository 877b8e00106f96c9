"""A real SMTP server on loopback (aiosmtpd) for the email tests: it keeps what it accepts, and can refuse an
address (5xx or 4xx) or drop the connection in the middle of a message."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass
class Received:
    mail_from: str
    to: list[str]
    message: EmailMessage

    def part(self, subtype: str) -> str:
        found = self.message.get_body(preferencelist=(subtype,))
        assert found is not None, f"no text/{subtype} part"
        return str(found.get_content())


@dataclass
class Inbox:
    """What the server accepted, and how it should misbehave next."""

    received: list[Received] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)  # address -> the reply to RCPT TO ("550 5.1.1 …")
    drops: dict[str, int] = field(default_factory=dict)  # address -> how many more times to drop mid-message
    dropped: int = 0

    def to(self, address: str) -> list[Received]:
        return [r for r in self.received if address in r.to]


class Handler:
    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if address in self.inbox.refuse:
            return self.inbox.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        for address in envelope.rcpt_tos:
            if self.inbox.drops.get(address, 0) > 0:
                # The whole message has arrived, but the connection goes before the server says it is accepted:
                # the client can't know, so it sends again; the server kept nothing.
                self.inbox.drops[address] -= 1
                self.inbox.dropped += 1
                assert server.transport is not None
                server.transport.abort()
                return "421 connection dropped"
        raw = envelope.original_content or envelope.content
        assert isinstance(raw, bytes)
        message = message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.inbox.received.append(Received(str(envelope.mail_from), list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[tuple[str, Inbox]]:
    """A running SMTP server: (SMTP_URL for it, its inbox)."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(Handler(inbox), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{port}", inbox
    finally:
        controller.stop()
