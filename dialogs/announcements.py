"""What schools and officers are told when a window opens, is about to close, changes, and closes."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from dialogs.actions import Command
from dialogs.dates import format_datetime
from dialogs.glossary import PROVISION_NAMES, need_label
from dialogs.information_session import in_announcement
from dialogs.questions_left import left_words
from dialogs.replies import Choice, Fact, Reply
from dialogs.report import need_lines
from dialogs.rich import Text, md, rich
from storage import report
from storage.lifecycle import (
    APPROVED,
    BEFORE_A_DECISION,
    DECLINED,
    DRAFT,
    FINISHED,
    NOT_SHORTLISTED,
    OPENED,
    SCHEDULED,
    SHORTLISTED,
    STATES,
    SUBMITTED,
    UNDER_CONSIDERATION,
    WITHDRAWN,
)
from storage.models import EOI, NeedRow, Notice, School, Window
from storage.windows import is_open, window_after, window_code, window_name

# How a count of EOIs in each state reads ("1 submitted", "2 drafts not submitted"), one and many.
COUNTED = {
    DRAFT: ("draft not submitted", "drafts not submitted"),
    SUBMITTED: ("submitted", "submitted"),
    SHORTLISTED: ("shortlisted", "shortlisted"),
    NOT_SHORTLISTED: ("not shortlisted", "not shortlisted"),
    SCHEDULED: ("with a discussion scheduled", "with a discussion scheduled"),
    UNDER_CONSIDERATION: ("under consideration", "under consideration"),
    APPROVED: ("approved", "approved"),
    DECLINED: ("declined", "declined"),
    WITHDRAWN: ("withdrawn", "withdrawn"),
    OPENED: ("opened", "opened"),
}
assert set(COUNTED) == set(STATES), "every state in storage.lifecycle needs its words here"
# What a window's end means for an EOI, by where it is in its life (storage/lifecycle.py): a draft waits for
# the next window; one under way (submitted, not yet decided) is ECC's to follow up; a decision stands.
UNDER_WAY = tuple(s for s in BEFORE_A_DECISION if s != DRAFT)
DECIDED = tuple(s for s in FINISHED if s != WITHDRAWN)
# Put forward in a window: submitted, whatever has happened since, unless the school withdrew it.
PUT_FORWARD = UNDER_WAY + DECIDED
PUT_FORWARD_IN_ORDER = tuple(s for s in STATES if s in PUT_FORWARD)


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


def count_by_state(eois: list[EOI]) -> str:
    """'3 submitted, 1 approved, 2 drafts not submitted': what was put forward first, in the lifecycle's order,
    then drafts and withdrawn EOIs; states with none are left out."""
    counts = Counter(e.status for e in eois)
    order = (*PUT_FORWARD_IN_ORDER, DRAFT, WITHDRAWN)
    return ", ".join(f"{counts[s]} {COUNTED[s][counts[s] != 1]}" for s in order if counts[s])


def _new_reference(window: Window | None) -> str:
    return f"a new reference (EOI-{window_code(window)}-…)" if window else "a new reference"


def priority_lines(needs: list[NeedRow]) -> list[str]:
    lines = []
    for need in sorted(needs, key=lambda n: ("high", "medium", "low").index(n.priority)):
        place = need.district or f"the {need.quadrant} quadrant"
        lines.append(
            f"• {need_label(need.need_type)}: {PROVISION_NAMES[need.provision_type]}, {need.phase}, "
            f"{place} ({need.priority} priority, {need.places} places)"
        )
    return lines


def announcement(window: Window, school: School, needs: list[NeedRow], *, now: datetime | None = None) -> Reply:
    """`now`: when it is sent, which names the window's information session if it is still to come then."""
    session = in_announcement(window, now) if now is not None else None
    return Reply(
        kind="notice",
        title=f"{window_name(window)}: expressions of interest are open",
        text=(
            f"Essex County Council is inviting expressions of interest from schools to host a Resourced "
            f"Provision or Partnership Provision. {school.name} is in scope because of these priority needs:\n"
            + "\n".join(priority_lines(needs))
            + md(
                "\nThe window closes {}. Offers that answer these needs are prioritised. Press *Start an EOI* (or "
                "type *start*) to begin; it takes about 20 minutes and saves as you go.",
                format_datetime(window.closes_at),
            )
            + (session or "")
        ),
        choices=[Choice("Start an EOI", Command("start"), style="primary")],
    )


NOT_REACHED = "Not reached"  # how `window preview` heads the schools nothing reaches, grouped by their need
NAMED_AT_MOST = 20  # unreachable schools named in one message; `window preview` lists every one


