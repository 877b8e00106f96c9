"""decisions with stakeholders and implementation plans: recommendations, milestones, notices to one person

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 16:45:00

`recommendations`: each member of an EOI's decision panel (an officer or a named stakeholder) and what they
recommend, with a reason; the decision, once recorded, takes the panel's rows as its record. `milestones`: an
approved EOI's implementation plan, one row per step (owner, due date, done). `notices.recipient`: a notice
for one person (audience "person"), such as a stakeholder asked for a recommendation. Nothing existing changes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.models

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    when = storage.models.UTCDateTime()
    op.create_table(
        "recommendations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("eoi_id", sa.Integer(), sa.ForeignKey("eois.id"), nullable=False),
        sa.Column("member", sa.String(length=230), nullable=False),
        sa.Column("role", sa.String(length=100), nullable=False),
        sa.Column("recommendation", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("asked_by", sa.String(length=230), nullable=False),
        sa.Column("asked_at", when, nullable=False),
        sa.Column("answered_at", when, nullable=True),
        sa.Column("decision_id", sa.Integer(), sa.ForeignKey("decisions.id"), nullable=True),
    )
    op.create_index("ix_recommendations_eoi_id", "recommendations", ["eoi_id"])
    op.create_index("ix_recommendations_decision_id", "recommendations", ["decision_id"])
    op.create_table(
        "milestones",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("eoi_id", sa.Integer(), sa.ForeignKey("eois.id"), nullable=False),
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("owner", sa.String(length=20), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("due_at", when, nullable=False),
        sa.Column("done_at", when, nullable=True),
        sa.Column("done_by", sa.String(length=230), nullable=False),
        sa.UniqueConstraint("eoi_id", "key"),
    )
    op.create_index("ix_milestones_eoi_id", "milestones", ["eoi_id"])
    op.create_index("ix_milestones_due_at", "milestones", ["due_at"])
    with op.batch_alter_table("notices") as batch:
        batch.add_column(sa.Column("recipient", sa.String(length=230), server_default="", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("notices") as batch:
        batch.drop_column("recipient")
    op.drop_index("ix_milestones_due_at", "milestones")
    op.drop_index("ix_milestones_eoi_id", "milestones")
    op.drop_table("milestones")
    op.drop_index("ix_recommendations_decision_id", "recommendations")
    op.drop_index("ix_recommendations_eoi_id", "recommendations")
    op.drop_table("recommendations")
