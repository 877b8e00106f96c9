"""Which function handles each command (dialogs.commands.COMMANDS): registered by the module that holds it,
with `handles`, when it is imported. The router (dialogs.conversation) has no table of its own: it looks the
command up here and calls its handler with one CommandTurn, for whoever the command's `who` allows."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from dialogs.commands import BY_NAME, COMMANDS, HEADTEACHER, WHO, CommandSpec
from dialogs.officer_turn import CommandTurn
from dialogs.replies import Reply

Handler = Callable[[CommandTurn], Awaitable[list[Reply]]]


@dataclass(frozen=True)
class Registered:
    """A command with its handler. The router runs it for whoever its `who` allows (an officer's command is
    refused to anyone else, audited); `at_school` handlers (a headteacher's own EOI) run only once the speaker
    has chosen the school they act for, and are asked which otherwise."""

    spec: CommandSpec
    handler: Handler
    at_school: bool = False


_HANDLERS: dict[str, Registered] = {}


def handles(name: str, who: str, *, at_school: bool = False) -> Callable[[Handler], Handler]:
    """Register the decorated function as the handler of the command `name`, written for `who` (as the command
    is registered in COMMANDS). Refused when the module is imported, so a service can't start with it: a name
    not in COMMANDS, a `who` other than the command's (a handler written for officers on a headteacher's
    command), `at_school` for a command that isn't a headteacher's, or a second handler for one command."""
    spec = BY_NAME.get(name)
    if spec is None:
        raise ValueError(f"no command {name!r} in dialogs.commands.COMMANDS to handle")
    if who not in WHO or spec.who != who:
        raise ValueError(f"{name!r} is registered for {spec.who}, not {who}: its handler is written for someone else")
    if at_school and who != HEADTEACHER:
        raise ValueError(f"{name!r} is for {who}: only a headteacher's command runs at their chosen school")

    def register(handler: Handler) -> Handler:
        if name in _HANDLERS:
            raise ValueError(f"{name!r} has a handler already: {_HANDLERS[name].handler.__qualname__}")
        _HANDLERS[name] = Registered(spec, handler, at_school)
        return handler

    return register


def registered(name: str) -> Registered | None:
    """The command `name` with its handler, or None for words that are no command."""
    return _HANDLERS.get(name)


def unhandled(commands: tuple[CommandSpec, ...] = COMMANDS) -> list[str]:
    """The registered commands no module has registered a handler for (the service refuses to start)."""
    return sorted(c.name for c in commands if c.name not in _HANDLERS)
