"""Engine, short transactions and cross-process locks for SQLite (default) and PostgreSQL.

Why the SQLite dance: the stdlib driver opens transactions lazily and only for DML, so a transaction that
reads and then writes can fail at once with "database is locked" instead of waiting. We take over BEGIN:
write transactions start with `BEGIN IMMEDIATE` (they queue on the busy timeout), reads with a plain BEGIN
(WAL gives them a snapshot without blocking writers).
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.orm import Session

from tagent.errors import ConfigError

_IMMEDIATE = "tagent_immediate"
BUSY_TIMEOUT_S = 30.0


def mask_url(url: str | URL) -> str:
    """The URL with its password hidden, safe for logs and error messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable database URL>"


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for pg_advisory_xact_lock."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


def _parse(url: str) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"invalid database URL {mask_url(url)!r}: {exc}") from exc
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise ConfigError(f"unsupported database {backend!r} in {mask_url(url)}: use sqlite:/// or postgresql://")
    if backend == "postgresql" and parsed.get_driver_name() != "psycopg":
        parsed = parsed.set(drivername="postgresql+psycopg")  # psycopg 3 is the one driver we ship
    if backend == "sqlite" and parsed.database in (None, "", ":memory:"):
        raise ConfigError("an in-memory SQLite database cannot be shared by threads: use sqlite:///<file>")
    return parsed


class Database:
    """One engine plus the transaction helpers every repository uses."""

    def __init__(self, url: str, *, pool_size: int = 5, max_overflow: int = 10) -> None:
        parsed = _parse(url)
        self.url = parsed
        self.masked_url = mask_url(parsed)
        self.dialect: str = parsed.get_backend_name()
        self._gate = _WriteGate(enabled=self.is_sqlite)
        self._gates: dict[str, _WriteGate] = {}
        self._gates_lock = threading.Lock()
        try:
            if self.is_sqlite:
                assert parsed.database is not None
                Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
                self.engine: Engine = create_engine(
                    parsed,
                    connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False},
                    pool_size=pool_size,
                    max_overflow=max_overflow,
                )
                _install_sqlite_hooks(self.engine)
            else:
                self.engine = create_engine(parsed, pool_pre_ping=True, pool_size=pool_size,
                                            max_overflow=max_overflow)
        except (ArgumentError, NoSuchModuleError, OSError) as exc:
            raise ConfigError(f"cannot use database {self.masked_url}: {exc}") from exc

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @contextmanager
    def write(self, lock: str | None = None, *, priority: int = 0) -> Iterator[Session]:
        """A short read-write transaction, committed on exit and rolled back on error.

        `lock` names a critical section serialized across processes and replicas (a PostgreSQL
        transaction-level advisory lock; SQLite write transactions are already serialized). `priority`: this
        process' writers of the same section (SQLite: of the database) with a lower one wait while one with a
        higher one waits (a storm's admission before playbook steps, both before playbook journals)."""
        with self._gate_for(lock).hold(priority), \
                Session(self.engine, expire_on_commit=False, autoflush=True) as session, session.begin():
            conn = session.connection(execution_options={_IMMEDIATE: True})
            if lock is not None and not self.is_sqlite:
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key(lock)})
            yield session

    @contextmanager
    def write_core(self, lock: str | None = None) -> Iterator[Connection]:
        """Like `write`, on a bare Core connection: for hot paths where ORM bookkeeping is pure overhead."""
        with self._gate_for(lock).hold(0), self.engine.connect() as conn:
            conn = conn.execution_options(**{_IMMEDIATE: True})
            with conn.begin():
                if lock is not None and not self.is_sqlite:
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key(lock)})
                yield conn

    def _gate_for(self, lock: str | None) -> _WriteGate:
        """SQLite: one gate for every writer (one writer at a time anyway). PostgreSQL: one per locked section, so
        this process' writers queue by priority here, not in the server's lock queue; others need no gate."""
        if self.is_sqlite or lock is None:
            return self._gate
        with self._gates_lock:
            return self._gates.setdefault(lock, _WriteGate(enabled=True))

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only transaction (one consistent snapshot)."""
        with Session(self.engine, expire_on_commit=False, autoflush=False) as session, session.begin():
            yield session

    @contextmanager
    def migration_connection(self) -> Iterator[Connection]:
        """One write transaction for Alembic, serialized against other processes migrating the same database."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(**{_IMMEDIATE: True})
            with conn.begin():
                if not self.is_sqlite:
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_key("tagent-migrate")})
                yield conn

    def dispose(self) -> None:
        self.engine.dispose()


class _WriteGate:
    """This process' writers queue here rather than in SQLite's busy handler (which sleeps up to 100 ms a time
    even after the lock is free, so many small transactions starved a big one) or PostgreSQL's lock queue (first
    come, first served). While a writer of some priority waits, writers of a lower one do not start; the lock
    goes to whoever waits on it first among the rest. Re-entrant per thread."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self._lock = threading.RLock()
        self._cond = threading.Condition()
        self._waiting: Counter[int] = Counter()
        self._owner: int | None = None

    def _nobody_above(self, priority: int) -> bool:
        return not any(n for p, n in self._waiting.items() if p > priority)

    @contextmanager
    def hold(self, priority: int) -> Iterator[None]:
        if not self.enabled:
            yield
            return
        me = threading.get_ident()
        with self._cond:
            self._waiting[priority] += 1
            if self._owner != me:
                self._cond.wait_for(lambda: self._nobody_above(priority), timeout=BUSY_TIMEOUT_S)
        try:
            self._lock.acquire()
        finally:
            with self._cond:
                self._waiting[priority] -= 1
                self._cond.notify_all()
        outer, self._owner = self._owner, me
        try:
            yield
        finally:
            self._owner = outer
            self._lock.release()


def _enable_wal(cur: Any) -> None:
    """Switch to WAL. The switch needs the database to itself and SQLite may answer "database is locked" at
    once, without its busy handler, while another replica opens the same new file: retry until the timeout."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _install_sqlite_hooks(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (see module docstring)
        cur = dbapi_conn.cursor()
        try:
            cur.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
            _enable_wal(cur)
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
        finally:
            cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(_IMMEDIATE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
