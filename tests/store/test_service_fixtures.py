"""The shared real-service fixtures work: a fresh PostgreSQL database per test, a flushed Redis."""

from __future__ import annotations

import psycopg
import redis
from sqlalchemy.engine import make_url

from tests.fixtures.services import PostgresServer


def test_postgres_databases_are_fresh_and_separate(postgres_server: PostgresServer, postgres_url: str) -> None:
    other = postgres_server.create_database()
    assert other != postgres_url
    name = make_url(postgres_url).database
    assert name is not None
    with psycopg.connect(postgres_server.conninfo(name)) as conn:
        assert conn.execute("select count(*) from pg_tables where schemaname = 'public'").fetchone() == (0,)
        version = conn.execute("show server_version_num").fetchone()
        assert version is not None and int(version[0]) >= 150000


def test_redis_is_real_and_flushed(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    assert client.ping()
    assert client.dbsize() == 0
    client.set("tagent:test", "1", ex=60)
    assert client.get("tagent:test") == b"1"
    client.close()


def test_redis_is_flushed_between_tests(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    assert client.get("tagent:test") is None
    client.close()
