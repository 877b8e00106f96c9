"""`attach PATH [PATH...]` in the console (`eoi-bot chat`): the named files are read and sent as one turn with no
words, as a file sent in Slack or Teams; a path that can't be read is refused here, and nothing is sent."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bot.console import Console, attached, is_attach
from bot.service import Service
from dialogs.replies import Reply
from dialogs.turns import Speaker, Turn
from storage.evidence import MAX_FILE_BYTES

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256))


def _capture(service: Service, monkeypatch: pytest.MonkeyPatch) -> list[Turn]:
    """Every turn the runner hands to the dialog; answered with nothing, whatever the dialog would say."""
    turns: list[Turn] = []

    async def handle_once(turn: Turn, key: str, *, keep: object = None) -> list[Reply]:
        turns.append(turn)
        return []

    monkeypatch.setattr(service.runner.conversations, "handle_once", handle_once)
    return turns


def _console(service: Service) -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(service, Speaker("console", "head"), school=None, out=out), out


async def test_attach_sends_the_files_bytes_and_names_with_no_words(
    service: Service, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "site plan.pdf").write_bytes(PDF)
    home = tmp_path / "home"
    home.mkdir()
    (home / "photo.png").write_bytes(PNG)
    monkeypatch.setenv("HOME", str(home))
    turns = _capture(service, monkeypatch)
    console, out = _console(service)

    await console.send(f"attach '{tmp_path / 'site plan.pdf'}' ~/photo.png")

    assert len(turns) == 1, out.getvalue()
    turn = turns[0]
    assert turn.text == "" and turn.action is None
    assert [(f.name, f.data, f.size, f.problem) for f in turn.files] == [
        ("site plan.pdf", PDF, len(PDF), ""),
        ("photo.png", PNG, len(PNG), ""),
    ]


async def test_a_missing_path_or_a_folder_is_refused_and_nothing_is_sent(
    service: Service, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "minutes.pdf").write_bytes(PDF)
    turns = _capture(service, monkeypatch)
    console, out = _console(service)

    await console.send(f"attach {tmp_path / 'minutes.pdf'} {tmp_path / 'nothing-here.pdf'}")
    await console.send(f"attach {tmp_path}")
    await console.send("attach")
    await console.send("attach 'unclosed.pdf")

    assert turns == []
    said = out.getvalue()
    assert f"There's no file at {tmp_path / 'nothing-here.pdf'}. Nothing sent." in said
    assert f"{tmp_path} is a folder, not a file. Nothing sent." in said
    assert "Type: attach PATH [PATH...]" in said
    assert "I couldn't read that line" in said


def test_a_file_over_the_limit_is_too_big_and_not_read_whole(tmp_path: Path) -> None:
    big = tmp_path / "scan.pdf"
    with big.open("wb") as file:  # sparse: 20 MB and a bit, costing no disk
        file.truncate(MAX_FILE_BYTES + 4096)
    exact = tmp_path / "exact.pdf"
    with exact.open("wb") as file:
        file.truncate(MAX_FILE_BYTES)

    files = attached(f"attach {big} {exact}")

    assert not isinstance(files, str)
    too_big, at_limit = files
    assert (too_big.name, too_big.data, too_big.size, too_big.problem) == (
        "scan.pdf",
        b"",
        MAX_FILE_BYTES + 4096,
        "too_big",
    )
    assert (len(at_limit.data), at_limit.problem) == (MAX_FILE_BYTES, "")


def test_attach_is_a_word_of_its_own() -> None:
    # Words that merely start the same are not the console's command (they go to the dialog as typed).
    assert isinstance(attached("attach"), str)
    assert attached("  ATTACH  ") == attached("attach")
    assert is_attach("Attach x.pdf") and not is_attach("attached is the plan") and not is_attach("")
