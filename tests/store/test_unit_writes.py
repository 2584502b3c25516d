"""A lifecycle unit's buffered writes (executemany on SQLite, COPY on PostgreSQL): every row lands, values
round-trip, and a replayed admission (the same event, decision, timeline ref, run and outbox key again)
writes nothing twice; a unit that fails writes nothing at all."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tagent.model import Decision, Event, EventSource, Incident, WorkloadRef
from tagent.model.timeline import EventData, NoteData, entry
from tagent.store import NewVerdict, Store
from tagent.store.orm.runs import RunRow
from tagent.store.repos.common import table_of
from tagent.store.repos.pg_copy import CopyInsert
from tests.store.conftest import T0, _empty_all_tables

API = WorkloadRef(namespace="shop", name="api")


def _verdict(d: Decision) -> NewVerdict:
    return NewVerdict(decision_id=d.id, actor=f"rule:{d.rule}", rule=d.rule, rules_version="v1",
                      target_key=API.key, namespace=API.namespace, action=None, allowed=True, reason="ok",
                      detail="", mode="act", at=T0)


def test_every_buffered_row_lands_once_however_often_the_unit_is_replayed(store: Store) -> None:
    incident = Incident(fingerprint=f"r/{API.key}", rule="r", target=API, rules_version="v1", opened_at=T0)
    event = Event(source=EventSource.kubernetes, kind="PodState", reason="CrashLoopBackOff", target=API,
                  labels={"container": "app", "ünïcode": "✓"}, values={"restarts": 3.0}, message='say "hi"\tthere',
                  observed_at=T0)
    decision = Decision(rule="r", rules_version="v1", target=API, event_ids=[event.id], playbook="p",
                        params={"replicas": 3, "nested": {"a": [1, None]}}, decided_at=T0)
    for attempt in range(2):
        with store.lifecycle.unit() as unit:
            if attempt == 0:
                unit.open(incident)
            unit.add_events([event])
            unit.record(decision, _verdict(decision))
            payload = EventData(id=event.id, source="kubernetes", event_kind="PodState", message=event.message,
                                values=dict(event.values), labels=dict(event.labels))
            unit.timeline(incident.id, entry(T0, "CrashLoopBackOff on shop/api", payload), f"event:{event.id}")
            unit.flush()  # a read in the middle of a unit flushes what is buffered; more rows follow
            unit.timeline(incident.id, entry(T0 + timedelta(seconds=1), f"note {attempt}", NoteData(topic="t")))
            unit.create_run(decision.id, "p", API, at=T0, incident_id=incident.id, decision_id=decision.id,
                            params={"steps": []}, rules_version="v1", dry_run=False)
            unit.outbox(incident.id, "notify", {"did": "x"}, T0, key=f"open:{incident.id}")
            if attempt == 1:  # later evidence moves the incident's last sighting forward (the quiet sweep's clock)
                later = EventData(id="later", source="kubernetes", event_kind="PodState")
                unit.timeline(incident.id, entry(T0 + timedelta(seconds=5), "again", later), "event:later")
    stored = store.events.get(event.id)
    assert stored is not None and stored.labels == event.labels and stored.values == event.values
    assert stored.message == event.message and stored.observed_at == T0
    got = store.decisions.get(decision.id)
    assert got is not None and got.params == decision.params and got.event_ids == [event.id]
    assert len(store.decisions.verdicts(decision_id=decision.id)) == 2  # each judgement is recorded
    full = store.incidents.get(incident.id)
    assert full is not None
    assert [e.summary for e in full.timeline] == ["CrashLoopBackOff on shop/api", "note 0", "note 1", "again"]
    assert store.lifecycle.quiet(T0 + timedelta(seconds=4)) == []
    assert store.lifecycle.quiet(T0 + timedelta(seconds=6)) == [incident.id]
    assert full.timeline[0].data["labels"] == event.labels
    assert [r.id for r in store.runs.list()] == [decision.id]
    assert [(o.kind, o.payload) for o in store.lifecycle.pending_outbox()] == [("notify", {"did": "x"})]


def test_a_unit_that_fails_writes_nothing(store: Store) -> None:
    event = Event(source=EventSource.kubernetes, kind="PodState", reason="CrashLoopBackOff", target=API)
    with pytest.raises(RuntimeError), store.lifecycle.unit() as unit:
        unit.add_events([event])
        unit.flush()
        raise RuntimeError("a crashed step")
    assert store.events.get(event.id) is None


def test_copy_fills_the_python_side_defaults_an_insert_would(migrated_postgres_url: str) -> None:
    """PostgreSQL's COPY path: a row without a column that has a Python-side default gets that default."""
    _empty_all_tables(migrated_postgres_url)
    store = Store.open(migrated_postgres_url)
    try:
        copy = CopyInsert(table_of(RunRow), ignore_conflicts=True)
        row = {"id": "run-1", "playbook": "p", "incident_id": None, "decision_id": None, "target_kind": "Deployment",
               "name": "api", "status": "running", "owner": None, "heartbeat_at": None, "started_at": T0,
               "finished_at": None}
        with store.db.write() as session:
            copy(session.connection(), [row])
        run = store.runs.get("run-1")
        assert run is not None and run.params == {} and run.detail == "" and run.target.namespace == ""
    finally:
        store.close()
