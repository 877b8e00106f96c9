"""Files the bot writes for people (CSV exports, calendar files, charts, subject access) hold personal data:
readable by this account only, and only ever a file this account has just made.

A new file is created with O_EXCL|O_NOFOLLOW: never through a symbolic link someone else put at the path, and
never into a file already there (which would keep its owner, who could then read the export, whatever its mode).
Replacing one (`--force`) writes a new file beside it and renames it over the old name, which replaces the link or
file itself rather than writing into whatever it points at.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

PRIVATE_FILE = 0o600
_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
# How many other names the console tries ("eois-2627A-2.csv", ...) before saying it couldn't save.
OTHER_NAMES = 100


def _bytes(text: str | bytes) -> bytes:
    return text if isinstance(text, bytes) else text.encode("utf-8")  # exactly: the CSV's own line ends


def _write_all(fd: int, data: bytes) -> None:
    with open(fd, "wb", closefd=True) as file:
        os.fchmod(fd, PRIVATE_FILE)  # whatever the umask
        file.write(data)


def write_private(path: Path, text: str | bytes, *, force: bool = False) -> None:
    """Write `text` to a new file at `path` that only its owner can read or write. An existing file (or link) is
    refused with FileExistsError unless `force`, which replaces it (never writing into it)."""
    data = _bytes(text)
    if not force:
        _write_all(os.open(path, _NEW, PRIVATE_FILE), data)
        return
    folder = path.parent if str(path.parent) else Path(".")
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)  # 0600, O_EXCL, in the same folder
    try:
        _write_all(fd, data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_new(path: Path, text: str | bytes) -> Path:
    """Write to `path`, or when something is already there, to the first free `stem-2.ext`, `stem-3.ext`...: the
    console's saves never replace or follow anything. Returns where it went."""
    for n in range(1, OTHER_NAMES + 1):
        candidate = path if n == 1 else path.with_name(f"{path.stem}-{n}{path.suffix}")
        try:
            write_private(candidate, text)
        except FileExistsError:
            continue
        return candidate
    raise FileExistsError(f"{path} and {OTHER_NAMES - 1} other names for it are already taken")
