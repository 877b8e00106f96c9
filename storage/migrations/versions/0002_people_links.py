"""people: school links (several per person, and why each exists), recorded officer grants

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 14:30:00

Existing data is kept. Each person's `school_urn` becomes a school link (and stays their chosen school). The
link counts as made by an officer when the audit log shows an officer's `link` (or the console) made it, or
when the person's email isn't the school's headteacher email (the register can't have made it); otherwise it
is a register link, re-checked from now on. An officer role that the audit log shows was set by an officer
(`officer add`) or the console becomes a recorded grant; any other officer is one from EOI_OFFICERS, and the
start-up check keeps them only while the variable names them.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Lightweight tables for the data step: the columns it reads and writes, as they are at this revision.
PEOPLE = sa.table(
    "people",
    sa.column("id", sa.Integer()),
    sa.column("platform", sa.String()),
    sa.column("user_id", sa.String()),
    sa.column("email", sa.String()),
    sa.column("role", sa.String()),
    sa.column("school_urn", sa.String()),
    sa.column("officer_granted_by", sa.String()),
    sa.column("officer_granted_at", storage.models.UTCDateTime()),
)
SCHOOLS = sa.table("schools", sa.column("urn", sa.String()), sa.column("headteacher_email", sa.String()))
AUDIT = sa.table(
    "audit",
    sa.column("id", sa.Integer()),
    sa.column("at", storage.models.UTCDateTime()),
    sa.column("actor", sa.String()),
    sa.column("action", sa.String()),
    sa.column("to_status", sa.String()),
    sa.column("note", sa.Text()),
)
LINKS = sa.table(
    "school_links",
    sa.column("person_id", sa.Integer()),
    sa.column("school_urn", sa.String()),
    sa.column("source", sa.String()),
    sa.column("linked_by", sa.String()),
    sa.column("linked_at", storage.models.UTCDateTime()),
)


def upgrade() -> None:
    op.create_table(
        "school_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("school_urn", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("linked_by", sa.String(length=230), nullable=False),
        sa.Column("linked_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["school_urn"], ["schools.urn"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("person_id", "school_urn"),
    )
    with op.batch_alter_table("school_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_school_links_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_school_links_school_urn"), ["school_urn"], unique=False)
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.add_column(sa.Column("officer_granted_by", sa.String(length=230), server_default="", nullable=False))
        batch_op.add_column(sa.Column("officer_granted_at", storage.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("lost_schools", sa.JSON(), server_default="[]", nullable=False))
    _keep_links_and_grants(op.get_bind())


def _keep_links_and_grants(conn: sa.Connection) -> None:
    now = datetime.now(UTC)
    # Who set each role and link, newest last: the old `set role` audit notes read "platform:user[ school URN]".
    set_by: dict[str, tuple[str, datetime]] = {}
    for actor, at, to_status, note in conn.execute(
        sa.select(AUDIT.c.actor, AUDIT.c.at, AUDIT.c.to_status, AUDIT.c.note)
        .where(AUDIT.c.action == "set role")
        .order_by(AUDIT.c.id)
    ):
        set_by[f"{to_status}|{note}"] = (actor, at)
    emails = dict(conn.execute(sa.select(SCHOOLS.c.urn, SCHOOLS.c.headteacher_email)).all())
    links = []
    for person_id, platform, user_id, email, role, urn in conn.execute(
        sa.select(PEOPLE.c.id, PEOPLE.c.platform, PEOPLE.c.user_id, PEOPLE.c.email, PEOPLE.c.role, PEOPLE.c.school_urn)
    ):
        key = f"{platform}:{user_id}"
        if role == "officer" and f"officer|{key}" in set_by:
            actor, at = set_by[f"officer|{key}"]
            conn.execute(
                sa.update(PEOPLE)
                .where(PEOPLE.c.id == person_id)
                .values(officer_granted_by=actor, officer_granted_at=at)
            )
        if urn:
            made = set_by.get(f"headteacher|{key} school {urn}")
            by_register = made is None and bool(email) and emails.get(urn) == email
            links.append(
                {
                    "person_id": person_id,
                    "school_urn": urn,
                    "source": "register" if by_register else "officer",
                    "linked_by": made[0] if made else "register" if by_register else "before links were recorded",
                    "linked_at": made[1] if made else now,
                }
            )
    if links:
        op.bulk_insert(LINKS, links)


def downgrade() -> None:
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_column("lost_schools")
        batch_op.drop_column("officer_granted_at")
        batch_op.drop_column("officer_granted_by")
    with op.batch_alter_table("school_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_school_links_school_urn"))
        batch_op.drop_index(batch_op.f("ix_school_links_person_id"))
    op.drop_table("school_links")