def unreachable(schools: list[School], in_scope: int, code: str, *, listed_below: bool = False) -> Text:
    """Plainly, how many in-scope schools would hear nothing and which (storage.audiences.without_destination).
    `listed_below`: the reply lists them itself (`window preview`), so they are counted, not named here."""
    if not in_scope:  # need that covers no school in the register: nobody to reach, said as such
        return md("No school is in scope.")
    if not schools:
        return md("All {} in scope can be reached.", _plural(in_scope, "school"))
    named = "; ".join(f"{s.name} ({s.urn})" for s in schools[:NAMED_AT_MOST])
    more = len(schools) - NAMED_AT_MOST
    rest = md("; and {} more (`window preview {}` lists them all)", more, code) if more > 0 else ""
    if listed_below:
        named, rest = f"they are listed below under “{NOT_REACHED}”, by the need they would hear of", ""
    one = len(schools) == 1
    return md(
        "{} of the {} in scope {} no working destination and will not hear from us: {}{}. To reach {}: give the "
        "school a Slack or Teams channel in the register, link a member of its staff (`link PLATFORM:USER URN`), "
        "or give it a headteacher email in the register (used when email is on).",
        len(schools),
        _plural(in_scope, "school"),
        "has" if one else "have",
        named,
        rest,
        "it" if one else "one",
    )


# Why a window with no identified need imported tells nobody, as a reason to check before opening it.
NOBODY_TOLD = "no identified need is imported for it, so no school is in scope and nobody will be told it is open"


def no_need(window: Window, now: datetime) -> Text:
    """What a window with no identified need imported means, said at `window add`, `preview` and `open`, a week
    before it opens and when it opens: no school is in scope, so its announcement reaches nobody."""
    name, code = window_name(window), window_code(window)
    if window.announced_at is not None:  # the scheduler announces once: need imported after it tells nobody
        return md(
            "No identified need was imported for {} when it opened, so no school was in scope and nobody was told "
            "it is open. `need {}` shows what is imported now.",
            name,
            code,
        )
    when = "nobody will be told it is open" if window.opens_at <= now else "when it opens, nobody will be told"
    return md(
        "No identified need is imported for {} yet, so no school is in scope: {}. Import it with `eoi-bot import "
        "need FILE.csv --window {}`.",
        name,
        when,
        code,
    )


def no_need_before_opening(window: Window, now: datetime) -> Reply:
    """The scheduler's warning to officers, a week before a window with no need imported would announce to
    nobody."""
    return Reply(
        kind="notice",
        title=f"{window_name(window)} opens {format_datetime(window.opens_at)} to nobody",
        text=no_need(window, now),
        choices=[Choice("Preview", Command(f"window preview {window_code(window)}"))],
    )


def before_opening(window: Window, schools: int, missed: list[School]) -> Reply:
    code = window_code(window)
    return Reply(
        kind="notice",
        title=f"{window_name(window)} opens {format_datetime(window.opens_at)}",
        text=md(
            "{} {} in scope. {} `window preview {}` shows how each will be reached.",
            _plural(schools, "school"),
            "is" if schools == 1 else "are",
            unreachable(missed, schools, code),
            code,
        ),
        choices=[Choice("Preview", Command(f"window preview {code}"))],
    )


def opened_for_officers(
    window: Window, schools: int, missed: list[School] | None = None, *, need: bool = True
) -> Reply:
    """`missed`: the in-scope schools nothing reaches (None when the scheduler wasn't told where schools hear);
    `need`: whether any identified need was imported (without it nobody is in scope)."""
    code = window_code(window)
    if not need:
        return Reply(
            kind="notice", title=f"{window_name(window)} is open", text=no_need(window, window.opens_at)
        )  # announced: what was told
    if missed:
        text = md("Announcing to {} of the {} in scope. ", schools - len(missed), _plural(schools, "school"))
    else:
        text = md("Announcing to {} in scope. ", _plural(schools, "school"))
    if missed is not None:
        text = rich(text, unreachable(missed, schools, code), " ")
    return Reply(
        kind="notice",
        title=f"{window_name(window)} is open",
        text=rich(text, md("`window deliveries {}` shows progress.", code)),
        choices=[Choice("Deliveries", Command(f"window deliveries {code}"))],
    )


