"""evidence_files: the files a school sends with its EOI, kept in the database

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-08 10:00:00

A school may attach up to five files to an EOI (a site plan, photos of the space, minutes, a letter of support).
Each is kept privately in the database, beside the EOI it belongs to and going with it (ON DELETE CASCADE, as
well as retention and erasure removing them first), with its SHA-256 in hex; the same bytes once per EOI. No
existing data changes: EOIs made before have no files.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "evidence_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("eoi_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_by", sa.String(length=230), nullable=False),
        sa.ForeignKeyConstraint(["eoi_id"], ["eois.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("eoi_id", "sha256"),
    )
    op.create_index("ix_evidence_files_eoi_id", "evidence_files", ["eoi_id"])


def downgrade() -> None:
    op.drop_index("ix_evidence_files_eoi_id", table_name="evidence_files")
    op.drop_table("evidence_files")
