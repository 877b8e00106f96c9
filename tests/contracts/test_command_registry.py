"""Commands are registered once (dialogs/commands.py COMMANDS): help, the parser, the platforms' menus and
the handlers (dialogs/registry.py, registered by the modules that hold them) all follow the registry, and a
command can never reach a missing handler, or one written for someone else."""

from __future__ import annotations

import importlib

import pytest

from dialogs import commands, help, officer_commands, registry
from dialogs.commands import COMMANDS, HEADTEACHER, OFFICER, PANEL, parse_command
from dialogs.conversation import Conversations
from dialogs.officer_turn import CommandTurn
from dialogs.replies import Reply, say
from tests.chat import headteacher, officer


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


def test_a_handler_written_for_someone_else_stops_its_module_from_importing(tmp_path, monkeypatch) -> None:
    """`shortlist` is an officer's command: a module registering a headteacher's handler for it can't be imported,
    so no service starts with it, and the officers' handler stays the one registered."""
    (tmp_path / "wrong_who.py").write_text(
        "from dialogs.commands import HEADTEACHER\n"
        "from dialogs.registry import handles\n\n\n"
        '@handles("shortlist", HEADTEACHER)\n'
        "async def shortlist(t):\n"
        "    return []\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ValueError, match=r"'shortlist' is registered for officer, not headteacher"):
        importlib.import_module("wrong_who")
    found = registry.registered("shortlist")
    assert found is not None and found.handler is officer_commands.shortlist_command


def test_a_handler_is_registered_once_for_a_registered_command_and_only_a_headteachers_needs_a_school() -> None:
    with pytest.raises(ValueError, match=r"no command 'audit'"):
        registry.handles("audit", OFFICER)
    with pytest.raises(ValueError, match=r"'list' is for officer: only a headteacher's command runs at"):
        registry.handles("list", OFFICER, at_school=True)
    with pytest.raises(ValueError, match=r"'list' has a handler already"):
        registry.handles("list", OFFICER)(officer_commands.list_command)
    for command in COMMANDS:
        found = registry.registered(command.name)
        assert found is not None and found.spec is command
        assert not found.at_school or command.who == HEADTEACHER


async def test_a_new_command_is_its_registration_and_its_handler(service, monkeypatch) -> None:
    """Nothing in the router names a command: registered with its handler, it is typed, and refused to those
    its `who` leaves out."""
    extra = commands.CommandSpec("audit", OFFICER, "audit REF", "the audit trail of an EOI")
    monkeypatch.setitem(commands.BY_NAME, "audit", extra)
    monkeypatch.setitem(commands._WORDS, "audit", "audit")
    monkeypatch.setattr(registry, "_HANDLERS", dict(registry._HANDLERS))

    @registry.handles("audit", OFFICER)
    async def audit(t: CommandTurn) -> list[Reply]:
        return [say(f"The trail of {t.rest}, for {t.actor}.")]

    assert "The trail of EOI-2627A-001, for console:officer-1." in await officer(service).say("audit EOI-2627A-001")
    head = await headteacher(service)
    assert "`audit` is for ECC officers only" in await head.say("audit EOI-2627A-001")
