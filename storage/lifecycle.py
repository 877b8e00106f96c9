"""The life of an EOI as one table: for each event and the state it happens in, who may do it, when, the
next state, who is told, and what the audit log records. Every change of an EOI's status goes through
`storage.transitions.transition`, which reads this table and nothing else; the dialogs word what it allows.

    draft --submit--> submitted --shortlist--> shortlisted --schedule--> discussion scheduled --approve--> approved
      ^                 |  |                                            (reschedule)  |   \\--decline--> declined
                           |        shortlisted / discussion scheduled --consider (a panel)--> under consideration
                           |        under consideration --approve--> approved, --decline--> declined
                           |        approved --open (an officer confirms first pupils, the plan's last)--> opened
      +----amend--------+  +--not-shortlist--> not shortlisted                        |
      +----restart------ withdrawn <--withdraw-- (any state before a decision) -------+
    approved / declined --reopen (an officer, within REOPEN_DAYS)--> discussion scheduled
    not shortlisted     --reopen (an officer, within REOPEN_DAYS)--> submitted
    opened              --reopen (an officer, within REOPEN_DAYS)--> approved
    discussion scheduled --cancel-discussion (an officer)--> shortlisted

A school's EOI belongs to one window. A finished EOI (approved, declined, not shortlisted, withdrawn once its
window has closed) never stops the school starting a new one in a later window.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

DRAFT, SUBMITTED, SHORTLISTED, NOT_SHORTLISTED = "draft", "submitted", "shortlisted", "not shortlisted"
SCHEDULED, APPROVED, DECLINED, WITHDRAWN = "discussion scheduled", "approved", "declined", "withdrawn"
# A decision panel (officers and stakeholders) is recommending; the school sees "under consideration".
UNDER_CONSIDERATION = "under consideration"
# The provision is open: the implementation plan's last milestone (first pupils) is done.
OPENED = "opened"
STATES = (
    DRAFT,
    SUBMITTED,
    SHORTLISTED,
    NOT_SHORTLISTED,
    SCHEDULED,
    UNDER_CONSIDERATION,
    APPROVED,
    DECLINED,
    WITHDRAWN,
    OPENED,
)
# States after which nothing more happens to the EOI unless an officer reopens it (or, withdrawn, the school
# restarts it while its window is open). An approved EOI is finished as a decision; its implementation plan
# (storage/implementation.py) carries on until it opens.
FINISHED = (NOT_SHORTLISTED, APPROVED, DECLINED, WITHDRAWN, OPENED)

SCHOOL, OFFICER = "school", "officer"
# Either side may do it: an implementation milestone with `who: either` (storage/implementation.py).
EITHER = "school or officer"
# How long after a decision an officer may reopen it (a mistake, new information); after that it stands.
REOPEN_DAYS = 14

# The calendar, as the table sees it: where an EOI's window is at a moment. A step that needs its window open is
# refused before the window opens and after it closes; once a later window is open, a finished EOI's school is
# told it can begin a new EOI there.
PLANNED = "planned"  # its window is yet to open
OPEN = "open"  # its window is open
CLOSED = "closed"  # its window has closed, and no later window is open
NEXT_OPEN = "next open"  # its window has closed, and a later one is open now
PHASES = (PLANNED, OPEN, CLOSED, NEXT_OPEN)

# What a step may need besides its state, phase, person and time: a discussion still to come (one that is
# booked and whose time has not yet come: one already held can't be called off).
DISCUSSION_TO_COME = "a discussion to come"


@dataclass(frozen=True)
class LifeStep:
    event: str  # what happens: "submit", "shortlist"...
    source: str  # the state it happens in
    target: str  # the state it leads to
    by: str  # SCHOOL, OFFICER or EITHER
    phases: tuple[str, ...] = PHASES  # the window phases it may happen in
    within_days: int | None = None  # only this many days after the EOI's last change of state
    needs: str = ""  # "" or DISCUSSION_TO_COME
    tell_school: bool = False  # the school hears of it (a notice to its channel and staff)
    tell_officers: bool = False  # the officers hear of it

    @property
    def while_open(self) -> bool:
        """Only while the EOI's window is open."""
        return self.phases == (OPEN,)

    @property
    def audit(self) -> str:
        """The audit log's action: the event's name, so the history reads as the table does."""
        return self.event


