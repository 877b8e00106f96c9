"""The tables. Times are stored as UTC; people see them in Europe/London."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (naive storage) and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use aware UTC times")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime, dict[str, Any]: JSON}


class School(Base):
    __tablename__ = "schools"
    urn: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    phase: Mapped[str] = mapped_column(String(20))
    quadrant: Mapped[str] = mapped_column(String(40), index=True)
    district: Mapped[str] = mapped_column(String(60), index=True)
    headteacher_name: Mapped[str] = mapped_column(String(200), default="")
    headteacher_email: Mapped[str] = mapped_column(String(320), default="", index=True)
    slack_channel_id: Mapped[str] = mapped_column(String(40), default="")
    teams_channel_id: Mapped[str] = mapped_column(String(200), default="")
    # What the national register (Get Information About Schools) says of the school: storage.national_register.
    establishment_type: Mapped[str] = mapped_column(String(100), default="", server_default="")
    establishment_group: Mapped[str] = mapped_column(String(60), default="", server_default="")
    statutory_low_age: Mapped[int | None] = mapped_column(Integer, default=None)
    statutory_high_age: Mapped[int | None] = mapped_column(Integer, default=None)
    pupils: Mapped[int | None] = mapped_column(Integer, default=None)
    capacity: Mapped[int | None] = mapped_column(Integer, default=None)
    trust: Mapped[str] = mapped_column(String(200), default="", server_default="")
    la_code: Mapped[str] = mapped_column(String(10), default="", server_default="")
    postcode: Mapped[str] = mapped_column(String(10), default="", server_default="")
    ofsted_rating: Mapped[str] = mapped_column(String(60), default="", server_default="")
    ofsted_inspected: Mapped[date | None] = mapped_column(Date, default=None)


class Window(Base):
    __tablename__ = "windows"
    __table_args__ = (UniqueConstraint("academic_year", "term"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    academic_year: Mapped[str] = mapped_column(String(7))  # "2026/27"
    term: Mapped[str] = mapped_column(String(20))  # "autumn1" | "spring2"
    opens_at: Mapped[datetime]
    closes_at: Mapped[datetime]
    cancelled_at: Mapped[datetime | None] = mapped_column(default=None)
    eoi_counter: Mapped[int] = mapped_column(Integer, default=0)
    # When each automatic step was planned (dialogs.schedule); set once, so restarts and replicas don't repeat it.
    announced_at: Mapped[datetime | None] = mapped_column(default=None)
    reminded_7_at: Mapped[datetime | None] = mapped_column(default=None)
    reminded_1_at: Mapped[datetime | None] = mapped_column(default=None)
    summarised_at: Mapped[datetime | None] = mapped_column(default=None)
    created_by: Mapped[str] = mapped_column(String(230), default="")
    # Raised by every need import: processes keep the window's need in memory under it (storage.windows).
    need_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # An information session for schools before or during the window (`window session CODE WHEN at WHERE`): in
    # the announcement, and a reminder two days before (planned once: session_reminded_at).
    session_at: Mapped[datetime | None] = mapped_column(default=None)
    session_where: Mapped[str] = mapped_column(String(300), default="", server_default="")
    session_reminded_at: Mapped[datetime | None] = mapped_column(default=None)


class NeedRow(Base):
    __tablename__ = "need"
    id: Mapped[int] = mapped_column(primary_key=True)
    window_id: Mapped[int] = mapped_column(ForeignKey("windows.id"), index=True)
    quadrant: Mapped[str] = mapped_column(String(40))
    district: Mapped[str] = mapped_column(String(60), default="")
    phase: Mapped[str] = mapped_column(String(20))
    need_type: Mapped[str] = mapped_column(String(10))
    provision_type: Mapped[str] = mapped_column(String(20))
    places: Mapped[int] = mapped_column(Integer)
    priority: Mapped[str] = mapped_column(String(10))
    notes: Mapped[str] = mapped_column(Text, default="")
    imported_at: Mapped[datetime]
    imported_by: Mapped[str] = mapped_column(String(200))


class Person(Base):
    __tablename__ = "people"
    __table_args__ = (UniqueConstraint("platform", "user_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[str] = mapped_column(String(200))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(320), default="")
    role: Mapped[str] = mapped_column(String(20), default="")  # "officer" | "headteacher" | ""
    # The school this person's turns are about: their only linked school, or the one they chose among several
    # (an executive head). Always one of their school links (SchoolLink), or None.
    school_urn: Mapped[str | None] = mapped_column(ForeignKey("schools.urn"), default=None)
    # Where this person's conversation is waiting (which EOI they work on, their place in its questions, what they
    # were asked), as versioned JSON that dialogs.conversation_state reads and writes; {} is idle. Kept here so it
    # survives restarts.
    conversation: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default="{}")
    # Who gave this person the officer role with `officer add` (or "console"), and when. Officers are those
    # named in EOI_OFFICERS plus those granted here: anyone else loses the role when the service starts.
    officer_granted_by: Mapped[str] = mapped_column(String(230), default="", server_default="")
    officer_granted_at: Mapped[datetime | None] = mapped_column(default=None)
    # Schools this person was unlinked from since their last turn ({"urn", "name"}): they are told then.
    lost_schools: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list, server_default="[]")
    # "each": every officers' notice as it happens; "daily": one digest a day (`notify me daily`, bot.delivery).
    notify: Mapped[str] = mapped_column(String(10), default="each", server_default="each")
    # When they last used the bot (set at most daily): people with no role, link or record are kept from it
    # for EOI_RETAIN_PEOPLE_DAYS (storage.retention).
    seen_at: Mapped[datetime | None] = mapped_column(default=None)


class SchoolLink(Base):
    """A person acting for a school; one person may act for several (executive heads). `source` says why:
    "register" (their email is the school's headteacher_email: re-checked whenever the register is imported and
    daily, and removed when it no longer matches) or "officer" (an officer's `link`, or the console: explicit,
    so the email re-check leaves it alone)."""

    __tablename__ = "school_links"
    __table_args__ = (UniqueConstraint("person_id", "school_urn"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    school_urn: Mapped[str] = mapped_column(ForeignKey("schools.urn"), index=True)
    source: Mapped[str] = mapped_column(String(20))
    linked_by: Mapped[str] = mapped_column(String(230))
    linked_at: Mapped[datetime]


class EOI(Base):
    __tablename__ = "eois"
    # A school may offer both kinds of provision in one window: one EOI per kind (an RP and a PP are two EOIs).
    __table_args__ = (UniqueConstraint("school_urn", "window_id", "offer", name="uq_eois_one_per_offer"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str | None] = mapped_column(String(30), unique=True, default=None)
    school_urn: Mapped[str] = mapped_column(ForeignKey("schools.urn"), index=True)
    window_id: Mapped[int | None] = mapped_column(ForeignKey("windows.id"), index=True, default=None)
    status: Mapped[str] = mapped_column(String(30), default="draft", index=True)
    # Copied from the answers (SEMH when the offer is a Partnership Provision) so `list need=ASD` is a query.
    primary_need: Mapped[str] = mapped_column(String(10), default="", index=True)
    # The provision offered, copied from the first answer: "resourced" | "partnership" | "" until it is answered.
    offer: Mapped[str] = mapped_column(String(20), default="", server_default="")
    answers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    started_by: Mapped[str] = mapped_column(String(230), default="")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    submitted_at: Mapped[datetime | None] = mapped_column(default=None)
    # Which implementation plan it follows once approved: "" for the one its school's type calls for (the
    # register), or an officer's choice (`plan REF maintained|academy`).
    plan_type: Mapped[str] = mapped_column(String(20), default="", server_default="")


class Score(Base):
    """One officer's score of one EOI against one shortlisting criterion (dialogs/shortlisting_criteria.yaml): 0-3
    with the reason, which a school not shortlisted may be given as feedback. Scoring again replaces it."""

    __tablename__ = "scores"
    __table_args__ = (UniqueConstraint("eoi_id", "officer", "criterion"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    eoi_id: Mapped[int] = mapped_column(ForeignKey("eois.id", ondelete="CASCADE"), index=True)
    officer: Mapped[str] = mapped_column(String(230))  # "platform:user_id"
    criterion: Mapped[str] = mapped_column(String(40))
    score: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    scored_at: Mapped[datetime]


class EvidenceFile(Base):
    """A file a school sent with its EOI (a site plan, photos, minutes, a letter of support), kept privately in the
    database (storage.evidence decides what is accepted). Its bytes load only when asked for: a list of an EOI's
    files reads names and sizes, not megabytes. It goes with its EOI (retention, erasure)."""

    __tablename__ = "evidence_files"
    # The same bytes once per EOI: a file sent twice is refused, whatever it is called.
    __table_args__ = (UniqueConstraint("eoi_id", "sha256"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    eoi_id: Mapped[int] = mapped_column(ForeignKey("eois.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))  # as it was sent, only ever shown: what it is is `kind`
    kind: Mapped[str] = mapped_column(String(10))  # storage.evidence.ACCEPTED's code, read from the content
    size: Mapped[int] = mapped_column(Integer)  # bytes
    sha256: Mapped[str] = mapped_column(String(64))  # hex
    # deferred_raiseload: reading the bytes by accident (a lazy load cannot happen in an async session) raises.
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True, deferred_raiseload=True)
    sent_at: Mapped[datetime]
    sent_by: Mapped[str] = mapped_column(String(230))  # "platform:user_id", as the audit log names people


class Discussion(Base):
    __tablename__ = "discussions"
    id: Mapped[int] = mapped_column(primary_key=True)
    eoi_id: Mapped[int] = mapped_column(ForeignKey("eois.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(index=True)
    duration_minutes: Mapped[int] = mapped_column(Integer, default=60)
    place: Mapped[str] = mapped_column(String(300), default="")
    scheduled_by: Mapped[str] = mapped_column(String(230))
    scheduled_at: Mapped[datetime]
    # "invited" | "accepted" | "another time requested" | "replaced" | "cancelled"
    response: Mapped[str] = mapped_column(String(40), default="invited")
    # The calendar event (.ics) this discussion is: one UID for as long as it is moved rather than called off,
    # and a SEQUENCE that grows with each change, so calendars update the event instead of adding another.
    calendar_uid: Mapped[str] = mapped_column(String(200), default="", server_default="")
    sequence: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # People the officer named (`schedule ... with NAMES`), as typed.
    attendees: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    # Times the school proposed when it asked for another time: [{"at": ISO UTC, "words": as typed}].
    proposals: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list, server_default="[]")


class DiscussionOutcome(Base):
    """What was concluded on one agenda topic (dialogs/discussion_agenda.yaml) at a discussion: agreed, or to
    follow up (then a FollowUp tracks it). Recording a topic again replaces its outcome (audited)."""

    __tablename__ = "discussion_outcomes"
    __table_args__ = (UniqueConstraint("discussion_id", "topic"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    eoi_id: Mapped[int] = mapped_column(ForeignKey("eois.id"), index=True)
    discussion_id: Mapped[int] = mapped_column(ForeignKey("discussions.id"), index=True)
    topic: Mapped[str] = mapped_column(String(40))  # the agenda topic's id
    result: Mapped[str] = mapped_column(String(20))  # "agreed" | "follow up"
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(String(230))
    recorded_at: Mapped[datetime]


class FollowUp(Base):
    """An action agreed at a discussion: what, who owns it (the school, or an ECC officer), and by when. The
    school sees its own in `status`, officers see all in `show`, and the scheduler reminds the owner before the
    due date (once, through a keyed notice)."""

    __tablename__ = "follow_ups"
    id: Mapped[int] = mapped_column(primary_key=True)
    eoi_id: Mapped[int] = mapped_column(ForeignKey("eois.id"), index=True)
    discussion_id: Mapped[int] = mapped_column(ForeignKey("discussions.id"), index=True)
    topic: Mapped[str] = mapped_column(String(40))
    what: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(20))  # "school" | "ecc"
    # The officer who owns an ECC action ("slack:U0123"); "" for the school's.
    owner_officer: Mapped[str] = mapped_column(String(230), default="", server_default="")
    due_on: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(20), default="open", server_default="open", index=True)  # open|done
    created_by: Mapped[str] = mapped_column(String(230))
    created_at: Mapped[datetime]
    done_by: Mapped[str] = mapped_column(String(230), default="", server_default="")
    done_at: Mapped[datetime | None] = mapped_column(default=None)


class Decision(Base):
    __tablename__ = "decisions"
    id: Mapped[int] = mapped_column(primary_key=True)
    eoi_id: Mapped[int] = mapped_column(ForeignKey("eois.id"), index=True)
    outcome: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    decided_by: Mapped[str] = mapped_column(String(230))
    decided_at: Mapped[datetime]


class Recommendation(Base):
    """A member of an EOI's decision panel (an officer or a stakeholder: the SEND quadrant lead, finance, the
    school's trust) and what they recommend: "approve" | "decline" | "abstain", or "" until they say, with
    their reason. Rows without a decision are the panel now; the decision takes them as its record."""

    __tablename__ = "recommendations"
    id: Mapped[int] = mapped_column(primary_key=True)
    eoi_id: Mapped[int] = mapped_column(ForeignKey("eois.id"), index=True)
    member: Mapped[str] = mapped_column(String(230))  # "platform:user_id", as the audit log names people
    role: Mapped[str] = mapped_column(String(100), default="")  # what they bring: "SEND quadrant lead"
    recommendation: Mapped[str] = mapped_column(String(20), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    asked_by: Mapped[str] = mapped_column(String(230))
    asked_at: Mapped[datetime]
    answered_at: Mapped[datetime | None] = mapped_column(default=None)
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id"), index=True, default=None)


class Milestone(Base):
    """One step of an approved EOI's implementation plan (storage/implementation_plan.yaml), owned by the
    school or ECC, due on a date; done when its owner (or an officer) says so."""

    __tablename__ = "milestones"
    __table_args__ = (UniqueConstraint("eoi_id", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    eoi_id: Mapped[int] = mapped_column(ForeignKey("eois.id"), index=True)
    key: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    owner: Mapped[str] = mapped_column(String(20))  # "school" | "ecc"
    position: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime] = mapped_column(index=True)
    done_at: Mapped[datetime | None] = mapped_column(default=None)
    done_by: Mapped[str] = mapped_column(String(230), default="")


class AuditEntry(Base):
    __tablename__ = "audit"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(230))
    action: Mapped[str] = mapped_column(String(60))
    eoi_id: Mapped[int | None] = mapped_column(ForeignKey("eois.id"), index=True, default=None)
    from_status: Mapped[str] = mapped_column(String(30), default="")
    to_status: Mapped[str] = mapped_column(String(30), default="")
    note: Mapped[str] = mapped_column(Text, default="")


class Notice(Base):
    """A message for a school (shortlisting, invitation, decision...) or for the officers (a school's reply,
    a failed delivery), delivered by the channel adapters."""

    __tablename__ = "notices"
    id: Mapped[int] = mapped_column(primary_key=True)
    # Set for automatic notices ("announce:3:114000") so planning them twice records them once.
    key: Mapped[str | None] = mapped_column(String(300), unique=True, default=None)
    window_id: Mapped[int | None] = mapped_column(ForeignKey("windows.id"), index=True, default=None)
    audience: Mapped[str] = mapped_column(String(20), index=True)  # "school" | "officers" | "person" | "address"
    # For audience "person": who ("platform:user_id"), e.g. a decision panel's stakeholder; for "address", where
    # ("email:office@school.org"): a school's copy of its EOI.
    recipient: Mapped[str] = mapped_column(String(230), default="", server_default="")
    school_urn: Mapped[str | None] = mapped_column(ForeignKey("schools.urn"), index=True, default=None)
    eoi_id: Mapped[int | None] = mapped_column(ForeignKey("eois.id"), default=None)
    kind: Mapped[str] = mapped_column(String(40))
    body: Mapped[dict[str, Any]] = mapped_column()  # a neutral reply, see dialogs.replies
    created_at: Mapped[datetime]
    # Set once deliveries to every destination have been recorded for it (bot.delivery).
    planned_at: Mapped[datetime | None] = mapped_column(default=None, index=True)


class Delivery(Base):
    """One message to one destination, recorded before it is sent so that it goes exactly once, survives a
    crash mid fan-out, and failures stay visible to officers."""

    __tablename__ = "deliveries"
    id: Mapped[int] = mapped_column(primary_key=True)
    # Unique per (what, where): "notice:17:slack:C123", "announce:3:114000:msteams:19:abc@thread.tacv2".
    key: Mapped[str] = mapped_column(String(400), unique=True)
    kind: Mapped[str] = mapped_column(String(30), default="notice")  # notice | announcement | reminder | summary
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id"), default=None)
    window_id: Mapped[int | None] = mapped_column(ForeignKey("windows.id"), index=True, default=None)
    school_urn: Mapped[str | None] = mapped_column(String(20), index=True, default=None)
    destination: Mapped[str] = mapped_column(String(300))  # "slack:C123", "msteams:<conversation id>", "console:x"
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)  # the neutral Reply to send
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)  # pending|sending|sent|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    next_attempt_at: Mapped[datetime | None] = mapped_column(default=None)
    claimed_at: Mapped[datetime | None] = mapped_column(default=None)
    # When the first try at sending it began (real time, kept through retries and take-overs): after a crash the
    # platform is asked only about messages since then (bot.delivery, Sender.already_sent).
    sending_since: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None] = mapped_column(default=None)


class ConversationRef(Base):
    """Where the bot can reach someone later (Teams needs a stored conversation reference to message
    proactively). Captured on install and whenever a user talks to the bot."""

    __tablename__ = "conversation_refs"
    __table_args__ = (UniqueConstraint("platform", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    platform: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(300))  # a user id (personal chat) or a channel/team conversation id
    scope: Mapped[str] = mapped_column(String(20))  # "personal" | "channel" | "groupChat"
    user_id: Mapped[str] = mapped_column(String(200), default="")
    reference: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime]


class ProcessedEvent(Base):
    """Platform event ids already handled: Slack and Teams redeliver, we act once."""

    __tablename__ = "processed_events"
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    at: Mapped[datetime]


class WebSession(Base):
    """A school signed in to the web form (bot/web_channel.py) with its emailed link: the cookie's hash (never the
    cookie), the school and the register email the link named, when it began and was last used (8 hours idle ends
    it), the token every POST must carry (CSRF), and the page the school is on (the last turn's replies), so a
    reload, the back button or a second tab shows where the EOI is rather than doing anything again."""

    __tablename__ = "web_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex of the cookie's value
    school_urn: Mapped[str] = mapped_column(String(20), index=True)
    email: Mapped[str] = mapped_column(String(320), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime]
    seen_at: Mapped[datetime]
    page: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {"key": …, "replies": [Reply.to_dict()], …}


class WebRevocation(Base):
    """How many times a school's sign-in links have been revoked (`eoi-bot web revoke`, an erasure): a link carries
    the count it was made under and stands only while that is still the count (a counter, not a time, so a link
    made the moment after a revocation works whatever the clock says). Its sessions are deleted at the same moment."""

    __tablename__ = "web_revocations"
    school_urn: Mapped[str] = mapped_column(String(20), primary_key=True)
    generation: Mapped[int] = mapped_column(Integer)
    revoked_at: Mapped[datetime]


class WebLinkRequest(Base):
    """A "send me a new link" request, by the address's hash (the page answers the same whether or not the address
    is on the register, so the table must not become a list of addresses tried): at most 3 an hour per address."""

    __tablename__ = "web_link_requests"
    id: Mapped[int] = mapped_column(primary_key=True)
    address_hash: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime]
