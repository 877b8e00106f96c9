"""The terminal channel: plain text out, one line in (README.md, "Try it in a terminal"); `attach PATH [PATH...]`
sends files, as a file sent in Slack or Teams."""

from __future__ import annotations

import base64
import shlex
import sys
from pathlib import Path
from typing import TextIO

from bot.files import write_new
from bot.service import Service
from bot.turn_runner import Inbound
from dialogs.replies import Choice, Reply
from dialogs.rich import BULLET, Text
from dialogs.turns import ReceivedFile, Speaker
from storage import people
from storage.evidence import MAX_FILE_BYTES
from storage.models import School


def shown(text: Text) -> str:
    """Rich text in a terminal: no emphasis; words to type keep their `backticks`; a link shows its address."""
    parts = []
    for span in text:
        if span.style == "code":
            parts.append(f"`{span.text}`")
        elif span.style == "link":
            parts.append(f"{span.text} ({span.url})")
        elif span.style == "item":
            parts.append(BULLET)
        else:
            parts.append(span.text)
    return "".join(parts)


def render(reply: Reply, first: int = 1) -> tuple[str, list[Choice]]:
    """The reply as text, and the choices in the order they are numbered (from `first`: a turn's replies and the
    messages after them are numbered on from each other, so every number shown can be typed)."""
    lines = []
    if reply.title:
        lines.append(f"== {reply.title} ==")
    if reply.text:
        lines.append(shown(reply.text))
    for name, problem in reply.field_errors.items():
        if problem != reply.text.plain:  # a form's problem is often the whole message already shown
            lines.append(f"  ! {name}: {problem}")
    choices: list[Choice] = []
    for fact in reply.facts:
        value = fact.value.replace("\n", "\n      ")
        lines.append(f"  {fact.label}: {value}")
    for fact in reply.facts:
        if fact.change:
            choices.append(fact.change)
    # A form on a question only offers a larger box to write in; a terminal's line is all there is.
    choices.extend(c for c in reply.choices if not (c.form and reply.kind == "question"))
    for n, choice in enumerate(choices, first):
        lines.append(f"{n}) {choice.label}")
    if reply.multi:
        lines.append("(choose one or more: numbers or codes separated by commas)")
    if reply.answer_type == "files":  # the terminal's way to send a file, as Slack and Teams have theirs
        lines.append("(to send files here: attach PATH [PATH...])")
    return "\n".join(lines), choices


NUMERIC_ANSWERS = ("number", "date", "phone")


def pick(line: str, choices: list[Choice], *, answer_type: str) -> Choice | None:
    """A number (unless the question itself takes numbers) or a label, any case."""
    text = line.strip()
    if text.isdecimal() and answer_type not in NUMERIC_ANSWERS and 1 <= int(text) <= len(choices):
        return choices[int(text) - 1]
    return next((c for c in choices if c.label.casefold() == text.casefold()), None)


ATTACH = "attach"  # `attach PATH [PATH...]`: send files, as a file sent in Slack or Teams


def read_file(path: Path) -> ReceivedFile:
    """A file named on the console, read as a channel fetches one: at most MAX_FILE_BYTES + 1 bytes, so a file over
    the limit is known to be so without reading it all."""
    with path.open("rb") as file:
        data = file.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        return ReceivedFile(path.name, size=max(len(data), path.stat().st_size), problem="too_big")
    return ReceivedFile(path.name, data=data, size=len(data))


def attached(line: str) -> tuple[ReceivedFile, ...] | str:
    """The files an `attach` line names (shell quoting, `~` expanded), or why nothing is sent."""
    try:
        words = shlex.split(line)
    except ValueError as error:  # an unclosed quote
        return f"I couldn't read that line ({error}). Nothing sent."
    if len(words) < 2:
        return "Type: attach PATH [PATH...] (quote a path with spaces). Nothing sent."
    files = []
    for word in words[1:]:
        path = Path(word).expanduser()
        if path.is_dir():
            return f"{word} is a folder, not a file. Nothing sent."
        if not path.is_file():  # missing, or a device or pipe that can't be read as a file
            return f"There's no file at {word}. Nothing sent."
        try:
            files.append(read_file(path))
        except OSError as error:
            return f"I couldn't read {word}: {error.strerror or error}. Nothing sent."
    return tuple(files)


def is_attach(line: str) -> bool:
    first = line.strip().split(maxsplit=1)
    return bool(first) and first[0].casefold() == ATTACH


