"""Every store test runs twice: on a SQLite file and on a real PostgreSQL server.

PostgreSQL is migrated once per session (CREATE DATABASE and a migration cost about a second each on a busy
2-core machine) and emptied with TRUNCATE before each test; tests about migrations themselves use `fresh_url`.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tagent.store import Store
from tagent.store.orm import Base
from tests.fixtures.services import PostgresServer

T0 = datetime(2026, 3, 7, 12, 0, tzinfo=UTC)  # a Saturday


@pytest.fixture(scope="session")
def migrated_postgres_url(postgres_server: PostgresServer) -> str:
    """One migrated PostgreSQL database for the session (per xdist worker)."""
    url = postgres_server.create_database()
    Store.open(url).close()
    return url


def _empty_all_tables(url: str) -> None:
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text("SET LOCAL lock_timeout = '10s'"))  # a leaked connection fails loudly, not hangs
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'tagent.db'}"
    url = str(request.getfixturevalue("migrated_postgres_url"))
    _empty_all_tables(url)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database that was never migrated."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = Store.open(store_url)
    try:
        yield s
    finally:
        s.close()


class FakeClock:
    """A settable clock for code that takes `clock=` (tests only)."""

    def __init__(self, start: datetime = T0) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
