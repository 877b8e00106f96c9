"""Who said what: the neutral input every adapter produces, cleaned (dialogs.cleaning) once, whatever the channel."""

from __future__ import annotations

from dataclasses import dataclass

from dialogs.actions import Action
from dialogs.cleaning import clean_email, clean_name, clean_text, clean_user_id, tidy


@dataclass(frozen=True)
class Speaker:
    platform: str  # "slack" | "msteams" | "console"
    user_id: str
    display_name: str = ""
    email: str = ""  # supplied by the adapter (Slack users.info, Teams member info)

    def __post_init__(self) -> None:
        # Every Speaker is made clean, however an adapter built it (frozen: hence object.__setattr__).
        object.__setattr__(self, "user_id", clean_user_id(self.user_id))
        object.__setattr__(self, "display_name", clean_name(self.display_name))
        object.__setattr__(self, "email", clean_email(self.email))

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.user_id}"


@dataclass(frozen=True)
class ReceivedFile:
    """A file sent with a message, as the channel fetched it: the name it was sent with and its bytes, or why the
    bytes are not here (`problem`: "too_big" when the platform's declared `size` was over the limit, so nothing
    was fetched; "unreachable" when the download failed or was cut short). What the bytes are is checked by the
    dialog, from their content, never from the name."""

    name: str
    data: bytes = b""
    size: int = 0  # as the platform declared it (the bytes' own length is what counts once fetched)
    problem: str = ""

    def __post_init__(self) -> None:
        # Only the last part of a path: a name is shown, and a fetched copy saved, never as somewhere to go.
        base = self.name.replace("\\", "/").rsplit("/", 1)[-1]
        object.__setattr__(self, "name", clean_name(base).lstrip(".") or "file")


@dataclass(frozen=True)
class Turn:
    speaker: Speaker
    text: str = ""
    action: Action | None = None  # a button pressed (dialogs.actions), its parts cleaned when it was decoded
    # True when the user invoked a command explicitly (`/eoi ...`, a Teams channel message): never read as an
    # answer. A form's values come as an action (SubmitForm).
    command: bool = False
    files: tuple[ReceivedFile, ...] = ()  # sent with the message (Slack, Teams) or named by path (console)

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", tidy(clean_text(self.text)))