def _steps(event: str, sources: tuple[str, ...], target: str, by: str, **rules: object) -> list[LifeStep]:
    return [LifeStep(event, source, target, by, **rules) for source in sources]  # type: ignore[arg-type]


BEFORE_A_DECISION = (DRAFT, SUBMITTED, SHORTLISTED, SCHEDULED, UNDER_CONSIDERATION)
# Where a decision can be recorded: after a discussion, or once a panel has been asked.
DECIDABLE = (SCHEDULED, UNDER_CONSIDERATION)
# Where a booked discussion may still be pending: a panel can be asked before it takes place.
MAY_HAVE_A_DISCUSSION = (SCHEDULED, UNDER_CONSIDERATION)
WHILE_OPEN = (OPEN,)

LIFE: tuple[LifeStep, ...] = (
    *_steps("submit", (DRAFT,), SUBMITTED, SCHOOL, phases=WHILE_OPEN, tell_officers=True),
    # While its window is open and before shortlisting, a school may change a submitted EOI: it goes back to
    # draft and is submitted again under the same reference.
    *_steps("amend", (SUBMITTED,), DRAFT, SCHOOL, phases=WHILE_OPEN, tell_officers=True),
    *_steps("withdraw", BEFORE_A_DECISION, WITHDRAWN, SCHOOL, tell_officers=True),
    # A school that withdrew may change its mind while the window is open: its answers come back as a draft.
    *_steps("restart", (WITHDRAWN,), DRAFT, SCHOOL, phases=WHILE_OPEN, tell_officers=True),
    # Shortlisting may begin as soon as an EOI is submitted; schools are told so when they submit.
    *_steps("shortlist", (SUBMITTED,), SHORTLISTED, OFFICER, tell_school=True),
    *_steps("not-shortlist", (SUBMITTED,), NOT_SHORTLISTED, OFFICER, tell_school=True),
    *_steps("schedule", (SHORTLISTED, SCHEDULED), SCHEDULED, OFFICER, tell_school=True),
    # A discussion called off (`cancel discussion REF reason`) before it takes place: the EOI is shortlisted
    # again, ready for a new one.
    *_steps("cancel-discussion", (SCHEDULED,), SHORTLISTED, OFFICER, needs=DISCUSSION_TO_COME, tell_school=True),
    # A decision with stakeholders: an officer asks a panel; each member recommends; an officer decides.
    *_steps("consider", (SHORTLISTED, SCHEDULED), UNDER_CONSIDERATION, OFFICER, tell_school=True),
    *_steps("approve", DECIDABLE, APPROVED, OFFICER, tell_school=True),
    # A decline needs a reason the school is told, and calls off any discussion still to come.
    *_steps("decline", DECIDABLE, DECLINED, OFFICER, tell_school=True),
    # The implementation plan's last milestone (first pupils) done, confirmed by an officer once every other is.
    *_steps("open", (APPROVED,), OPENED, OFFICER, tell_school=True, tell_officers=True),
    *_steps("reopen", (APPROVED, DECLINED), SCHEDULED, OFFICER, within_days=REOPEN_DAYS, tell_school=True),
    # An opening recorded by mistake: approved again, its plan carrying on from first pupils.
    *_steps("reopen", (OPENED,), APPROVED, OFFICER, within_days=REOPEN_DAYS, tell_school=True, tell_officers=True),
    *_steps("reopen", (NOT_SHORTLISTED,), SUBMITTED, OFFICER, within_days=REOPEN_DAYS, tell_school=True),
)
EVENTS = tuple(dict.fromkeys(step.event for step in LIFE))
_BY_EVENT_AND_STATE = {(step.event, step.source): step for step in LIFE}


def step(event: str, state: str) -> LifeStep | None:
    """The step `event` takes from `state`, or None when the table has no such step."""
    return _BY_EVENT_AND_STATE.get((event, state))