def reminder(window: Window, school: School, *, days: int, drafts: list[EOI], after: Window | None) -> Reply:
    """A closing reminder, saying what the school has left to do: it hasn't started, or each draft's questions
    still unanswered (dialogs.questions_left); and what happens to a draft not submitted in time
    (storage.eois.school_eoi moves it to the next window under a new reference when the school next uses the
    bot)."""
    when = "tomorrow" if days == 1 else f"in {days} days"
    closes = format_datetime(window.closes_at)
    if drafts:
        left = [" ".join(filter(None, (e.ref, left_words(e, school)))) for e in drafts]
        one = len(drafts) == 1
        where = f"the next window, {window_name(after)}," if after else "the next window"
        status = f"Your draft {left[0]}." if one else f"Your drafts haven't been submitted yet: {'; '.join(left)}."
        doing = (
            f"{status} If {'it isn' if one else 'they aren'}'t submitted by the close, "
            f"{closes}, your answers are kept and move to {where} under {_new_reference(after)}"
            + ("" if after else " once ECC sets one")
            + "; nothing reaches ECC until you submit it there."
        )
    else:
        doing = f"You haven't started an EOI for {window_name(window)} yet. The window closes {closes}."
    return Reply(
        kind="notice",
        title=f"{window_name(window)} closes {when}",
        text=md("{} Type *start* to carry on.", doing) if drafts else md("{} Type *start* to begin.", doing),
        choices=[Choice("Continue my EOI" if drafts else "Start an EOI", Command("start"), style="primary")],
    )


def window_changed(window: Window) -> Reply:
    return Reply(
        kind="notice",
        title=f"{window_name(window)}: new closing date",
        text=f"{window_name(window)} now closes {format_datetime(window.closes_at)}.",
        choices=[Choice("Start or continue my EOI", Command("start"))],
    )


def _draft_moves(upcoming: Window | None, now: datetime) -> str:
    """Where a draft in a cancelled window goes (storage.eois.school_eoi carries it to the open or next window)."""
    if upcoming is None:
        return "its answers move to the next window under a new reference once ECC sets one"
    when = "open now" if is_open(upcoming, now) else f"opens {format_datetime(upcoming.opens_at)}"
    return (
        f"its answers move to the next window, {window_name(upcoming)} ({when}), under "
        f"{_new_reference(upcoming)} the next time you use the bot"
    )


def _on_cancel(eoi: EOI, upcoming: Window | None, now: datetime) -> str:
    """What cancelling its window means for one EOI, by its state."""
    ref = eoi.ref or "(no reference yet)"
    if eoi.status == DRAFT:
        return f"Your draft {ref} is kept: {_draft_moves(upcoming, now)}, and you carry on where you left off."
    if eoi.status in UNDER_WAY:
        return (
            f"Your expression of interest {ref} ({eoi.status}) stays on record as it is: nothing is withdrawn or "
            "lost. ECC will contact you about what happens to it next."
        )
    if eoi.status in DECIDED:
        return f"The decision on {ref} ({eoi.status}) is unaffected and stays on record."
    return f"{ref} stays withdrawn. You can start a new expression of interest when a later window opens."


def window_cancelled(window: Window, school: School, held: list[EOI], upcoming: Window | None, now: datetime) -> Reply:
    """What one school is told when a window is cancelled: what is true for each of its own EOIs in it."""
    lines = [_on_cancel(eoi, upcoming, now) for eoi in held] or [
        f"{school.name} had no EOI in this window, so there is nothing to keep or change."
    ]
    return Reply(
        kind="notice",
        title=f"{window_name(window)} is cancelled",
        text=f"ECC has cancelled {window_name(window)}. " + " ".join(lines),
    )


def cancel_question(window: Window, held: list[EOI]) -> str:
    inside = f" It holds {count_by_state(held)}." if held else ""
    return (
        f"Cancel {window_name(window)}?{inside} Each school told of it, and any with an EOI in it, will be told "
        "what it means for its own EOI: drafts are kept and move to the next window under a new reference; "
        "EOIs already submitted stay as they are for ECC to follow up; decisions stand."
    )


