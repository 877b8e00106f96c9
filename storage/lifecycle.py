"""The life of an EOI as one table: for each event and the state it happens in, who may do it, when, the
next state, who is told, and what the audit log records. Every change of an EOI's status goes through
`storage.eois.transition`, which reads this table and nothing else; the dialogs word what it allows.

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

from dataclasses import dataclass

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


@dataclass(frozen=True)
class Step:
    event: str  # what happens: "submit", "shortlist"...
    source: str  # the state it happens in
    target: str  # the state it leads to
    by: str  # SCHOOL or OFFICER
    while_open: bool = False  # only while the EOI's window is open
    within_days: int | None = None  # only this many days after the EOI's last change of state
    tell_school: bool = False  # the school hears of it (a notice to its channel and staff)
    tell_officers: bool = False  # the officers hear of it

    @property
    def audit(self) -> str:
        """The audit log's action: the event's name, so the history reads as the table does."""
        return self.event


def _steps(event: str, sources: tuple[str, ...], target: str, by: str, **rules: object) -> list[Step]:
    return [Step(event, source, target, by, **rules) for source in sources]  # type: ignore[arg-type]


BEFORE_A_DECISION = (DRAFT, SUBMITTED, SHORTLISTED, SCHEDULED, UNDER_CONSIDERATION)
# Where a decision can be recorded: after a discussion, or once a panel has been asked.
DECIDABLE = (SCHEDULED, UNDER_CONSIDERATION)
# Where a booked discussion may still be pending: a panel can be asked before it takes place.
MAY_HAVE_A_DISCUSSION = (SCHEDULED, UNDER_CONSIDERATION)

LIFE: tuple[Step, ...] = (
    *_steps("submit", (DRAFT,), SUBMITTED, SCHOOL, while_open=True, tell_officers=True),
    # While its window is open and before shortlisting, a school may change a submitted EOI: it goes back to
    # draft and is submitted again under the same reference.
    *_steps("amend", (SUBMITTED,), DRAFT, SCHOOL, while_open=True, tell_officers=True),
    *_steps("withdraw", BEFORE_A_DECISION, WITHDRAWN, SCHOOL, tell_officers=True),
    # A school that withdrew may change its mind while the window is open: its answers come back as a draft.
    *_steps("restart", (WITHDRAWN,), DRAFT, SCHOOL, while_open=True, tell_officers=True),
    # Shortlisting may begin as soon as an EOI is submitted; schools are told so when they submit.
    *_steps("shortlist", (SUBMITTED,), SHORTLISTED, OFFICER, tell_school=True),
    *_steps("not-shortlist", (SUBMITTED,), NOT_SHORTLISTED, OFFICER, tell_school=True),
    *_steps("schedule", (SHORTLISTED, SCHEDULED), SCHEDULED, OFFICER, tell_school=True),
    # A discussion called off (`cancel discussion REF reason`): the EOI is shortlisted again, ready for a new one.
    *_steps("cancel-discussion", (SCHEDULED,), SHORTLISTED, OFFICER, tell_school=True),
    # A decision with stakeholders: an officer asks a panel; each member recommends; an officer decides.
    *_steps("consider", (SHORTLISTED, SCHEDULED), UNDER_CONSIDERATION, OFFICER, tell_school=True),
    *_steps("approve", DECIDABLE, APPROVED, OFFICER, tell_school=True),
    # A decline needs a reason the school is told, and calls off any discussion still pending.
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


def step(event: str, state: str) -> Step | None:
    """The step `event` takes from `state`, or None when the table has no such step."""
    return _BY_EVENT_AND_STATE.get((event, state))


def steps_from(state: str, by: str | None = None) -> list[Step]:
    """What can happen next to an EOI in `state` (by one kind of person, or anyone), in the table's order."""
    return [s for s in LIFE if s.source == state and (by is None or s.by in (by, EITHER))]


class Refused(Exception):
    """A request the rules refuse; subclasses carry the data the dialogs word."""


@dataclass
class NotAllowed(Refused):
    """An event the table doesn't allow now; the data says why (the dialogs word it)."""

    ref: str
    state: str
    event: str
    # "state": no such step from this state; "who": not this kind of person; "window": its window isn't open;
    # "too late": the step's time (within_days) has passed.
    reason: str

    def __str__(self) -> str:
        return f"{self.event} is not allowed for {self.ref or 'an EOI'} in state {self.state!r} ({self.reason})"
