"""The web form's renderer: a turn's neutral Replies as one HTML page in the patterns of the GOV.UK Design System
(one question per page, radios, checkboxes, a text box with its limit, an error summary linked to its field,
"Check your answers" for the review, a panel with the reference once sent). Pages need no JavaScript.

What a page holds is decided from the replies alone, as Block Kit and cards are: the question asked (the last
reply that asks one) is the page's form and its heading; what came before it (a saved answer, a problem) stands
above; any other reply is a section with its facts and buttons. Every button posts its encoded action
(dialogs.actions.encode) with the page's key and the session's CSRF token; the dialog decides what it may do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from dialogs.actions import Answer, encode
from dialogs.replies import Choice, Fact, Form, Reply
from dialogs.rich import BULLET, Span, Text

SERVICE_NAME = "Resourced Provision: expression of interest"
COUNCIL = "Essex County Council"
SCHOOLS_HEADING = "Your school's expression of interest"  # a page with no question and no title of its own
REVIEW_HEADING = "Check your answers"
# Answer types typed into one line; a long answer (and places by year, a line per year) gets a text area.
AREAS = ("long_text", "places_by_year")
INPUT_MODES = {"number": "numeric", "money": "decimal", "phone": "tel", "email": "email"}
AUTOCOMPLETE = {"email": "email", "phone": "tel"}
SAFE_LINKS = ("https://", "http://", "mailto:")  # what a link on a page may open (a meeting, an email)

_env = Environment(
    loader=PackageLoader("bot", "web_templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _line_html(spans: list[Span]) -> Markup:
    out = Markup("")
    for span in spans:
        words = escape(span.text)
        if span.style == "bold":
            out += Markup("<strong>%s</strong>") % words
        elif span.style == "italic":
            out += Markup('<span class="app-aside">%s</span>') % words
        elif span.style == "code":
            out += Markup("<code>%s</code>") % words
        elif span.style == "link" and span.url.lower().startswith(SAFE_LINKS):
            out += Markup('<a class="govuk-link" href="%s">%s</a>') % (span.url, words)
        elif span.style == "link":  # a link to anything else (javascript:, data:) is shown, never followed
            out += words + Markup(" (%s)") % span.url
        else:
            out += words
    return out


def _lines(text: Text) -> list[list[Span]]:
    lines: list[list[Span]] = [[]]
    for span in text:
        if span.style == "item":
            lines.append([span])
            continue
        first, *rest = span.text.split("\n")
        if first:
            lines[-1].append(Span(first, span.style, span.url))
        for piece in rest:
            lines.append([Span(piece, span.style, span.url)] if piece else [])
    return lines


@dataclass
class Asked:
    """A question's words as a page lays them out: what came before it, its caption ("Question 3 of 24."), the
    question itself (the h1) and the hint (why it is asked, the current answer, how to answer)."""

    intro: Markup
    caption: str
    heading: Markup
    hint: Markup


def asked(text: Text) -> Asked:
    """The question is the first line that starts with a bold run (the dialog's "*Question N of M.* …"), that run
    its caption; without one, the first line. Lines before it are an introduction."""
    lines = [line for line in _lines(text) if any(s.text.strip() for s in line)]
    if not lines:
        return Asked(Markup(""), "", Markup(""), Markup(""))
    at = next((n for n, line in enumerate(lines) if line[0].style == "bold" and len(line) > 1), 0)
    line = lines[at]
    caption = ""
    if line[0].style == "bold" and len(line) > 1:
        caption, line = line[0].text.strip(), [Span(line[1].text.lstrip(), line[1].style, line[1].url), *line[2:]]
    return Asked(_blocks(lines[:at]), caption, _line_html(line), _blocks(lines[at + 1 :]))


def rich_html(text: Text) -> Markup:
    """Rich text as paragraphs and bulleted lists: everything typed by someone is escaped, emphasis is tags."""
    return _blocks(_lines(text))


def _blocks(lines: list[list[Span]]) -> Markup:
    blocks: list[Markup] = []
    items: list[Markup] = []

    def close_list() -> None:
        if items:
            blocks.append(Markup('<ul class="govuk-list govuk-list--bullet">%s</ul>') % Markup("").join(items))
            items.clear()

    for line in lines:
        if line and line[0].style == "item":
            items.append(Markup("<li>%s</li>") % _line_html(line[1:]))
            continue
        if line and not line[0].style and line[0].text.startswith(BULLET):  # a "• " line written as words
            items.append(Markup("<li>%s</li>") % _line_html([Span(line[0].text[len(BULLET) :]), *line[1:]]))
            continue
        close_list()
        if line and any(s.text.strip() for s in line):
            blocks.append(Markup('<p class="govuk-body">%s</p>') % _line_html(line))
    close_list()
    return Markup("\n").join(blocks)


@dataclass
class Button:
    label: str
    value: str  # the encoded action
    style: str = ""  # "primary" | "danger" | "secondary"


@dataclass
class Question:
    """The question a page asks, as a form."""

    words: Asked
    kind: str  # "radios" | "checkboxes" | "text" | "area" | "files" | "none" (answered by its buttons only)
    options: list[tuple[str, str, bool]] = field(default_factory=list)  # (value, label, checked)
    done: str = ""  # a multiple choice: the encoded Done action the ticked values are added to
    max_length: int | None = None
    value: str = ""
    input_mode: str = ""
    autocomplete: str = ""
    error: str = ""
    question_id: str = ""  # on the form as data-question, with the answer type, for tests and styling
    answer_type: str = ""
    buttons: list[Button] = field(default_factory=list)  # beside the question: keep, skip, none of these, done


@dataclass
class Section:
    """Any reply that isn't the page's question: its words, facts (with Change buttons) and buttons."""

    kind: str
    title: str
    text: Markup
    heading: Markup = field(default_factory=Markup)  # the page's h1, when this reply heads the page
    caption: str = ""  # above the h1
    facts: list[tuple[str, str, Button | None]] = field(default_factory=list)
    buttons: list[Button] = field(default_factory=list)
    file: int | None = None  # the reply's index, for /web/file/N
    file_name: str = ""
    image: tuple[str, str] | None = None  # (data URL, description)


@dataclass
class PageView:
    title: str
    heading: str = ""
    errors: list[tuple[str, str]] = field(default_factory=list)  # (message, "#field")
    before: list[Section] = field(default_factory=list)
    question: Question | None = None
    after: list[Section] = field(default_factory=list)
    reference: str = ""  # the confirmation panel's reference, once an EOI is sent


def _button(choice: Choice) -> Button:
    # A button that opens a form (an officer's, where a platform has forms) posts its action like any other: no
    # headteacher's reply carries one but the larger answer box, which here is the page itself.
    style = choice.style if choice.style in ("primary", "danger") else "secondary"
    return Button(choice.label, encode(choice.action), style)


def _fact(fact: Fact) -> tuple[str, str, Button | None]:
    return (fact.label, fact.value, _button(fact.change) if fact.change else None)


def _question(reply: Reply) -> Question:
    options, others = reply.options() if reply.multi else ([], [])
    buttons: list[Button] = []
    radios: list[tuple[str, str, bool]] = []
    area: Form | None = None
    for choice in reply.choices if not reply.multi else others:
        act = choice.action
        if choice.form is not None and choice.form.command.startswith("answer"):
            area = choice.form  # "write it in a larger box": here the box is the page
        elif (
            not reply.multi
            and reply.answer_type != "files"  # its Done is a button beside the file box
            and isinstance(act, Answer)
            and act.question == reply.question_id
            and act.value
        ):
            radios.append((encode(act), choice.label, False))
        else:
            buttons.append(_button(choice))
    if reply.multi:
        ticked = set(reply.selected)
        return Question(
            asked(reply.text),
            "checkboxes",
            [(value, label, value in ticked) for value, label in options],
            done=encode(reply.done()),
            buttons=buttons,
        )
    if radios:
        return Question(asked(reply.text), "radios", radios, buttons=buttons)
    if reply.answer_type == "files":
        return Question(asked(reply.text), "files", buttons=buttons)
    if not reply.question_id:  # asked in words, answered in words (which times suit, say)
        return Question(asked(reply.text), "area", buttons=buttons)
    typed = reply.answer_type in (*AREAS, "short_text", "email", "phone", "date", "number", "money")
    if not typed:
        return Question(asked(reply.text), "none", buttons=buttons)
    field_ = area.fields[0] if area and area.fields else None
    return Question(
        asked(reply.text),
        "area" if reply.answer_type in AREAS else "text",
        max_length=field_.max_length if field_ else None,
        value=field_.value if field_ else "",
        input_mode=INPUT_MODES.get(reply.answer_type, ""),
        autocomplete=AUTOCOMPLETE.get(reply.answer_type, ""),
        buttons=buttons,
    )


def _section(reply: Reply, index: int, *, heads: bool = False) -> Section:
    image = None
    if reply.image:
        name, png, description = reply.image
        image = (f"data:image/png;base64,{png}", description or name)
    buttons = [_button(c) for c in reply.choices]
    if heads and len(buttons) == 1:
        buttons[0].style = "primary"  # a page's one call to action is its main one
    return Section(
        kind=reply.kind,
        title=reply.title,
        text=rich_html(reply.text),
        heading=Markup(escape(_heading(reply))) if heads else Markup(""),
        caption=reply.title if heads and reply.kind == "review" else "",
        facts=[_fact(f) for f in reply.facts],
        buttons=buttons,
        file=index if reply.file else None,
        file_name=reply.file[0] if reply.file else "",
        image=image,
    )


def _heading(reply: Reply) -> str:
    """A page's h1 when no question heads it: "Check your answers" for the review (its title, the school and
    reference, the caption), else the reply's title, else what the service is."""
    if reply.kind == "review":
        return REVIEW_HEADING
    return reply.title or SCHOOLS_HEADING


