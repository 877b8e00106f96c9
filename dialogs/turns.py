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
class Turn:
    speaker: Speaker
    text: str = ""
    action: Action | None = None  # a button pressed (dialogs.actions), its parts cleaned when it was decoded
    # True when the user invoked a command explicitly (`/eoi ...`, a Teams channel message): never read as an
    # answer. A form's values come as an action (SubmitForm).
    command: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", tidy(clean_text(self.text)))
