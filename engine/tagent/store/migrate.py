"""Schema migrations (Alembic, shipped in the package) run programmatically: `upgrade` brings a database to head.

Runs in one transaction under a cross-process lock (PostgreSQL advisory lock; SQLite's write lock), so replicas
starting together migrate once.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from tagent.store.db import Database

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "tagent_alembic_version"


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head() -> str:
    """The newest revision this version of Tagent ships."""
    rev = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert rev is not None
    return rev


def current(db: Database) -> str | None:
    """The revision a database is at (None: never migrated)."""
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_revision()


def upgrade(db: Database, revision: str = "head") -> None:
    cfg = alembic_config()
    with db.migration_connection() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def downgrade(db: Database, revision: str) -> None:
    cfg = alembic_config()
    with db.migration_connection() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)
