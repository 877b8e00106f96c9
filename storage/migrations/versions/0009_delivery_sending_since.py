"""deliveries.sending_since: when the first try at sending a delivery began, in real time

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 15:00:00

After a crash mid-send, the process that takes a delivery over asks the platform whether it went (Slack: the
conversation's history, for the delivery key carried as metadata). It needs only the messages since the delivery
was first tried: Slack now limits `conversations.history` hard for apps outside its Marketplace, so the check asks
for that span (`oldest`) rather than the latest 200 messages. `claimed_at` cannot say it: every retry and every
take-over moves it on. Rows already being sent at the upgrade have none, and are checked as before.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("deliveries", sa.Column("sending_since", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("sending_since")
