"""Rules versions, events (with retention), decisions and verdicts round-trip through the store."""

from __future__ import annotations

from datetime import timedelta

from tagent.model import Decision, Event, EventSource, Mode, Severity, WorkloadRef
from tagent.store import NewVerdict, RuleVersionStatus, Store
from tests.store.conftest import T0

API = WorkloadRef(kind="Deployment", namespace="shop", name="api")
WEB = WorkloadRef(kind="Deployment", namespace="shop", name="web")


def _event(i: int, target: WorkloadRef = API, minutes_ago: int = 0) -> Event:
    return Event(id=f"e{i}", source=EventSource.kubernetes, kind="PodState", reason="CrashLoopBackOff",
                 target=target, labels={"app": target.name, "pod": f"{target.name}-{i}"},
                 values={"restarts": float(i)}, message="back-off restarting",
                 observed_at=T0 - timedelta(minutes=minutes_ago))


def test_rule_versions_active_and_rejected(store: Store) -> None:
    assert store.rules.active() is None
    store.rules.record("a" * 40, RuleVersionStatus.active, at=T0, author="ana", message="first")
    store.rules.record("b" * 40, RuleVersionStatus.rejected, at=T0 + timedelta(minutes=1), author="bob",
                       problems=["rules/x.yaml:3: unknown field 'whenn'"])
    active = store.rules.active()
    assert active is not None and active.sha == "a" * 40 and active.author == "ana"
    rejected = store.rules.last_rejected()
    assert rejected is not None and rejected.problems == ["rules/x.yaml:3: unknown field 'whenn'"]
    assert [v.sha[0] for v in store.rules.history()] == ["b", "a"]


def test_events_roundtrip_filters_and_duplicates(store: Store) -> None:
    events = [_event(i, API if i % 2 else WEB, minutes_ago=i) for i in range(10)]
    assert store.events.add_many(events) == 10
    store.events.add(events[3])  # a source resending an event is not an error
    assert store.events.count() == 10
    assert store.events.get("e3") == events[3]
    recent = store.events.list(limit=3)
    assert [e.id for e in recent] == ["e0", "e1", "e2"]
    only_api = store.events.list(target=API)
    assert {e.id for e in only_api} == {"e1", "e3", "e5", "e7", "e9"}
    assert all(e.observed_at.tzinfo is not None for e in only_api)
    assert store.events.list(since=T0 - timedelta(minutes=2), limit=100) == events[:3]


def test_prune_events_retention(store: Store) -> None:
    store.events.add_many(_event(i, minutes_ago=i * 10) for i in range(6))  # 0, 10, ... 50 minutes old
    deleted = store.prune_events(T0 - timedelta(minutes=25))
    assert deleted == 3
    assert sorted(e.id for e in store.events.list()) == ["e0", "e1", "e2"]
    assert store.prune_events(T0 - timedelta(minutes=25)) == 0


def test_decisions_with_verdicts(store: Store) -> None:
    d = Decision(rule="crashloop-restart", rules_version="c" * 40, target=API, event_ids=["e1"],
                 playbook="restart-workload", params={"reason": "CrashLoopBackOff", "n": 2}, mode=Mode.auto,
                 severity=Severity.critical, decided_at=T0)
    verdict = NewVerdict(decision_id=d.id, actor="rule:crashloop-restart", rule=d.rule, rules_version=d.rules_version,
                         target_key=API.key, namespace="shop", action=None, allowed=False, reason="cooldown",
                         detail="cooling down", mode="refused", at=T0)
    stored = store.decisions.record(d, verdict)
    assert stored is not None and stored.id > 0 and stored.reason == "cooldown"
    store.decisions.record(d)  # idempotent by id
    assert store.decisions.get(d.id) == d
    (rec,) = store.decisions.list()
    assert rec.decision == d
    assert rec.verdict is not None and rec.verdict.allowed is False and rec.verdict.rules_version == "c" * 40
    action_verdict = verdict.model_copy(update={"action": "kubernetes.rollout_restart", "allowed": True,
                                                "reason": "ok", "mode": "act"})
    store.decisions.add_verdict(action_verdict)
    assert [v.reason for v in store.decisions.verdicts(decision_id=d.id)] == ["ok", "cooldown"]
    assert len(store.decisions.verdicts(allowed=True)) == 1
    # the decision-level verdict stays the one listed with the decision
    (rec,) = store.decisions.list(rule="crashloop-restart", target=API)
    assert rec.verdict is not None and rec.verdict.reason == "cooldown"
    assert store.decisions.list(target=WEB) == []
