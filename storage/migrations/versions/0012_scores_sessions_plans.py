"""scores, information sessions and plans by school type

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 22:10:00

Officers score each EOI against the council's published criteria (`scores`: one row per officer, EOI and
criterion, 0-3 with a reason; scoring again replaces that officer's). A window may carry an information session
for schools (`windows.session_at`, `session_where`, and when its reminder was planned). An approved EOI's
implementation plan follows its school's type (`eois.plan_type`: "" for the register's, or an officer's choice,
maintained | academy). No existing data changes: EOIs have no scores, windows no session, plans as before.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "scores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("eoi_id", sa.Integer(), nullable=False),
        sa.Column("officer", sa.String(length=230), nullable=False),
        sa.Column("criterion", sa.String(length=40), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["eoi_id"], ["eois.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("eoi_id", "officer", "criterion"),
    )
    op.create_index("ix_scores_eoi_id", "scores", ["eoi_id"])
    with op.batch_alter_table("windows") as batch:
        batch.add_column(sa.Column("session_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("session_where", sa.String(length=300), nullable=False, server_default=""))
        batch.add_column(sa.Column("session_reminded_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("eois") as batch:
        batch.add_column(sa.Column("plan_type", sa.String(length=20), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("eois") as batch:
        batch.drop_column("plan_type")
    with op.batch_alter_table("windows") as batch:
        batch.drop_column("session_reminded_at")
        batch.drop_column("session_where")
        batch.drop_column("session_at")
    op.drop_index("ix_scores_eoi_id", table_name="scores")
    op.drop_table("scores")
