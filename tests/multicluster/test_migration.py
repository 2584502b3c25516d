"""Migration 0004 on a database that already holds rows (SQLite and PostgreSQL): every table that names a
workload gains `cluster`, old rows read as the home cluster (''), and new rows keep their cluster."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from tagent.model import Event, EventSource, WorkloadRef
from tagent.store import Store, migrate
from tagent.store.db import Database

T0 = datetime(2026, 3, 7, 12, 0, tzinfo=UTC)
TABLES = ("events", "decisions", "verdicts", "incidents", "playbook_runs", "audit_log", "guard_actions",
          "workloads")
OLD_ROWS = [
    "INSERT INTO events (id, source, kind, reason, target_kind, namespace, name, labels, \"values\", message, "
    "observed_at) VALUES ('e1', 'kubernetes', 'PodState', 'CrashLoopBackOff', 'Deployment', 'shop', 'cart', '{}', "
    "'{}', '', :at)",
    "INSERT INTO decisions (id, rule, rules_version, target_kind, namespace, name, event_ids, playbook, params, mode, "
    "severity, decided_at) VALUES ('d1', 'crashloop-restart', 'v1', 'Deployment', 'shop', 'cart', '[]', NULL, '{}', "
    "'auto', 'warning', :at)",
    "INSERT INTO verdicts (decision_id, actor, rule, rules_version, target_key, namespace, action, allowed, reason, "
    "detail, mode, at) VALUES ('d1', 'rule:x', 'x', 'v1', 'Deployment/shop/cart', 'shop', NULL, true, 'ok', '', "
    "'act', :at)",
    "INSERT INTO incidents (id, fingerprint, open_key, rule, target_kind, namespace, name, status, severity, "
    "rules_version, opened_at, reopened) VALUES ('i1', 'fp', 'fp', 'crashloop-restart', 'Deployment', 'shop', "
    "'cart', 'open', 'warning', 'v1', :at, 0)",
    "INSERT INTO playbook_runs (id, playbook, target_kind, namespace, name, params, rules_version, status, dry_run, "
    "detail, started_at) VALUES ('r1', 'restart-workload', 'Deployment', 'shop', 'cart', '{}', 'v1', 'succeeded', "
    "false, '', :at)",
    "INSERT INTO audit_log (at, actor, action, target_key, namespace, command, result, detail, dry_run) VALUES "
    "(:at, 'chat:asha', 'kubernetes.scale', 'Deployment/shop/cart', 'shop', 'kubectl scale', 'ok', '', false)",
    "INSERT INTO guard_actions (id, at, actor, rule, action, target_key, namespace, pods_affected, status) VALUES "
    "('g1', :at, 'rule:x', 'x', 'kubernetes.rollout_restart', 'Deployment/shop/cart', 'shop', 1, 'done')",
    "INSERT INTO workloads (key, kind, namespace, name, replicas, ready_replicas, runtime, images, labels, "
    "annotations, ports, updated_at) VALUES ('Deployment/shop/cart', 'Deployment', 'shop', 'cart', 2, 2, 'go', "
    "'[]', '{}', '{}', '[]', :at)",
]


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'old.db'}"
    return str(request.getfixturevalue("postgres_url"))


def test_0004_upgrades_a_database_with_rows(url: str) -> None:
    db = Database(url)
    try:
        migrate.upgrade(db, "0003")
        at = T0.replace(tzinfo=None) if db.is_sqlite else T0
        with db.engine.begin() as conn:
            for statement in OLD_ROWS:
                conn.execute(text(statement), {"at": at})
        migrate.upgrade(db, "0004")
        with db.engine.connect() as conn:
            for table in TABLES:
                assert conn.execute(text(f"SELECT cluster FROM {table}")).scalars().all() == [""], table
    finally:
        db.dispose()
    with Store.open(url) as store:  # and on to head: the repositories read the old rows as the home cluster
        assert [e.target for e in store.events.list()] == [WorkloadRef(namespace="shop", name="cart")]
        assert store.incidents.get("i1").target.cluster == ""  # type: ignore[union-attr]
        assert [a.cluster for a in store.audit.list()] == [""]
        assert [w.ref.key for w in store.inventory.list()] == ["Deployment/shop/cart"]
        west = WorkloadRef(namespace="shop", name="cart", cluster="west")
        store.events.add(Event(source=EventSource.kubernetes, kind="PodState", reason="OOMKilled", target=west,
                               observed_at=T0))
        assert [e.target for e in store.events.list(cluster="west")] == [west]
        assert len(store.events.list(cluster="")) == 1
