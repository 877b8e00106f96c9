"""windows.need_version: a number the need import raises, so a process can keep the window's need in memory

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 19:50:00

Nearly every dialog turn works out which of the window's need rows put the school in scope. Each process keeps
those rows in memory under (window id, need_version) and reads them again only when the number it reads with the
window has moved, which `storage.register.import_need` does in the same transaction as it replaces the rows:
right with any number of processes, and one statement (and its rows) fewer a turn. Existing windows start at 0.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("windows") as batch:
        batch.add_column(sa.Column("need_version", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("windows") as batch:
        batch.drop_column("need_version")
