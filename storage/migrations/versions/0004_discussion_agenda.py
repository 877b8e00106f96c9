"""discussions: calendar identity, attendees and proposed times; outcomes per agenda topic; follow-up actions

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 16:45:00

Each discussion gets `calendar_uid` and `sequence` (its .ics event: one UID while it is moved, a SEQUENCE that
grows with each change), `attendees` (named by the officer) and `proposals` (times the school suggested when it
asked for another time). Existing discussions get a UID of their own now, so their next change updates one event.
Two new tables: `discussion_outcomes` (one per discussion and agenda topic: agreed or to follow up, with a note)
and `follow_ups` (an action from a discussion, its owner, the school or an ECC officer, and its due date).
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DISCUSSIONS = sa.table("discussions", sa.column("id", sa.Integer()), sa.column("calendar_uid", sa.String()))


def upgrade() -> None:
    with op.batch_alter_table("discussions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("calendar_uid", sa.String(length=200), server_default="", nullable=False))
        batch_op.add_column(sa.Column("sequence", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("attendees", sa.JSON(), server_default="[]", nullable=False))
        batch_op.add_column(sa.Column("proposals", sa.JSON(), server_default="[]", nullable=False))
    conn = op.get_bind()
    for (discussion_id,) in conn.execute(sa.select(DISCUSSIONS.c.id)).all():
        uid = f"eoi-discussion-{uuid.uuid4()}@eoi-bot"
        conn.execute(sa.update(DISCUSSIONS).where(DISCUSSIONS.c.id == discussion_id).values(calendar_uid=uid))
    op.create_table(
        "discussion_outcomes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("eoi_id", sa.Integer(), nullable=False),
        sa.Column("discussion_id", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(length=40), nullable=False),
        sa.Column("result", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(length=230), nullable=False),
        sa.Column("recorded_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["discussion_id"], ["discussions.id"]),
        sa.ForeignKeyConstraint(["eoi_id"], ["eois.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("discussion_id", "topic"),
    )
    with op.batch_alter_table("discussion_outcomes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_discussion_outcomes_discussion_id"), ["discussion_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_discussion_outcomes_eoi_id"), ["eoi_id"], unique=False)
    op.create_table(
        "follow_ups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("eoi_id", sa.Integer(), nullable=False),
        sa.Column("discussion_id", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(length=40), nullable=False),
        sa.Column("what", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(length=20), nullable=False),
        sa.Column("owner_officer", sa.String(length=230), server_default="", nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), server_default="open", nullable=False),
        sa.Column("created_by", sa.String(length=230), nullable=False),
        sa.Column("created_at", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("done_by", sa.String(length=230), server_default="", nullable=False),
        sa.Column("done_at", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["discussion_id"], ["discussions.id"]),
        sa.ForeignKeyConstraint(["eoi_id"], ["eois.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("follow_ups", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_follow_ups_discussion_id"), ["discussion_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_follow_ups_due_on"), ["due_on"], unique=False)
        batch_op.create_index(batch_op.f("ix_follow_ups_eoi_id"), ["eoi_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_follow_ups_status"), ["status"], unique=False)


def downgrade() -> None:
    op.drop_table("follow_ups")
    op.drop_table("discussion_outcomes")
    with op.batch_alter_table("discussions", schema=None) as batch_op:
        batch_op.drop_column("proposals")
        batch_op.drop_column("attendees")
        batch_op.drop_column("sequence")
        batch_op.drop_column("calendar_uid")
