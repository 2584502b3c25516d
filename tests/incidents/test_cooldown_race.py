"""A cooldown taken by another transaction while a batch is being admitted (PostgreSQL: another writer; on
SQLite the admission holds the write lock): the admission's unit rolls back and the batch is admitted again,
so the decision is refused by that cooldown instead of acting a second time."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tagent.app.bench import PLAYBOOK, RULE
from tagent.guard import Guard
from tagent.incidents import Admitter, Book, Parts
from tagent.model import Decision, Event, EventSource, WorkloadInfo, WorkloadRef
from tagent.model.core import utcnow
from tagent.policy import load_ruleset
from tagent.settings import Settings
from tagent.store import Store

TARGET = WorkloadRef(namespace="shop", name="api")


def test_a_cooldown_won_meanwhile_by_another_writer_refuses_the_decision(postgres_url: str, tmp_path: Path) -> None:
    (tmp_path / "rules.yaml").write_text(RULE)
    (tmp_path / "playbooks.yaml").write_text(PLAYBOOK)
    ruleset = load_ruleset([tmp_path / "rules.yaml", tmp_path / "playbooks.yaml"], promtool=None)
    rule = next(iter(ruleset.rules.values()))
    store, other = Store.open(postgres_url), Store.open(postgres_url)
    won: list[bool] = []

    def workloads(targets: Sequence[WorkloadRef]) -> dict[str, WorkloadInfo]:
        """Asked by the guard after the batch read its cooldowns: another writer takes the cooldown first."""
        if not won:
            won.append(other.cooldowns.acquire(rule.metadata.name, TARGET.key, now=utcnow(), seconds=600,
                                               decision_id="winner").acquired)
        return {}

    try:
        settings = Settings(data_dir=tmp_path / "data", restart_min_interval=0)
        parts = Parts(store=store, guard=Guard(store, settings), book=Book(), rules=lambda: ruleset,
                      clock=utcnow, workloads=workloads)
        runs: list[str] = []
        admitter = Admitter(parts, submit=runs.append)
        event = Event(source=EventSource.kubernetes, kind="PodState", reason="CrashLoopBackOff", target=TARGET)
        decision = Decision(rule=rule.metadata.name, rules_version="v1", target=TARGET, event_ids=[event.id],
                            playbook=rule.spec.then.playbook)
        admitted = admitter.admit([(decision, [event])], events=[event])
        assert won == [True]
        assert admitted.runs == [] and runs == [] and store.runs.list() == []  # no second remediation
        verdicts = store.decisions.verdicts(decision_id=decision.id)
        assert [v.reason for v in verdicts] == ["cooldown"]  # written once: the first attempt rolled back
        assert [i.id for i in store.incidents.list()] == admitted.incidents  # one incident, from the second attempt
        held = store.cooldowns.get(rule.metadata.name, TARGET.key)
        assert held is not None and held.decision_id == "winner"
    finally:
        store.close()
        other.close()
