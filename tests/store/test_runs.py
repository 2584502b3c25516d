"""Playbook runs: the step journal resumes a run killed with SIGKILL at its first unfinished step and never
repeats a finished step; run ownership; one-time approval tokens; the audit log."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from tagent.model import StepResult, StepStatus, WorkloadRef
from tagent.store import ApprovalStatus, RunStatus, Store
from tests.store.conftest import T0

ROOT = Path(__file__).resolve().parents[2]
API = WorkloadRef(namespace="shop", name="api")


def _worker(url: str, run_id: str, effects: Path, hang_at: int) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "tests.store.journal_worker", url, run_id, str(effects),
                             str(hang_at)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_run_killed_with_sigkill_resumes_at_first_unfinished_step(store_url: str, tmp_path: Path) -> None:
    effects = tmp_path / "effects.txt"
    first = _worker(store_url, "run-1", effects, hang_at=2)
    assert first.stdout is not None
    line = first.stdout.readline()  # blocks until step 2's effect happened
    assert line.strip() == "HANG", first.stderr.read() if first.stderr else ""
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=30)
    assert first.returncode == -signal.SIGKILL

    with Store.open(store_url) as store:
        assert store.runs.resume_point("run-1") == 2
        assert [r.id for r in store.runs.unfinished()] == ["run-1"]

    second = _worker(store_url, "run-1", effects, hang_at=-1)
    _out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err
    # steps 0 and 1 finished before the kill and ran once; step 2 had started (no finish row) and ran again
    assert effects.read_text().split() == ["0", "1", "2", "2", "3", "4"]

    with Store.open(store_url) as store:
        run = store.runs.get("run-1")
        assert run is not None and run.status == RunStatus.succeeded and run.finished_at is not None
        journal = store.runs.journal("run-1")
        starts = [(e.index, e.attempt) for e in journal if e.phase == "start"]
        assert starts == [(0, 1), (1, 1), (2, 1), (2, 2), (3, 1), (4, 1)]
        finishes = [(e.index, e.attempt) for e in journal if e.phase == "finish"]
        assert finishes == [(0, 1), (1, 1), (2, 2), (3, 1), (4, 1)]
        assert store.runs.resume_point("run-1") == 5
        assert store.runs.finished_steps("run-1")[1].command == "kubectl demo restart"
        assert store.runs.unfinished() == []


def test_finished_step_is_never_started_again(store: Store) -> None:
    store.runs.create("restart-workload", API, at=T0, run_id="r")
    claim = store.runs.start_step("r", 0, action="kubernetes.rollout_restart", mutates=True, at=T0)
    assert not claim.finished and claim.attempt == 1
    result = StepResult(status=StepStatus.ok, detail="restarted", command="kubectl rollout restart deploy/api -n shop",
                        data={"revision": 4}, started_at=T0, finished_at=T0 + timedelta(seconds=3))
    assert store.runs.finish_step("r", 0, result)
    assert not store.runs.finish_step("r", 0, result.model_copy(update={"status": StepStatus.failed}))
    again = store.runs.start_step("r", 0, action="kubernetes.rollout_restart", mutates=True, at=T0)
    assert again.finished and again.result == result
    # on_failure steps have their own index space
    other = store.runs.start_step("r", 0, action="notify.page", section="on_failure", at=T0)
    assert not other.finished
    with pytest.raises(ValueError, match="without a start row"):
        store.runs.finish_step("r", 7, result)


def test_create_with_same_run_id_is_idempotent(store: Store) -> None:
    a = store.runs.create("p", API, at=T0, run_id="same", params={"replicas": 3})
    b = store.runs.create("p", API, at=T0 + timedelta(minutes=1), run_id="same", params={"replicas": 9})
    assert a == b and b.params == {"replicas": 3}
    assert len(store.runs.list()) == 1


def test_run_ownership_claim_heartbeat_and_takeover(store: Store) -> None:
    store.runs.create("p", API, at=T0, run_id="r")
    assert store.runs.claim("r", "replica-a", now=T0)
    assert not store.runs.claim("r", "replica-b", now=T0 + timedelta(seconds=30), stale_after=60)
    assert store.runs.heartbeat("r", "replica-a", now=T0 + timedelta(seconds=50))
    assert not store.runs.claim("r", "replica-b", now=T0 + timedelta(seconds=100), stale_after=60)
    assert store.runs.claim("r", "replica-b", now=T0 + timedelta(seconds=111), stale_after=60)
    assert not store.runs.heartbeat("r", "replica-a", now=T0 + timedelta(seconds=112))
    store.runs.set_status("r", RunStatus.failed, at=T0 + timedelta(minutes=5), detail="timeout")
    run = store.runs.get("r")
    assert run is not None and run.owner == "replica-b" and run.detail == "timeout"
    assert [r.id for r in store.runs.list(status=RunStatus.failed)] == ["r"]


def test_approval_token_is_one_time(store: Store) -> None:
    approval, token = store.approvals.request(at=T0, incident_id="i1", action="kubernetes.rollout_undo",
                                              target_key=API.key, summary="roll back api", payload={"to": 3})
    assert approval.status == ApprovalStatus.pending and token not in approval.model_dump_json()
    decided = store.approvals.decide(token, approve=True, by="alice", at=T0 + timedelta(seconds=5))
    assert decided is not None and decided.status == ApprovalStatus.approved and decided.decided_by == "alice"
    assert store.approvals.decide(token, approve=False, by="mallory", at=T0 + timedelta(seconds=6)) is None
    looked = store.approvals.lookup(token)
    assert looked is not None and looked.status == ApprovalStatus.approved
    assert store.approvals.decide("not-a-token", approve=True, by="x", at=T0) is None


def test_expired_and_denied_approvals(store: Store) -> None:
    late, token = store.approvals.request(at=T0, expires_at=T0 + timedelta(minutes=5))
    assert store.approvals.decide(token, approve=True, by="bob", at=T0 + timedelta(minutes=6)) is None
    assert store.approvals.expire(T0 + timedelta(minutes=6)) == 1
    got = store.approvals.get(late.id)
    assert got is not None and got.status == ApprovalStatus.expired
    other, _ = store.approvals.request(at=T0, run_id="r9")
    assert [a.id for a in store.approvals.pending(run_id="r9")] == [other.id]
    denied = store.approvals.decide_by_id(other.id, approve=False, by="carol", at=T0, reason="not now")
    assert denied is not None and denied.status == ApprovalStatus.denied and denied.reason == "not now"
    assert store.approvals.pending() == []


def test_concurrent_use_of_one_token_approves_once(store: Store) -> None:
    _, token = store.approvals.request(at=T0)
    wins: list[str] = []
    barrier = threading.Barrier(5)

    def use(who: str) -> None:
        barrier.wait()
        if store.approvals.decide(token, approve=True, by=who, at=T0) is not None:
            wins.append(who)

    threads = [threading.Thread(target=use, args=(f"u{i}",)) for i in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(wins) == 1


def test_audit_log(store: Store) -> None:
    store.audit.add(at=T0, actor="rule:crashloop", action="kubernetes.rollout_restart", target_key=API.key,
                    namespace="shop", command="kubectl rollout restart deployment/api -n shop", result="ok",
                    run_id="r1")
    store.audit.add(at=T0 + timedelta(seconds=1), actor="chat:alice", action="kubernetes.scale",
                    target_key="Deployment/shop/web", namespace="shop", command="kubectl scale ...",
                    result="dry_run", dry_run=True)
    newest, oldest = store.audit.list()
    assert newest.actor == "chat:alice" and newest.dry_run
    assert oldest.command.startswith("kubectl rollout restart")
    assert [a.run_id for a in store.audit.list(target_key=API.key)] == ["r1"]
    assert store.audit.list(since=T0 + timedelta(seconds=1)) == [newest]
