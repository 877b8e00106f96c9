"""the web form's sessions, revoked links and link requests

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-08 00:20:00

Schools no chat reaches sign in to the web form with an emailed link (bot/web_channel.py). `web_sessions`
holds a signed-in school's session (the cookie's hash, never the cookie); `web_revocations` how many times a
school's links have been revoked (a link stands only under the count it was made with); `web_link_requests` the
"send me a new link" requests by the address's hash (rate limited). All three start empty.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("school_urn", sa.String(length=20), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("csrf", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("page", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_web_sessions_school_urn", "web_sessions", ["school_urn"])
    op.create_index("ix_web_sessions_email", "web_sessions", ["email"])
    op.create_table(
        "web_revocations",
        sa.Column("school_urn", sa.String(length=20), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("school_urn"),
    )
    op.create_table(
        "web_link_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("address_hash", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_web_link_requests_address_hash", "web_link_requests", ["address_hash"])


def downgrade() -> None:
    op.drop_index("ix_web_link_requests_address_hash", table_name="web_link_requests")
    op.drop_table("web_link_requests")
    op.drop_table("web_revocations")
    op.drop_index("ix_web_sessions_email", table_name="web_sessions")
    op.drop_index("ix_web_sessions_school_urn", table_name="web_sessions")
    op.drop_table("web_sessions")