class Console:
    """The terminal channel: the same turn runner as Slack and Teams, printing plain text."""

    platform = "console"
    paced = False  # whoever runs it holds the database: a long piped script is not a flood (bot.turn_runner)

    def __init__(self, service: Service, speaker: Speaker, *, school: School | None, out: TextIO) -> None:
        self.service, self.speaker, self.school, self.out = service, speaker, school, out
        self.choices: list[Choice] = []
        self.answer_type = ""

    def show(self, replies: list[Reply], *, heading: str = "") -> None:
        """Print replies. Their buttons join what the next line may pick, by number or label: every reply with
        buttons shown since the person last typed, a school's invitation among the messages included."""
        for reply in replies:
            text, choices = render(reply, first=len(self.choices) + 1)
            self.choices += choices
            if reply.answer_type or not self.answer_type:
                self.answer_type = reply.answer_type
            if reply.file:
                text += "\n" + self._save(*reply.file)
            if reply.image:  # a chart: the terminal can't show it, so it is saved as a PNG beside the CSVs
                text += "\n" + self._save(reply.image[0], base64.b64decode(reply.image[1]))
            print(f"{heading}\n{text}" if heading else text, file=self.out)
            print(file=self.out)

    @staticmethod
    def _save(name: str, content: str | bytes) -> str:
        """A file (an export, a calendar invitation) is saved in the current folder, readable by its owner only."""
        try:
            saved = write_new(Path(name), content)  # never over, or through, a file already there
        except OSError as error:
            return f"(couldn't save {name} here: {error.strerror or error})"
        return f"(saved to {saved})"

    async def show_notices(self) -> None:
        audience = "school" if self.school else "officers"
        found = await self.service.conversations.pending_notices(
            destination=f"console:{self.speaker.user_id}",
            audience=audience,
            school_urn=self.school.urn if self.school else None,
            recipient=f"console:{self.speaker.user_id}",
        )
        for notice in found:
            whom = "you" if notice.audience == "person" else "your school" if self.school else "officers"
            self.show([Reply.from_dict(notice.body)], heading=f"[message for {whom}]")  # buttons pickable by number

    async def send(self, line: str) -> None:
        if is_attach(line):
            await self.attach(line)
            return
        choice = pick(line, self.choices, answer_type=self.answer_type)
        if choice and choice.form:
            fields = " ".join(
                f"[{f.prefix}{f.name.upper()}]" if f.optional else f.name.upper() for f in choice.form.fields
            )
            print(f"Type: {choice.form.command} {fields}\n", file=self.out)
            return
        self.choices, self.answer_type = [], ""  # what is shown next is what the next line answers
        inbound = (
            Inbound(self.speaker.user_id, None, action=choice.action)
            if choice
            else Inbound(self.speaker.user_id, None, text=line)
        )
        await self.service.runner.run(self, inbound)
        await self.show_notices()

    async def attach(self, line: str) -> None:
        """`attach PATH [PATH...]`: one turn with the files and no words, or, when a path can't be read, a word
        here and nothing sent."""
        files = attached(line)
        if isinstance(files, str):
            print(f"{files}\n", file=self.out)
            return
        self.choices, self.answer_type = [], ""
        await self.service.runner.run(self, Inbound(self.speaker.user_id, None, files=files))
        await self.show_notices()

    async def identify(self, inbound: Inbound[None]) -> Speaker:
        return self.speaker  # who runs the console is who they said (`--as`, `--user`)

    async def deliver(self, where: None, replies: list[Reply]) -> None:
        self.show(replies)

    async def run(self, stdin: TextIO) -> None:
        interactive = stdin.isatty()
        await self.show_notices()
        while True:
            if interactive:
                print("> ", end="", file=self.out, flush=True)
            line = stdin.readline()
            if not line:
                break
            line = line.rstrip("\n")
            if line.strip().casefold() in ("quit", "exit"):
                break
            if not interactive:
                print(f"> {line}", file=self.out)
            await self.send(line)


async def open_console(service: Service, *, role: str, user: str | None, school_urn: str | None) -> Console:
    async with service.db.session() as session:
        school = await session.get(School, school_urn) if school_urn else None
        now = service.clock.now()
        if role == "headteacher":
            if school is None:
                raise SystemExit(
                    f"No school with URN {school_urn!r} in the register; pass --school URN "
                    "(the demo register starts at 114000)."
                )
            speaker = Speaker("console", user or f"head-{school.urn}")  # --user cleaned as any channel's user id
            # Named on the command line, so an explicit link (as an officer's `link`), which the register's email
            # re-check leaves alone; the console then acts for this school.
            person = await people.link(
                session, actor="console", platform="console", user_id=speaker.user_id, school=school, now=now
            )
            people.choose_school(person, school)
        else:
            # Whoever runs the console on the server already holds the database, so they may act as an officer.
            # That is recorded as a grant by "console", like `officer add`: the one rule (EOI_OFFICERS or a
            # recorded grant) then covers them at every start-up, `officer list` shows where the role came from,
            # and `officer remove console:ID` revokes it.
            speaker, school = Speaker("console", user or "officer"), None
            await people.grant_officer(session, actor="console", platform="console", user_id=speaker.user_id, now=now)
        await session.commit()
    return Console(service, speaker, school=school, out=sys.stdout)
