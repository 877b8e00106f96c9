"""people.notify (each message, or a daily digest for officers) and people.seen_at (for retention)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 03:00:00

`notify`: an officer who types `notify me daily` gets one digest a day of the officers' notices instead of each
message as it happens (bot.delivery). `seen_at`: when the person last used the bot (set at most once a day), from
which the retention rule for people with no role, no link and no record counts (storage.retention). Existing
people count from the upgrade.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("people") as batch:
        batch.add_column(sa.Column("notify", sa.String(length=10), server_default="each", nullable=False))
        batch.add_column(sa.Column("seen_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(sa.text("UPDATE people SET seen_at = CURRENT_TIMESTAMP"))


def downgrade() -> None:
    with op.batch_alter_table("people") as batch:
        batch.drop_column("seen_at")
        batch.drop_column("notify")