def question_at(replies: list[Reply]) -> int | None:
    """Which reply is the page's question: the last that asks one, of the EOI (it has its id) or answered in words
    alone (no buttons: "which times would suit?", which gets a text box). A question with buttons and no id (yes or
    no) stays a section with its buttons."""
    return max(
        (n for n, r in enumerate(replies) if r.kind == "question" and (r.question_id or not r.choices)), default=None
    )


def view(replies: list[Reply], *, problem: str = "", typed: str = "") -> PageView:
    """The page for a turn's replies; `problem` is the page's own complaint (nothing chosen, nothing typed), `typed`
    what was typed when the answer was refused (kept in the box)."""
    asking = question_at(replies)
    # Without a question or a confirmation panel, the first reply that isn't a problem heads the page (its title).
    confirms = any(r.reference for r in replies)
    heads = (
        None if asking is not None or confirms else next((n for n, r in enumerate(replies) if r.kind != "error"), None)
    )
    page = PageView(title=SERVICE_NAME)
    for n, reply in enumerate(replies):
        if n == asking:
            page.question = _question(reply)
            page.question.question_id, page.question.answer_type = reply.question_id, reply.answer_type
            continue
        section = _section(reply, n, heads=n == heads)
        (page.before if asking is not None and n < asking else page.after).append(section)
        if reply.reference:
            page.reference = reply.reference
        if reply.kind == "error":
            target = "#answer" if asking is not None else "#main-content"
            page.errors.append((reply.text.plain, target))
    if problem:
        page.errors.append((problem, "#answer"))
    if page.question is not None and page.errors:
        page.question.error = page.errors[-1][0]
        if typed and page.question.kind in ("text", "area"):
            page.question.value = typed
    if page.question is not None:
        page.heading = page.question.words.heading.striptags()
    elif heads is not None:
        page.heading = _heading(replies[heads])
    page.title = f"{page.heading} – {SERVICE_NAME}" if page.heading else SERVICE_NAME
    if page.errors:
        page.title = f"Error: {page.title}"
    return page


def render(template: str, **values: Any) -> str:
    return _env.get_template(template).render(service_name=SERVICE_NAME, council=COUNCIL, **values)
