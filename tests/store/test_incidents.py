"""Incidents (one open per fingerprint, even under concurrency), timelines, post-mortems, notifications."""

from __future__ import annotations

import threading
from datetime import timedelta

from tagent.model import Incident, IncidentStatus, Severity, TimelineEntry, WorkloadRef
from tagent.store import NotificationStatus, Store
from tests.store.conftest import T0

API = WorkloadRef(namespace="shop", name="api")


def _incident(**kw: object) -> Incident:
    return Incident(fingerprint=f"crashloop|{API.key}", rule="crashloop", target=API, severity=Severity.critical,
                    rules_version="abc", opened_at=T0,
                    timeline=[TimelineEntry(at=T0, kind="event", summary="CrashLoopBackOff", data={"n": 1})], **kw)


def test_open_then_reopen_returns_the_open_incident(store: Store) -> None:
    first, created = store.incidents.open(_incident())
    assert created
    again, created_again = store.incidents.open(_incident())
    assert not created_again and again.id == first.id
    got = store.incidents.get(first.id)
    assert got is not None and got.timeline[0].summary == "CrashLoopBackOff" and got.timeline[0].data == {"n": 1}


def test_concurrent_openers_create_one_incident(store: Store) -> None:
    ids: list[str] = []
    barrier = threading.Barrier(6)

    def opener() -> None:
        barrier.wait()
        inc, _ = store.incidents.open(_incident())
        ids.append(inc.id)

    threads = [threading.Thread(target=opener) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(ids) == 6 and len(set(ids)) == 1
    assert len(store.incidents.list()) == 1


def test_status_ack_and_closing_allows_a_new_incident(store: Store) -> None:
    inc, _ = store.incidents.open(_incident())
    store.incidents.acknowledge(inc.id, by="alice", at=T0 + timedelta(minutes=1))
    store.incidents.acknowledge(inc.id, by="bob", at=T0 + timedelta(minutes=2))
    store.incidents.set_status(inc.id, IncidentStatus.mitigating, at=T0 + timedelta(minutes=3))
    store.incidents.add_timeline(inc.id, TimelineEntry(at=T0 + timedelta(minutes=4), kind="step",
                                                       summary="restart ok"))
    done = store.incidents.set_status(inc.id, IncidentStatus.resolved, at=T0 + timedelta(minutes=5))
    assert done is not None
    assert done.acknowledged_at == T0 + timedelta(minutes=1)
    assert done.mitigated_at == T0 + timedelta(minutes=3)
    assert done.resolved_at == T0 + timedelta(minutes=5)
    assert [e.kind for e in done.timeline] == ["event", "ack", "ack", "status", "step", "status"]
    assert store.incidents.find_open(inc.fingerprint) is None
    fresh, created = store.incidents.open(_incident())
    assert created and fresh.id != inc.id
    assert [i.id for i in store.incidents.list(status=IncidentStatus.resolved)] == [inc.id]
    listed = store.incidents.list()
    assert {i.id for i in listed} == {inc.id, fresh.id} and all(i.timeline == [] for i in listed)
    assert store.incidents.set_status("nope", IncidentStatus.resolved, at=T0) is None


def test_postmortems_upsert_and_search(store: Store) -> None:
    inc, _ = store.incidents.open(_incident())
    store.postmortems.save(inc.id, "# Crash loop\nOOM in payment_service", title="api crash loop", at=T0)
    saved = store.postmortems.save(inc.id, "# Crash loop\nfixed: 100% memory_limit", title="api crash loop",
                                   at=T0 + timedelta(hours=1), author="llm")
    assert saved.created_at == T0 and saved.updated_at == T0 + timedelta(hours=1) and saved.author == "llm"
    assert [p.incident_id for p in store.postmortems.search("CRASH")] == [inc.id]
    assert store.postmortems.search("100%") != []
    assert store.postmortems.search("memory_limit") != []
    assert store.postmortems.search("payment_service") == []  # replaced text
    assert store.postmortems.search("50%") == []
    got = store.postmortems.get(inc.id)
    assert got is not None and "fixed" in got.markdown


def test_notifications_retry_then_fail(store: Store) -> None:
    n = store.notifications.add("slack-oncall", at=T0, subject="api down", body="...", incident_id="i1")
    assert [x.id for x in store.notifications.due(T0)] == [n.id]
    store.notifications.mark_failed(n.id, error="HTTP 503", retry_at=T0 + timedelta(seconds=30))
    assert store.notifications.due(T0 + timedelta(seconds=10)) == []
    (again,) = store.notifications.due(T0 + timedelta(seconds=30))
    assert again.attempts == 1 and again.last_error == "HTTP 503"
    final = store.notifications.mark_failed(n.id, error="HTTP 503")
    assert final is not None and final.status == NotificationStatus.failed and final.attempts == 2
    m = store.notifications.add("teams", at=T0)
    sent = store.notifications.mark_sent(m.id, at=T0 + timedelta(seconds=1))
    assert sent is not None and sent.status == NotificationStatus.sent and sent.attempts == 1
    assert len(store.notifications.list(incident_id="i1")) == 1


def test_list_by_target_keeps_one_workloads_incidents(store: Store) -> None:
    cart, web = WorkloadRef(namespace="shop", name="cart"), WorkloadRef(namespace="shop", name="frontend")
    for rule, target in (("a", cart), ("b", cart), ("a", web)):
        store.incidents.open(Incident(fingerprint=f"{rule}/{target.key}", rule=rule, target=target, opened_at=T0))
    assert sorted(i.rule for i in store.incidents.list(target=cart)) == ["a", "b"]
    assert [i.rule for i in store.incidents.list(target=web)] == ["a"]
    assert store.incidents.list(target=WorkloadRef(kind="StatefulSet", namespace="shop", name="cart")) == []
