"""eois: one EOI per school per provision type per window (an RP and a PP from one school are two EOIs)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 15:00:00

Each EOI gets `offer`, the provision it offers, copied from its answer to the first question
(`answers["provision_type"]`: "resourced" or "partnership"; "" while unanswered), and the rule "one EOI per
school per window" becomes "one per school, window and offer". Existing EOIs keep their meaning: each was the
school's only one in its window, so none can clash under the new rule.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OFFERS = ("resourced", "partnership")
ONE_PER_OFFER = ("school_urn", "window_id", "offer")
ONE_PER_WINDOW = ("school_urn", "window_id")
NEW = "uq_eois_one_per_offer"

# The columns the data step reads and writes, as they are at this revision.
EOIS = sa.table("eois", sa.column("id", sa.Integer()), sa.column("answers", sa.JSON()), sa.column("offer", sa.String()))


def upgrade() -> None:
    conn = op.get_bind()
    op.add_column("eois", sa.Column("offer", sa.String(length=20), server_default="", nullable=False))
    for eoi_id, answers in conn.execute(sa.select(EOIS.c.id, EOIS.c.answers)).all():
        offer = (answers or {}).get("provision_type")
        if offer in OFFERS:
            conn.execute(sa.update(EOIS).where(EOIS.c.id == eoi_id).values(offer=offer))
    if conn.dialect.name == "sqlite":
        _rebuild_sqlite(conn, unique_before=ONE_PER_WINDOW, unique_after=sa.UniqueConstraint(*ONE_PER_OFFER, name=NEW))
    else:
        op.drop_constraint(_unique_name(conn, ONE_PER_WINDOW), "eois", type_="unique")
        op.create_unique_constraint(NEW, "eois", list(ONE_PER_OFFER))


def downgrade() -> None:
    # Only possible while no school has two EOIs in one window (the old rule): the database refuses otherwise.
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        _rebuild_sqlite(
            conn, unique_before=ONE_PER_OFFER, unique_after=sa.UniqueConstraint(*ONE_PER_WINDOW), drop_column="offer"
        )
    else:
        op.drop_constraint(NEW, "eois", type_="unique")
        op.create_unique_constraint("eois_school_urn_window_id_key", "eois", list(ONE_PER_WINDOW))
        op.drop_column("eois", "offer")


def _unique_name(conn: sa.Connection, columns: Sequence[str]) -> str:
    for found in sa.inspect(conn).get_unique_constraints("eois"):
        if sorted(found["column_names"]) == sorted(columns) and found["name"]:
            return str(found["name"])
    raise RuntimeError(f"eois has no named unique constraint on {', '.join(columns)}")


def _rebuild_sqlite(
    conn: sa.Connection, *, unique_before: Sequence[str], unique_after: sa.UniqueConstraint, drop_column: str = ""
) -> None:
    """SQLite changes a constraint only by rebuilding the table. Audit, discussions, decisions and notices refer
    to its rows, so it is rebuilt under its own name (never renamed into place, which SQLite counts as breaking
    those references): the rows are kept aside, the table dropped and created anew, and the same rows, with the
    same ids, put back. The references are checked at commit (defer_foreign_keys), when every row is back."""
    conn.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
    before = sa.Table("eois", sa.MetaData(), autoload_with=conn)
    tables = sa.MetaData()
    for referred in {fk.referred_table.name for fk in before.foreign_key_constraints}:
        sa.Table(referred, tables, autoload_with=conn)  # for the references to resolve
    after = sa.Table("eois", tables)
    for column in before.columns:
        if column.name != drop_column:
            default = sa.DefaultClause(column.server_default.arg) if column.server_default is not None else None
            after.append_column(
                sa.Column(
                    column.name,
                    column.type,
                    primary_key=column.primary_key,
                    nullable=column.nullable,
                    server_default=default,
                )
            )
    for constraint in list(before.constraints):
        columns = [c.name for c in constraint.columns]
        if isinstance(constraint, sa.ForeignKeyConstraint):
            targets = [element.target_fullname for element in constraint.elements]
            after.append_constraint(sa.ForeignKeyConstraint(columns, targets, name=constraint.name))
        elif isinstance(constraint, sa.UniqueConstraint) and sorted(columns) != sorted(unique_before):
            after.append_constraint(sa.UniqueConstraint(*columns, name=constraint.name))
    after.append_constraint(unique_after)
    for index in before.indexes:
        sa.Index(index.name, *[after.c[c.name] for c in index.columns], unique=bool(index.unique))
    kept = [c.name for c in after.columns]
    conn.exec_driver_sql("CREATE TEMPORARY TABLE eois_kept AS SELECT * FROM eois")
    before.drop(conn)
    after.create(conn)
    names = ", ".join(f'"{name}"' for name in kept)
    conn.exec_driver_sql(f"INSERT INTO eois ({names}) SELECT {names} FROM eois_kept")
    conn.exec_driver_sql("DROP TABLE eois_kept")
