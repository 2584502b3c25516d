"""`tagent bench failover`: two `tagent run` replicas with leader election on one cluster and one PostgreSQL; a
crash loop per round, the leader SIGKILLed at a random point of the playbook and restarted as a follower.

Per round (one fresh workload: the rule's cooldown is per workload):
- failover_s: from the SIGKILL to the survivor answering `role: leader` on /api/v1/health;
- resume_s: from the SIGKILL to the interrupted run's next journal row (or its end);
- duplicate mutations: the workload's generation went up by more than one (two rolling restarts), or the
  audit log has two successful restarts of it;
- lost runs: a decision the guard let act without a run, or a run that never finished;
- stuck incidents: an incident on the workload still open 120 s after the kill;
- forwarding: a rules reload POSTed to the follower is answered by the leader (X-Tagent-Forwarded-To), and,
  right after the kill, with 503 "not the leader; ..." (counted in `problems` otherwise).

`pauses` more rounds SIGSTOP the leader instead (a process frozen by the kernel, a long GC, a partition):
once the other replica leads and resumed the run, SIGCONT wakes the old leader, which must find its Lease
lost, write no journal row of its old term, and exit with code 3 (it is then restarted as a follower).
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from tagent.clients.kubernetes import KubeClient
from tagent.model import utcnow
from tagent.store import RunStatus, Store

RULE = """apiVersion: tagent.io/v1
kind: Rule
metadata: {name: crashloop-restart}
spec:
  severity: warning
  when: {kubernetes: {reason: CrashLoopBackOff}}
  then: {playbook: restart-workload}
  mode: auto
  cooldown: 10m
"""
PLAYBOOK = """apiVersion: tagent.io/v1
kind: Playbook
metadata: {name: restart-workload}
spec:
  steps:
    - name: restart
      action: kubernetes.rollout_restart
      with: {namespace: "{{ target.namespace }}", name: "{{ target.name }}"}
    - name: wait-healthy
      action: kubernetes.wait_healthy
      with: {namespace: "{{ target.namespace }}", name: "{{ target.name }}"}
      timeout: 2m
