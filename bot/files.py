"""Files the bot writes for people (CSV exports) hold personal data: readable by this account only."""

from __future__ import annotations

import os
from pathlib import Path

PRIVATE_FILE = 0o600


def write_private(path: Path, text: str | bytes) -> None:
    """Write `text` to `path` as a file only its owner can read or write. A new file is created with that mode
    (not written and then tightened, which would leave a moment anyone could read it); a file already there
    is tightened before anything is written to it. The text is written exactly (the CSV's own line ends)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    if isinstance(text, bytes):  # a picture (a report's chart)
        with open(fd, "wb") as binary:
            os.fchmod(fd, PRIVATE_FILE)
            binary.write(text)
        return
    with open(fd, "w", encoding="utf-8", newline="") as file:
        os.fchmod(fd, PRIVATE_FILE)
        file.write(text)
