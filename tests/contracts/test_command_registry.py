"""Commands are registered once (dialogs/commands.py COMMANDS): help, the parser, the platforms' menus and
the handlers all follow the registry, and a command can never reach a missing handler."""

from __future__ import annotations

import pytest

from dialogs import commands, help
from dialogs.commands import COMMANDS, OFFICER, PANEL, parse_command
from dialogs.conversation import Conversations
from tests.chat import officer


def test_every_command_and_alias_is_read_as_itself() -> None:
    for command in COMMANDS:
        for word in (command.name, *command.aliases):
            parsed = parse_command(f"/eoi {word.upper()} EOI-2627A-001 rest of it")
            assert (parsed.name, parsed.rest) == (command.name, "EOI-2627A-001 rest of it"), word
    assert parse_command("cancel").name == ""  # a word that only begins a phrase is not the command


def test_help_lists_every_command_from_the_registry_with_a_working_example() -> None:
    for command in COMMANDS:
        if command.hidden or command.name == "help":
            continue
        shown = help.OFFICER_HELP if command.who in (OFFICER, PANEL) else help.HEADTEACHER_HELP
        assert command.help in shown, command.name
        if command.example and command.who == OFFICER and command.name != "schedule":
            assert f"`{command.example}`" in shown.markup
            assert parse_command(command.example).name == command.name


async def test_every_officer_example_in_help_is_understood(service) -> None:
    desk = officer(service)
    for command in COMMANDS:
        if command.who == OFFICER and command.example:
            await desk.say(command.example)
            assert "I don't know the command" not in desk.text, command.example


def test_a_registered_command_without_a_handler_stops_the_service_from_starting(service, monkeypatch) -> None:
    extra = commands.CommandSpec("audit", OFFICER, "audit REF", "the audit trail of an EOI")
    monkeypatch.setattr("dialogs.conversation.COMMANDS", (*COMMANDS, extra))
    with pytest.raises(ValueError, match=r"commands without a handler: \['audit'\]"):
        Conversations(service.db, service.clock)
