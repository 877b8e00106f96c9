"""The files the bot writes hold personal data (heads' names and emails, every answer), so only the account
that runs it can read them: the SQLite database and its WAL/SHM files, the folder made for them, and every
CSV export, whatever the umask of the shell that started it."""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import cli
from bot.console import Console
from dialogs.demo import seed_demo
from dialogs.turns import Speaker
from storage.db import Database
from tests.conftest import NOW


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def generous_umask() -> Iterator[None]:
    """A shell that leaves new files readable by everyone (the usual 022)."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def test_the_database_its_folder_and_a_command_line_export_are_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], generous_umask: None
) -> None:
    folder = tmp_path / "eoi-data"  # not there yet: the bot makes it
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{folder / 'eoi-bot.db'}")
    monkeypatch.setenv("EOI_NOW", "2026-11-30T10:00:00+00:00")
    assert cli.main(["seed", "--demo"]) == 0
    assert mode(folder) == 0o700
    assert mode(folder / "eoi-bot.db") == 0o600
    for extra in ("eoi-bot.db-wal", "eoi-bot.db-shm"):
        if (folder / extra).exists():
            assert mode(folder / extra) == 0o600, extra

    out = tmp_path / "eois.csv"
    assert cli.main(["export", "--out", str(out)]) == 0
    assert mode(out) == 0o600 and out.read_text(encoding="utf-8").startswith("ref,window,urn")

    # An old export someone left readable by all is private once replaced (--force: it is there already).
    out.chmod(0o644)
    assert cli.main(["export", "--out", str(out), "--force"]) == 0
    assert mode(out) == 0o600

    # A file that can't be written is a clear message, not a traceback.
    capsys.readouterr()
    assert cli.main(["export", "--out", str(tmp_path / "no-such-folder" / "eois.csv")]) == 2
    assert "Can't write" in capsys.readouterr().err


async def test_the_sqlite_write_ahead_log_and_shared_memory_files_are_private(tmp_path: Path, generous_umask: None):
    path = tmp_path / "eoi-bot.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        await db.upgrade()
        async with db.session() as session:
            await seed_demo(session, now=NOW)
            await session.commit()
        async with db.session() as session:  # while a connection is open, the WAL and SHM files exist
            await session.connection()
            wal, shm = Path(f"{path}-wal"), Path(f"{path}-shm")
            assert wal.exists() and shm.exists()
            assert (mode(path), mode(wal), mode(shm)) == (0o600, 0o600, 0o600)
    finally:
        await db.dispose()


async def test_an_export_the_console_saves_is_private(service, tmp_path, monkeypatch, generous_umask):
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    await Console(service, Speaker("console", "officer-1"), school=None, out=out).send("export")
    [saved] = list(tmp_path.glob("eois-*.csv"))
    assert f"(saved to {saved.name})" in out.getvalue()
    assert mode(saved) == 0o600


def test_an_export_is_never_written_through_a_link_or_into_a_file_someone_else_put_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Someone who can write to the folder puts a link where the officer will export (pointing at a file they
    own, to read the export through), or a file of their own: neither is written into."""
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'eoi-bot.db'}")
    monkeypatch.setenv("EOI_NOW", "2026-11-30T10:00:00+00:00")
    assert cli.main(["seed", "--demo"]) == 0
    theirs = tmp_path / "theirs.txt"
    theirs.write_text("their file\n")
    theirs.chmod(0o666)
    link = tmp_path / "eois.csv"
    link.symlink_to(theirs)
    for args in (
        ["export", "--out", str(link)],
        ["person", "export", "head114000@demo-school.example", "--out", str(link)],
    ):
        capsys.readouterr()
        assert cli.main(args) == 2
        assert f"{link} already exists: nothing written (add --force to replace it)" in capsys.readouterr().err
    assert theirs.read_text() == "their file\n" and link.is_symlink()

    # --force replaces the link itself with a new private file; what it pointed at is untouched.
    assert cli.main(["export", "--out", str(link), "--force"]) == 0
    assert not link.is_symlink() and mode(link) == 0o600 and link.read_text().startswith("ref,window,urn")
    assert theirs.read_text() == "their file\n"
    # A dangling link (to where their file would be made) is refused too.
    dangling = tmp_path / "held.json"
    dangling.symlink_to(tmp_path / "not-yet.json")
    assert cli.main(["person", "export", "head114000@demo-school.example", "--out", str(dangling)]) == 2
    assert not (tmp_path / "not-yet.json").exists()


async def test_the_console_saves_beside_a_file_or_link_already_there_never_through_it(service, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = io.StringIO()
    console = Console(service, Speaker("console", "officer-1"), school=None, out=out)
    await console.send("export")
    [first] = list(tmp_path.glob("eois-*.csv"))
    theirs = tmp_path / "theirs.csv"
    theirs.write_text("theirs\n")
    second = first.with_name(f"{first.stem}-2{first.suffix}")
    second.symlink_to(theirs)
    await console.send("export")
    third = first.with_name(f"{first.stem}-3{first.suffix}")
    assert f"(saved to {third.name})" in out.getvalue()
    assert mode(third) == 0o600 and theirs.read_text() == "theirs\n" and second.is_symlink()
