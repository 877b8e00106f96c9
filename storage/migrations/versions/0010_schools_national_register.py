"""schools: the national register's facts (Get Information About Schools)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 19:00:00

`eoi-bot import schools` also reads the Department for Education's establishment file, and keeps what it says of
each school beside the council's own columns: the type of establishment and its group (an academy's trust signs
off, not only its governors), the statutory age range, pupils on roll against capacity, the trust, the local
authority, the postcode and the latest Ofsted judgement. Schools imported before have none of these until the
national register is imported: empty text, or NULL for a number or date it doesn't say.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TEXT = {
    "establishment_type": 100,
    "establishment_group": 60,
    "trust": 200,
    "la_code": 10,
    "postcode": 10,
    "ofsted_rating": 60,
}
NUMBERS = ("statutory_low_age", "statutory_high_age", "pupils", "capacity")


def upgrade() -> None:
    with op.batch_alter_table("schools") as batch:
        for name, length in TEXT.items():
            batch.add_column(sa.Column(name, sa.String(length), nullable=False, server_default=""))
        for name in NUMBERS:
            batch.add_column(sa.Column(name, sa.Integer(), nullable=True))
        batch.add_column(sa.Column("ofsted_inspected", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("schools") as batch:
        for name in (*TEXT, *NUMBERS, "ofsted_inspected"):
            batch.drop_column(name)
