"""Alembic environment: always run programmatically by `tagent.store.migrate` on a connection it passes in."""

from __future__ import annotations

from alembic import context

from tagent.store.orm import Base

VERSION_TABLE = "tagent_alembic_version"

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("tagent migrations run through tagent.store.migrate.upgrade(), not the alembic CLI")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER most things in place
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
