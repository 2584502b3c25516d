"""Guard tests share the store fixtures: each runs on SQLite and on a real PostgreSQL."""

from tests.store.conftest import FakeClock, clock, fresh_url, migrated_postgres_url, store, store_url

__all__ = ["FakeClock", "clock", "fresh_url", "migrated_postgres_url", "store", "store_url"]
