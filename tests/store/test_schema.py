"""Schema and connection: migrations reach head, match the ORM, survive reopen and concurrent starts; bad URLs
and unreachable servers give one clear line."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

from tagent.errors import ConfigError, TransientError
from tagent.settings import Settings
from tagent.store import Store, migrate
from tagent.store.orm import Base
from tests.fixtures.services import PostgresServer, free_port
from tests.store.conftest import T0


def test_open_migrates_to_head_and_orm_matches_migrations(store: Store) -> None:
    assert store.schema_revision() == migrate.head()
    tables = set(inspect(store.db.engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    with store.db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": _not_version_table})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == [], f"ORM and migrations disagree: {diff}"


def _not_version_table(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    return not (type_ == "table" and name == migrate.VERSION_TABLE)


def test_reopen_keeps_data_and_does_not_remigrate(fresh_url: str) -> None:
    with Store.open(fresh_url) as first:
        first.audit.add(at=T0, actor="test", action="kubernetes.scale", target_key="Deployment/shop/api", result="ok")
    with Store.open(fresh_url) as again:
        assert [a.actor for a in again.audit.list()] == ["test"]
        assert again.schema_revision() == migrate.head()


def test_downgrade_to_base_and_back(fresh_url: str) -> None:
    with Store.open(fresh_url) as store:
        migrate.downgrade(store.db, "base")
        assert migrate.current(store.db) is None
        assert "events" not in inspect(store.db.engine).get_table_names()
        migrate.upgrade(store.db)
        assert migrate.current(store.db) == migrate.head()


def test_replicas_starting_together_migrate_once(fresh_url: str) -> None:
    """Four 'replicas' open a fresh database at the same moment: all succeed, one schema results."""
    errors: list[BaseException] = []
    stores: list[Store] = []
    barrier = threading.Barrier(4)

    def start() -> None:
        barrier.wait()
        try:
            stores.append(Store.open(fresh_url))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert len(stores) == 4
    for s in stores:
        assert s.schema_revision() == migrate.head()
        s.close()


def test_not_migrated_database_is_refused_without_migration(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not at schema"):
        Store.open(f"sqlite:///{tmp_path / 'empty.db'}", migrate_schema=False)


@pytest.mark.parametrize("url, message", [
    ("mysql://u:p@localhost/db", "unsupported database 'mysql'"),
    ("not a url", "invalid database URL"),
    ("sqlite://", "in-memory"),
    ("sqlite:///:memory:", "in-memory"),
])
def test_bad_urls_are_config_errors(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as info:
        Store.open(url)
    assert "\n" not in str(info.value)


def test_unreachable_postgres_is_transient_and_hides_the_password() -> None:
    url = f"postgresql://tagent:s3cret-pw@127.0.0.1:{free_port()}/tagent?connect_timeout=2"
    with pytest.raises(TransientError) as info:
        Store.open(url)
    message = str(info.value)
    assert "cannot reach database" in message
    assert "s3cret-pw" not in message
    assert "***" in message
    assert "\n" not in message


def test_plain_postgresql_scheme_uses_psycopg3(postgres_server: PostgresServer) -> None:
    url = postgres_server.create_database().replace("postgresql+psycopg://", "postgresql://")
    with Store.open(url) as s:
        assert s.db.engine.dialect.driver == "psycopg"
        assert s.ping()


def test_from_settings_defaults_to_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    with Store.from_settings(Settings(data_dir=tmp_path / "data")) as s:
        assert s.db.is_sqlite
        assert (tmp_path / "data" / "tagent.db").exists()
        with s.db.read() as session:
            assert session.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_naive_datetimes_are_rejected(store: Store) -> None:
    with pytest.raises(Exception, match="naive datetime"):
        store.audit.add(at=datetime(2026, 1, 1), actor="x", action="y", target_key="z", result="ok")


def test_datetimes_come_back_aware_utc(store: Store) -> None:
    from datetime import timedelta, timezone

    paris_noon = datetime(2026, 6, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    rec = store.audit.add(at=paris_noon, actor="x", action="y", target_key="z", result="ok")
    (back,) = store.audit.list()
    assert back.at == paris_noon and back.at.utcoffset() == timedelta(0)
    assert rec.id == back.id


def test_cli_style_error_has_no_traceback(tmp_path: Path) -> None:
    """A process that opens a bad URL and prints the error shows one line (what the CLI will do)."""
    code = ("from tagent.store import Store\nfrom tagent.errors import TagentError\n"
            "try:\n    Store.open('mysql://x@y/z')\nexcept TagentError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    assert out.stdout.strip().startswith("unsupported database 'mysql'")
    assert "Traceback" not in out.stderr
