"""Cooldowns taken inside a lifecycle unit: read once per batch, written together at flush, and a race lost
to another transaction rolls the unit back (store.repos.unit_cooldowns)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tagent.model import Event, EventSource, WorkloadRef
from tagent.store import CooldownLost, Store
from tests.store.conftest import T0, _empty_all_tables

API = WorkloadRef(namespace="shop", name="api")
WEB = WorkloadRef(namespace="shop", name="web")
DB = WorkloadRef(namespace="shop", name="db")


def test_prefetched_cooldowns_are_decided_in_memory_and_written_at_commit(store: Store) -> None:
    store.cooldowns.acquire("r", API.key, now=T0 - timedelta(seconds=60), seconds=600, decision_id="old")  # runs
    store.cooldowns.acquire("r", WEB.key, now=T0 - timedelta(seconds=900), seconds=600)  # over
    now = T0
    with store.lifecycle.unit() as unit:
        unit.prefetch_cooldowns([("r", API.key), ("r", WEB.key), ("r", DB.key)])
        running = unit.acquire_cooldown("r", API.key, now=now, seconds=600, decision_id="d1")
        over = unit.acquire_cooldown("r", WEB.key, now=now, seconds=600, decision_id="d2")
        absent = unit.acquire_cooldown("r", DB.key, now=now, seconds=300, decision_id="d3")
        again = unit.acquire_cooldown("r", DB.key, now=now + timedelta(seconds=1), seconds=300, decision_id="d4")
        assert unit.cooldown_until("r", DB.key) == now + timedelta(seconds=300)
    assert not running.acquired and running.until == T0 + timedelta(seconds=540)
    assert over.acquired and over.until == now + timedelta(seconds=600)
    assert absent.acquired and absent.until == now + timedelta(seconds=300)
    assert not again.acquired and again.until == absent.until  # taken earlier in the same unit
    web, db = store.cooldowns.get("r", WEB.key), store.cooldowns.get("r", DB.key)
    assert web is not None and web.until == over.until and web.decision_id == "d2"
    assert db is not None and db.until == absent.until and db.decision_id == "d3"
    api = store.cooldowns.get("r", API.key)
    assert api is not None and api.decision_id == "old"  # untouched


def test_a_pair_not_prefetched_is_taken_with_its_own_statement(store: Store) -> None:
    with store.lifecycle.unit() as unit:
        first = unit.acquire_cooldown("r", API.key, now=T0, seconds=600, decision_id="d1")
    assert first.acquired and store.cooldowns.get("r", API.key) is not None


def test_a_cooldown_taken_meanwhile_by_another_transaction_rolls_the_unit_back(migrated_postgres_url: str) -> None:
    """PostgreSQL only: on SQLite the unit holds the write lock, so nobody can take a cooldown meanwhile."""
    _empty_all_tables(migrated_postgres_url)
    store, other = Store.open(migrated_postgres_url), Store.open(migrated_postgres_url)
    event = Event(source=EventSource.kubernetes, kind="PodState", reason="CrashLoopBackOff", target=API)
    try:
        with pytest.raises(CooldownLost), store.lifecycle.unit() as unit:
            unit.add_events([event])
            unit.prefetch_cooldowns([("r", API.key)])
            assert other.cooldowns.acquire("r", API.key, now=T0, seconds=600, decision_id="winner").acquired
            assert unit.acquire_cooldown("r", API.key, now=T0, seconds=600, decision_id="loser").acquired
        held = store.cooldowns.get("r", API.key)
        assert held is not None and held.decision_id == "winner"
        assert store.events.get(event.id) is None  # the whole unit rolled back
    finally:
        store.close()
        other.close()
