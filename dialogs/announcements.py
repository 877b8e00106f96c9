"""What schools and officers are told when a window opens, is about to close, changes, and closes."""

from __future__ import annotations

from collections import Counter

from dialogs.dates import format_datetime
from dialogs.glossary import PROVISION_NAMES, need_label
from dialogs.replies import Choice, Fact, Reply, action
from storage.models import EOI, NeedRow, School, Window
from storage.windows import window_code, window_name


def priority_lines(needs: list[NeedRow]) -> list[str]:
    lines = []
    for need in sorted(needs, key=lambda n: ("high", "medium", "low").index(n.priority)):
        place = need.district or f"the {need.quadrant} quadrant"
        lines.append(
            f"• {need_label(need.need_type)}: {PROVISION_NAMES[need.provision_type]}, {need.phase}, "
            f"{place} ({need.priority} priority, {need.places} places)"
        )
    return lines


def announcement(window: Window, school: School, needs: list[NeedRow]) -> Reply:
    return Reply(
        kind="notice",
        title=f"{window_name(window)}: expressions of interest are open",
        text=(
            f"Essex County Council is inviting expressions of interest from schools to host a Resourced "
            f"Provision or Partnership Provision. {school.name} is in scope because of these priority needs:\n"
            + "\n".join(priority_lines(needs))
            + f"\nThe window closes {format_datetime(window.closes_at)}. Offers that answer these needs are "
            "prioritised. Press *Start an EOI* (or type *start*) to begin; it takes about 20 minutes and saves "
            "as you go."
        ),
        choices=[Choice("Start an EOI", action("cmd", "start"), style="primary")],
    )


def opened_for_officers(window: Window, schools: int) -> Reply:
    code = window_code(window)
    return Reply(
        kind="notice",
        title=f"{window_name(window)} is open",
        text=f"Announcing to {schools} schools in scope. `window deliveries {code}` shows progress.",
        choices=[Choice("Deliveries", action("cmd", f"window deliveries {code}"))],
    )


def reminder(window: Window, school: School, *, days: int, has_draft: bool) -> Reply:
    when = "tomorrow" if days == 1 else f"in {days} days"
    doing = (
        "Your school has a draft that hasn't been submitted yet."
        if has_draft
        else "We haven't had an expression of interest from your school yet."
    )
    return Reply(
        kind="notice",
        title=f"{window_name(window)} closes {when}",
        text=f"{doing} The window closes {format_datetime(window.closes_at)}. Type *start* to carry on.",
        choices=[Choice("Continue my EOI" if has_draft else "Start an EOI", action("cmd", "start"), style="primary")],
    )


def window_changed(window: Window, *, cancelled: bool = False) -> Reply:
    if cancelled:
        return Reply(
            kind="notice",
            title=f"{window_name(window)} is cancelled",
            text=f"ECC has cancelled {window_name(window)}. Drafts are kept for the next window.",
        )
    return Reply(
        kind="notice",
        title=f"{window_name(window)}: new closing date",
        text=f"{window_name(window)} now closes {format_datetime(window.closes_at)}.",
        choices=[Choice("Start or continue my EOI", action("cmd", "start"))],
    )


def closing_summary(window: Window, eois: list[tuple[EOI, School]], needs: list[NeedRow]) -> Reply:
    submitted = [(e, s) for e, s in eois if e.status not in ("draft", "withdrawn")]
    facts = [
        Fact(
            "EOIs",
            f"{len(submitted)} submitted"
            + (f", {len(eois) - len(submitted)} drafts or withdrawn" if len(eois) > len(submitted) else ""),
        )
    ]
    for label, key in (
        ("By quadrant", lambda s, e: s.quadrant),
        ("By district", lambda s, e: s.district),
        ("By need type", lambda s, e: e.primary_need or "?"),
        ("By phase", lambda s, e: s.phase),
    ):
        counts = Counter(key(s, e) for e, s in submitted)
        facts.append(Fact(label, ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"))
    lines = []
    for need in needs:
        place = need.district or need.quadrant
        offered = [
            e
            for e, s in submitted
            if e.primary_need == need.need_type
            and s.phase in (need.phase, "all-through")
            and (s.district == need.district if need.district else s.quadrant == need.quadrant)
        ]
        places = sum(int(e.answers.get("places") or 0) for e in offered)
        lines.append(
            f"{need.need_type} {need.provision_type} {place} {need.phase}: identified {need.places} places; "
            f"{len(offered)} EOI{'s' if len(offered) != 1 else ''} offering {places}"
        )
    facts.append(Fact("Against identified need", "\n".join(lines) or "no need recorded"))
    return Reply(
        kind="summary",
        title=f"{window_name(window)} has closed",
        facts=facts,
        text="Submissions are closed. Shortlisting can begin.",
        choices=[Choice("List submitted", action("cmd", "list submitted"))],
    )
