"""Alembic environment: migrations run on a connection handed in by storage.db."""

from alembic import context

from storage.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise SystemExit("Run migrations through storage.db.Database.upgrade() (eoi-bot upgrades on start).")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