def steps_from(state: str, by: str | None = None) -> list[LifeStep]:
    """What can happen next to an EOI in `state` (by one kind of person, or anyone), in the table's order."""
    return [s for s in LIFE if s.source == state and (by is None or s.by in (by, EITHER))]


@dataclass(frozen=True)
class Moment:
    """Everything the table's answer depends on, for one EOI at one moment (storage.transitions.moment reads it)."""

    state: str
    phase: str
    now: datetime
    changed_at: datetime  # the EOI's last change of state: `within_days` counts from it
    opens_at: datetime | None = None  # its window's, when it has one
    closes_at: datetime | None = None
    discussion_at: datetime | None = None  # when its discussion to come starts, if one is booked

    def after(self, target: str) -> Moment:
        """The same moment with the EOI moved to `target` (what a step's words may promise next)."""
        return replace(self, state=target, changed_at=self.now)


@dataclass(frozen=True)
class Verdict:
    """The table's answer to "may this kind of person take this step with this EOI now?": the step, and either
    the reason it is refused (see NotAllowed.reason) or when it stops being allowed (`until`, None: no limit the
    calendar sets)."""

    event: str
    step: LifeStep | None
    refused: str = ""
    until: datetime | None = None
    until_why: str = ""  # "window" (it closes then) | "too late" (the reopen period ends then)

    @property
    def allowed(self) -> bool:
        return not self.refused


def judge(event: str, moment: Moment, by: str) -> Verdict:
    """The one answer to what `by` may do with an EOI at `moment`: everything that changes an EOI, offers a
    button or makes a promise reads it."""
    found = step(event, moment.state)
    if found is None:
        return Verdict(event, None, "state")
    if found.by not in (by, EITHER):
        return Verdict(event, found, "who")
    if moment.phase not in found.phases:
        return Verdict(event, found, "window")
    if found.needs == DISCUSSION_TO_COME and (moment.discussion_at is None or moment.discussion_at <= moment.now):
        return Verdict(event, found, "no discussion")
    if found.within_days is not None:
        ends = moment.changed_at + timedelta(days=found.within_days)
        if moment.now > ends:
            return Verdict(event, found, "too late")
        return Verdict(event, found, until=ends, until_why="too late")
    if found.phases == WHILE_OPEN and moment.closes_at is not None:
        return Verdict(event, found, until=moment.closes_at, until_why="window")
    return Verdict(event, found)


def choices(moment: Moment, by: str) -> list[Verdict]:
    """What `by` may do now with an EOI at `moment`, in the table's order (each event once)."""
    verdicts = {s.event: judge(s.event, moment, by) for s in steps_from(moment.state, by)}
    return [v for v in verdicts.values() if v.allowed]


def phase_of(opens_at: datetime | None, closes_at: datetime | None, now: datetime, *, later_open: bool) -> str:
    """The phase of a window (open from `opens_at` until `closes_at`) at `now`; `later_open`: another window,
    after it, is open now. An EOI with no window yet (begun before any was planned) waits as if planned."""
    if opens_at is None or closes_at is None or now < opens_at:
        return PLANNED
    if now < closes_at:
        return OPEN
    return NEXT_OPEN if later_open else CLOSED


class Refused(Exception):
    """A request the rules refuse; subclasses carry the data the dialogs word."""


@dataclass
class NotAllowed(Refused):
    """An event the table doesn't allow now; the data says why (the dialogs word it)."""

    ref: str
    state: str
    event: str
    # "state": no such step from this state; "who": not this kind of person; "window": not in its window's
    # phase now; "too late": the step's time (within_days) has passed; "no discussion": none is still to come.
    reason: str
    phase: str = ""  # the window's phase when it was refused (worded with "window")
    moment: Moment | None = None  # the moment it was judged at, when known: the words say what can happen instead
    by: str = ""  # who asked

    def __str__(self) -> str:
        return f"{self.event} is not allowed for {self.ref or 'an EOI'} in state {self.state!r} ({self.reason})"