"""
SETTLE_S = 120.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Replica:
    """One `tagent run` with leader election, restarted under the same identity and port."""

    name: str
    port: int
    cmd: list[str]
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as sink:
            self.proc = subprocess.Popen([*self.cmd, "--port", str(self.port)], stdout=sink,
                                         stderr=subprocess.STDOUT, env=self.env, start_new_session=True)

    def health(self) -> dict[str, Any] | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/v1/health", timeout=1.0) as r:
                body = json.loads(r.read())
                return body if isinstance(body, dict) else None
        except (OSError, ValueError):
            return None

    def post(self, path: str) -> tuple[int, str, str]:
        """(status, X-Tagent-Forwarded-To, body) of an empty POST."""
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=b"{}", method="POST",
                                         headers={"content-type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10.0) as r:  # noqa: S310 - http://127.0.0.1 only
                return r.status, r.headers.get("x-tagent-forwarded-to", ""), r.read().decode(errors="replace")
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers.get("x-tagent-forwarded-to", ""), exc.read().decode(errors="replace")
        except OSError as exc:
            return 0, "", str(exc)

    def leading(self) -> bool:
        return (self.health() or {}).get("role") == "leader"

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)


@dataclass
class Tally:
    failover_s: list[float] = field(default_factory=list)
    resume_s: list[float] = field(default_factory=list)
    duplicate_mutations: int = 0
    lost_runs: int = 0
    stuck_incidents: int = 0
    stale_writes: int = 0  # journal rows a paused old leader wrote after the new term began
    problems: list[str] = field(default_factory=list)
    pauses: int = 0

    def result(self, kills: int) -> dict[str, Any]:
        fo = sorted(self.failover_s)
        return {"kills": kills, "pauses": self.pauses, "stale_writes": self.stale_writes,
                "failover_s_p50": round(statistics.median(fo), 2) if fo else None,
                "failover_s_max": round(max(fo), 2) if fo else None, "duplicate_mutations": self.duplicate_mutations,
                "lost_runs": self.lost_runs, "stuck_incidents": self.stuck_incidents,
                "resume_s_max": round(max(self.resume_s), 2) if self.resume_s else None,
                "problems": self.problems[:10]}


def _wait(probe: Any, timeout: float, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(interval)
    return None


def _pack(root: Path) -> Path:
    (root / "rules").mkdir(parents=True, exist_ok=True)
    (root / "playbooks").mkdir(exist_ok=True)
    (root / "rules" / "crashloop.yaml").write_text(RULE, encoding="utf-8")
    (root / "playbooks" / "restart.yaml").write_text(PLAYBOOK, encoding="utf-8")
    return root


def replicas(kubeconfig: Path, db_url: str, tmp: Path, *, lease: str, timing: tuple[float, float, float],
             ) -> list[Replica]:
    rules = _pack(tmp / "pack")
    base = {k: v for k, v in os.environ.items() if not k.startswith("TAGENT_")}
    duration, deadline, retry = timing
    out = []
    for name in ("replica-a", "replica-b"):
        env = {**base, "TAGENT_DATA_DIR": str(tmp / name), "TAGENT_ENGINE_ID": name, "TAGENT_LEADER_ELECTION": "true",
               "TAGENT_LEASE_NAME": lease, "TAGENT_LEASE_DURATION": str(duration),
               "TAGENT_LEASE_RENEW_DEADLINE": str(deadline), "TAGENT_LEASE_RETRY_PERIOD": str(retry),
               "TAGENT_METRICS_INTERVAL": "1", "TAGENT_INCIDENT_QUIET_AFTER": "15",
               "TAGENT_BLAST_RADIUS_WORKLOADS_PER_WINDOW": "1000", "TAGENT_RATE_LIMIT_GLOBAL_PER_HOUR": "1000",
               "TAGENT_RATE_LIMIT_NAMESPACE_PER_HOUR": "1000", "TAGENT_RESTART_MIN_INTERVAL": "0"}
        cmd = [sys.executable, "-m", "tagent", "run", "--kubeconfig", str(kubeconfig), "--rules", str(rules),
               "--db", db_url, "--host", "127.0.0.1"]
        out.append(Replica(name, free_port(), cmd, env, tmp / f"{name}.log"))
    return out


def run_failover_bench(kubeconfig: Path, db_url: str, targets: list[tuple[str, str]], tmp: Path, *,
                       kills: int, pauses: int = 0, seed: int = 18,
                       timing: tuple[float, float, float] = (10.0, 6.0, 2.0), inject: Any) -> dict[str, Any]:
    """`kills` + `pauses` rounds on `targets` (one each); `inject(namespace, name)` starts a crash loop."""
    rng = random.Random(seed)
    store = Store.open(db_url)
    kube = KubeClient.from_kubeconfig(kubeconfig)
    pair = replicas(kubeconfig, db_url, tmp, lease=f"tagent-bench-{os.getpid()}", timing=timing)
    tally = Tally()
    try:
        for r in pair:
            r.start()
        if not _wait(lambda: any(r.leading() for r in pair), 90, 0.2):
            raise RuntimeError("no replica became leader: " + pair[0].log.read_text(errors="replace")[-800:])
        for n, (ns, name) in enumerate(targets[:kills + pauses]):
            _round(pair, store, kube, ns, name, rng, tally, inject, pause=n >= kills)
    finally:
        for r in pair:
            r.kill(signal.SIGTERM)
        kube.close()
        store.close()
    return tally.result(kills)


def _round(pair: list[Replica], store: Store, kube: KubeClient, ns: str, name: str, rng: random.Random,
           tally: Tally, inject: Any, *, pause: bool = False) -> None:
    leader = next((r for r in pair if r.leading()), None) or _wait(lambda: next(
        (r for r in pair if r.leading()), None), 60)
    if leader is None:
        tally.problems.append(f"{name}: no leader before the round")
        return
    follower = next(r for r in pair if r is not leader)
    if not _wait(follower.health, 90, 0.2):  # a standby that serves (as a ready pod would), not one still booting
        tally.problems.append(f"{name}: the follower {follower.name} is not serving")
    before = kube.get_deployment_raw(ns, name)["metadata"].get("generation", 0)
    inject(ns, name)
    runs_of = lambda: [r for r in store.runs.list(limit=1000) if r.target.namespace == ns and r.target.name == name]  # noqa: E731
    if rng.random() < 0.5:  # a moment after the run exists: in the restart, or in the wait for health
        _wait(runs_of, 60)
        time.sleep(rng.uniform(0.0, 2.0))
    else:  # a moment after the fault: maybe before anything was decided
        time.sleep(rng.uniform(0.5, 4.0))
    sizes = {r.id: len(store.runs.journal(r.id)) for r in runs_of() if r.status == RunStatus.running}
    _check_forwarding(follower, leader.name, tally, name)
    old_term, paused_at = int((leader.health() or {}).get("term") or 0), utcnow()
    t_kill = time.monotonic()
    if pause:
        assert leader.proc is not None
        os.killpg(leader.proc.pid, signal.SIGSTOP)
    else:
        leader.kill()
    status, _, body = follower.post("/api/v1/rules/reload")
    if not pause and (status != 503 or "not the leader" not in body):
        tally.problems.append(f"{name}: a mutating call on the follower right after the kill: {status} {body[:100]}")
    if _wait(follower.leading, 60, 0.05):
        tally.failover_s.append(time.monotonic() - t_kill)
    else:
        tally.problems.append(f"{name}: the follower did not take over within 60 s")
    if not pause:
        leader.start()  # back as a follower
    for run_id, size in sizes.items():
        def moved(run_id: str = run_id, size: int = size) -> bool:
            run = store.runs.get(run_id)
            return len(store.runs.journal(run_id)) > size or (run is not None and run.status != RunStatus.running)
        if _wait(moved, 60, 0.05):
            tally.resume_s.append(time.monotonic() - t_kill)
    if pause:
        _wake(leader, store, tally, name, [r.id for r in runs_of()], old_term, paused_at)
    _settle(store, kube, ns, name, before, tally, t_kill)


def _check_forwarding(follower: Replica, leader: str, tally: Tally, name: str) -> None:
    status, served_by, body = follower.post("/api/v1/rules/reload")
    if status != 202 or served_by != leader:
        tally.problems.append(f"{name}: a rules reload on the follower: {status} from {served_by!r}: {body[:100]}")


def _wake(old: Replica, store: Store, tally: Tally, name: str, runs: list[str], term: int, paused_at: datetime,
          ) -> None:
    """SIGCONT the paused old leader: it must exit with 3 without writing under its old term."""
    assert old.proc is not None
    tally.pauses += 1
    os.killpg(old.proc.pid, signal.SIGCONT)
    try:
        code = old.proc.wait(60)
    except subprocess.TimeoutExpired:
        code = None
        tally.problems.append(f"{name}: the woken old leader did not exit within 60 s")
        old.kill()
    if code != 3:
        tally.problems.append(f"{name}: the woken old leader exited with {code}, not 3 (leadership lost)")
    stale = [e for run_id in runs for e in store.runs.journal(run_id) if e.term == term and e.at >= paused_at]
    if stale:
        tally.problems.append(f"{name}: the old leader journaled {len(stale)} rows after it was paused")
    tally.stale_writes += len(stale)
    old.start()


def _settle(store: Store, kube: KubeClient, ns: str, name: str, before: int, tally: Tally, t_kill: float) -> None:
    def incidents() -> list[Any]:
        return [i for i in store.incidents.list(limit=1000) if i.target.namespace == ns and i.target.name == name]

    closed = _wait(lambda: incidents() and all(i.status.closed for i in incidents()),
                   max(1.0, SETTLE_S - (time.monotonic() - t_kill)), 0.25)
    if not closed:
        tally.stuck_incidents += sum(1 for i in incidents() if not i.status.closed)
        tally.problems.append(f"{name}: incidents {[(i.id, i.status.value) for i in incidents()]}")
    generation = int(kube.get_deployment_raw(ns, name)["metadata"].get("generation", 0))
    restarts = [a for a in store.audit.list(limit=1000) if a.action == "kubernetes.rollout_restart"
                and a.target_key.endswith(f"/{ns}/{name}") and a.result == "ok"]
    duplicates = max(generation - int(before) - 1, len(restarts) - 1, 0)
    if duplicates:
        tally.problems.append(f"{name}: generation {before} -> {generation}, {len(restarts)} restarts audited")
    tally.duplicate_mutations += duplicates
    acted = [r for r in store.decisions.list(limit=1000)
             if r.decision.target.name == name and r.verdict is not None and r.verdict.allowed]
    runs = {r.id: r for r in store.runs.list(limit=1000) if r.target.name == name and r.target.namespace == ns}
    lost = [d.decision.id for d in acted if d.decision.id not in runs]
    lost += [r.id for r in runs.values() if r.status not in (RunStatus.succeeded, RunStatus.failed)]
    if lost:
        tally.problems.append(f"{name}: runs lost or unfinished: {lost}")
    tally.lost_runs += len(lost)


def fresh_database(url: str) -> tuple[str, Any]:
    """A new empty database on the server of `url` (so earlier runs' cooldowns and runs do not count), and a
    function that drops it; without the right to create one, `url` itself and a no-op."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    parsed = make_url(url).set(drivername="postgresql+psycopg")
    name = f"tagent_failover_{os.getpid()}_{int(time.time())}"
    admin = create_engine(parsed, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except SQLAlchemyError:
        admin.dispose()
        return url, lambda: None

    def drop() -> None:
        try:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        finally:
            admin.dispose()

    return parsed.set(database=name).render_as_string(hide_password=False), drop
