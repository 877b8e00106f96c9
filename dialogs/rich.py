"""What a reply says, with its emphasis, independent of any platform: runs of text, each plain, bold, italic,
code or a link, and list items. Every channel renders it in its own markup (Slack mrkdwn, Teams markdown, the console's
plain text) and escapes the rest.

A `str` is always literal: whatever a person typed (an answer with `*`, `<` or `&`, a school's name) is shown
exactly as it is on every channel. Emphasis exists only where the dialogs ask for it, either by name:

    rich("You're now acting for ", bold(school.name), ". Type ", bold("school"), " to switch.")

or in a template written in the dialogs, whose fields are filled with literal values:

    md("You're now acting for *{}*. Type *school* to switch, or `help`.", school.name)

A template is a constant (tests/unit/dialogs/test_rich_text.py checks that no f-string or variable is passed as one), so
markup can only come from the code, never from what someone typed. Line breaks are "\\n"; a template line
starting "• " is a list item.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

Style = Literal["", "bold", "italic", "code", "link", "item"]
STYLES: tuple[Style, ...] = ("", "bold", "italic", "code", "link", "item")
BULLET = "• "  # how a list item reads where there is no markup (the console, notifications)


@dataclass(frozen=True)
class Span:
    """A run of text in one style. A link shows `text` and opens `url`; an item (empty text) starts a list item."""

    text: str
    style: Style = ""
    url: str = ""


@dataclass(frozen=True)
class Text:
    spans: tuple[Span, ...] = ()

    @property
    def plain(self) -> str:
        """What a reader sees, without emphasis: list items start with a bullet."""
        return "".join(BULLET if s.style == "item" else s.text for s in self.spans)

    def __str__(self) -> str:
        return self.plain

    def __format__(self, spec: str) -> str:
        # An f-string would drop the emphasis without a word: build with md() or rich() instead.
        raise TypeError("rich text in an f-string loses its emphasis: use md() or rich()")

    @property
    def markup(self) -> str:
        """As a template writes it (*bold*, `code`, "• " items), never parsed again: for places that take only
        plain text where words to type should still stand out (a form's field problems), and for tests."""
        marks = {"bold": "*{}*", "italic": "_{}_", "code": "`{}`", "link": "{} <{}>", "item": BULLET + "{}", "": "{}"}
        return "".join(marks[s.style].format(s.text, s.url) for s in self.spans)

    def __contains__(self, words: str | Text) -> bool:
        """Words anywhere in what a reader sees; a Text, with its emphasis."""
        return words.markup in self.markup if isinstance(words, Text) else words in self.plain

    def capitalize(self) -> Text:
        """The first letter a capital (a phrase that begins a sentence)."""
        if not self.spans:
            return self
        first = self.spans[0]
        return Text((Span(first.text[:1].upper() + first.text[1:], first.style, first.url), *self.spans[1:]))

    def __bool__(self) -> bool:
        return any(s.text or s.style == "item" for s in self.spans)

    def __iter__(self) -> Iterator[Span]:
        return iter(self.spans)

    def __add__(self, other: str | Span | Text) -> Text:
        return rich(self, other)

    def __radd__(self, other: str | Span | Text) -> Text:
        return rich(other, self)

    def clip(self, limit: int) -> Text:
        """At most `limit` characters of text (a message that must stay within a platform's size)."""
        kept: list[Span] = []
        for span in self.spans:
            if limit <= 0:
                break
            kept.append(Span(span.text[:limit], span.style, span.url))
            limit -= len(span.text)
        return Text(tuple(kept))

    def clip_lines(self, limit: int) -> tuple[Text, int]:
        """At most `limit` characters, cut at the end of a line, and how many lines were left out (0: none)."""
        whole = "".join(span.text for span in self.spans)
        if len(whole) <= limit:
            return self, 0
        cut = whole.rfind("\n", 0, limit + 1)
        cut = cut if cut > 0 else limit
        return self.clip(cut), whole[cut:].strip("\n").count("\n") + 1

    def first_line(self) -> Text:
        """Up to the first line break (a summary, a notification)."""
        kept: list[Span] = []
        for span in self.spans:
            if "\n" in span.text:
                kept.append(Span(span.text.split("\n", 1)[0], span.style, span.url))
                break
            kept.append(span)
        return Text(tuple(kept))

    def to_json(self) -> list[dict[str, str]]:
        return [{k: v for k, v in (("text", s.text), ("style", s.style), ("url", s.url)) if v} for s in self.spans]

    @classmethod
    def from_json(cls, data: Any) -> Text:
        """Text as `to_json` wrote it; a plain string is the Slack-style markup replies were stored in before
        (a notice queued before this change), read as such."""
        if isinstance(data, str):
            return from_slack_markup(data)
        if not isinstance(data, list):
            raise ValueError("text must be a list of runs")
        spans = []
        for run in data:
            if not isinstance(run, dict) or run.get("style", "") not in STYLES:
                raise ValueError(f"not a run of text: {run!r}")
            spans.append(Span(str(run.get("text", "")), run.get("style", ""), str(run.get("url", ""))))
        return cls(tuple(spans))


Part = str | Span | Text


def rich(*parts: Part | None) -> Text:
    """Parts one after another: a str is literal; Spans and Texts keep their emphasis. None is skipped."""
    spans: list[Span] = []
    for part in parts:
        if part is None or part == "":
            continue
        found = part.spans if isinstance(part, Text) else (part,) if isinstance(part, Span) else (Span(part),)
        for span in found:
            last = spans[-1] if spans else None
            if last and span.style != "item" and (last.style, last.url) == (span.style, span.url):
                spans[-1] = Span(last.text + span.text, span.style, span.url)  # runs alike side by side are one
            elif span.text or span.style == "item":
                spans.append(span)
    return Text(tuple(spans))


def text_of(value: str | Text) -> Text:
    return value if isinstance(value, Text) else rich(value)


def bold(text: str) -> Span:
    return Span(text, "bold")


def italic(text: str) -> Span:
    """An aside (why a question is asked): italic where the platform has it, plain words where it hasn't."""
    return Span(text, "italic")


def code(text: str) -> Span:
    """Words to type exactly (`list submitted`)."""
    return Span(text, "code")


def link(text: str, url: str) -> Span:
    return Span(text, "link", url)


def bullets(items: Iterable[Part]) -> Text:
    """A list, each item on its own line."""
    parts: list[Part] = []
    for item in items:
        parts += ["\n", Span("", "item"), item]
    return rich(*parts)


def lines_of(parts: Iterable[Part]) -> Text:
    """Parts one under another."""
    joined: list[Part] = []
    for part in parts:
        joined += ["\n", part] if joined else [part]
    return rich(*joined)


# *bold* and `code` as the dialogs' templates (and, before rich text, stored replies) write them.
MARKUP = re.compile(r"(?<![\w*])\*(\S(?:[^*\n]*?\S)?)\*(?![\w*])|`([^`\n]+)`")
_ITEM = re.compile(r"(?:^|(?<=\n))• ")
_FIELD = "\ue000"  # stands for a template's field while its markup is read; never in a template itself


def md(template: str, /, *args: object, **kwargs: object) -> Text:
    """Text from a template in the dialogs: *bold*, `code`, a line starting "• " is a list item; `{}` and
    `{name}` fields (with str.format's conversions and specs) are filled with the values: a str literally, a
    Text with its own emphasis."""
    if _FIELD in template:
        raise ValueError("a template can't contain U+E000")
    formatter = string.Formatter()
    values: list[str | Text] = []
    skeleton: list[str] = []
    auto = 0
    for literal, name, spec, conversion in formatter.parse(template):
        skeleton.append(literal)
        if name is None:
            continue
        if name == "":
            name, auto = str(auto), auto + 1
        value, _ = formatter.get_field(name, args, kwargs)
        if not (isinstance(value, Text) and not spec and not conversion):
            value = formatter.format_field(formatter.convert_field(value, conversion), spec or "")
        values.append(value)
        skeleton.append(_FIELD)
    filled = iter(values)

    def values_in(piece: str, style: Style) -> list[Part]:
        found: list[Part] = []
        for n, rest in enumerate(piece.split(_FIELD)):
            if n:
                value = next(filled)
                found.append(Span(str(value), style) if style else value)
            found.append(Span(rest, style) if style else rest)
        return found

    def fill(text: str, style: Style = "") -> list[Part]:
        if style:
            return values_in(text, style)
        items = _ITEM.split(text)  # the template's list items, found before the values go in
        found = values_in(items[0], "")
        for item in items[1:]:
            found += [Span("", "item"), *values_in(item, "")]
        return found

    return _parse("".join(skeleton), fill)


def from_slack_markup(text: str) -> Text:
    """A reply's text as dialogs wrote it before rich text: only for notices stored then, read back."""
    return _parse(text, lambda piece, style="": [Span(piece, style)])


def _parse(text: str, fill: Callable[..., list[Part]]) -> Text:
    parts: list[Part] = []
    at = 0
    for match in MARKUP.finditer(text):
        parts += fill(text[at : match.start()])
        if match.group(1) is not None:
            parts += fill(match.group(1), "bold")
        else:
            parts += fill(match.group(2), "code")
        at = match.end()
    parts += fill(text[at:])
    return rich(*parts)