def cancelled_for_officers(window: Window, told: dict[str, tuple[School, list[EOI]]]) -> str:
    """The officer's confirmation: how many schools were told what, naming the EOIs someone must follow up."""
    name = window_name(window)
    if not told:
        return f"{name} is cancelled. No school had been told of it or had an EOI in it, so no one was told."
    held = [eoi for _, eois in told.values() for eoi in eois]
    drafts = [e for e in held if e.status == DRAFT]
    under_way = [(e, s) for s, eois in told.values() for e in eois if e.status in UNDER_WAY]
    decided = [e for e in held if e.status in DECIDED]
    withdrawn = [e for e in held if e.status == WITHDRAWN]
    lines = []
    if none := sum(1 for _, eois in told.values() if not eois):
        lines.append(f"{none} had no EOI in it")
    if drafts:
        lines.append(
            f"{_plural(len(drafts), 'draft')} kept ({', '.join(e.ref or '-' for e in drafts)}): "
            "each moves to the next window under a new reference when its school next uses the bot"
        )
    if under_way:
        named = "; ".join(f"{e.ref} {s.name} ({e.status})" for e, s in under_way)
        one = len(under_way) == 1
        stays, told_whom = ("stays as it is", "Its school was") if one else ("stay as they are", "Their schools were")
        lines.append(
            f"{_plural(len(under_way), 'EOI')} under way {stays}: {named}. {told_whom} told ECC will be in touch "
            f"about what happens next: please contact {'it' if one else 'them'}. You can still shortlist, schedule "
            "and decide as usual, and a school can still withdraw"
        )
    if decided:
        verb = "stands" if len(decided) == 1 else "stand"
        lines.append(
            f"{_plural(len(decided), 'decision')} {verb}: " + ", ".join(f"{e.ref} ({e.status})" for e in decided)
        )
    if withdrawn:
        verb = "stays" if len(withdrawn) == 1 else "stay"
        lines.append(f"{_plural(len(withdrawn), 'withdrawn EOI')} {verb} withdrawn")
    schools = len(told)
    whose = "its" if schools == 1 else "their"
    return (
        f"{name} is cancelled. {_plural(schools, 'school')} {'has' if schools == 1 else 'have'} been told what it "
        f"means for {whose} own EOI:\n" + "\n".join(f"• {line}" for line in lines)
    )


def closing_summary(window: Window, eois: list[tuple[EOI, School]], needs: list[NeedRow]) -> Reply:
    """Counts each EOI by its state now; the breakdowns count what was put forward (PUT_FORWARD) and say so."""
    put_forward = [(e, s) for e, s in eois if e.status in PUT_FORWARD]
    facts = [
        Fact(
            "EOIs",
            f"{len(eois)} in this window: {count_by_state([e for e, _ in eois])}" if eois else "none in this window",
        )
    ]
    for label, key in (
        ("By quadrant", lambda s, e: s.quadrant),
        ("By district", lambda s, e: s.district),
        ("By need type", lambda s, e: e.primary_need or "?"),
        ("By phase", lambda s, e: s.phase),
    ):
        counts = Counter(key(s, e) for e, s in put_forward)
        facts.append(Fact(label, ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"))
    # The same numbers as `report` (storage/report.py), so the summary and the chart never disagree.
    facts.append(Fact("Against identified need", need_lines(report.build(window, needs, eois))))
    waiting = sum(1 for e, _ in eois if e.status == SUBMITTED)
    return Reply(
        kind="summary",
        title=f"{window_name(window)} has closed",
        facts=facts,
        text=(
            f"Submissions are closed. The breakdowns count the {_plural(len(put_forward), 'EOI')} that "
            f"{'was' if len(put_forward) == 1 else 'were'} submitted, whatever has happened to "
            f"{'it' if len(put_forward) == 1 else 'them'} since; "
            f"drafts and withdrawn EOIs are left out. {waiting} {'is' if waiting == 1 else 'are'} waiting to be "
            "shortlisted."
        ),
        choices=[Choice("List those waiting", Command("list submitted"))],
    )


# A window's notices that say it is open: true while it is, stale once it has closed or was cancelled.
WHILE_OPEN = ("announcement", "reminder", "nudge")


def has_closed(window: Window, after: Window | None, now: datetime) -> Reply:
    """What a school reading a window's announcement late (the console's outbox) is told instead: it closed (or
    was cancelled), and the next window if one is planned."""
    name = window_name(window)
    if window.cancelled_at is not None:
        title, text = f"{name} was cancelled", md("{} was cancelled.", name)
    else:
        title = f"{name}: expressions of interest have closed"
        text = md("{} closed {}.", name, format_datetime(window.closes_at))
    if after is not None and after.opens_at > now:
        text = md("{} The next window, {}, opens {}.", text, window_name(after), format_datetime(after.opens_at))
    elif after is not None:
        text = md(
            "{} The next window, {}, is open until {}.", text, window_name(after), format_datetime(after.closes_at)
        )
    return Reply(kind="notice", title=title, text=text)


async def as_now(session: AsyncSession, notice: Notice, now: datetime) -> Notice:
    """The notice as it is true at `now`: a window's announcement or reminder read after the window closed says
    it has closed (a copy; the stored notice is kept as it was sent)."""
    if notice.kind not in WHILE_OPEN or notice.window_id is None:
        return notice
    window = await session.get(Window, notice.window_id)
    if window is None or (window.cancelled_at is None and now < window.closes_at):
        return notice
    body = has_closed(window, await window_after(session, window), now).to_dict()
    return Notice(
        id=notice.id,
        key=notice.key,
        window_id=notice.window_id,
        audience=notice.audience,
        recipient=notice.recipient,
        school_urn=notice.school_urn,
        kind=notice.kind,
        body=body,
        created_at=notice.created_at,
    )
