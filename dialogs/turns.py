"""Who said what: the neutral input every adapter produces."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Speaker:
    platform: str  # "slack" | "msteams" | "console"
    user_id: str
    display_name: str = ""
    email: str = ""  # supplied by the adapter (Slack users.info, Teams member info)

    @property
    def key(self) -> str:
        return f"{self.platform}:{self.user_id}"


@dataclass(frozen=True)
class Turn:
    speaker: Speaker
    text: str = ""
    action: str = ""  # a button's action string (dialogs.replies.action)
    # True when the user invoked a command explicitly (`/eoi ...`, or a form submit): never read as an answer.
    command: bool = False
