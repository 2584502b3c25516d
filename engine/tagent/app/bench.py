"""The incidents benchmark (`tagent bench incidents`): a storm through the real engine parts.

An Engine built by the composition root (`build_engine`: detector, incident lifecycle, guard, store,
playbooks, outbox) on a cluster the caller provides (the CLI starts a sandbox with `--workloads` Deployments),
its dispatcher running as in `tagent run` (sources off: the storm is the only input). `--decisions` CrashLoopBackOff
events are spread over the workloads and offered at `rate` events/s (0: all at once); each one matches the
bench rule, so each is a decision. The bench rule's playbook restarts the workload (a real PATCH), so every
workload's first decision acts and the others join its incident in its cooldown.

Measured: decisions/s (decisions / time from the first event offered to the last decision admitted),
ingest → incident latency per decision (from `Engine.ingest` to its admission transaction committed),
incidents opened (must equal the distinct workloads), actions (mutations in the audit log once the runs
drained), RSS. Numbers are printed, never asserted.
"""

from __future__ import annotations

import os
import platform
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psutil

from tagent.app.build import build_engine
from tagent.app.engine import Engine, freeze_startup_heap
from tagent.incidents import Admitted
from tagent.model import Decision, Event, EventSource, WorkloadRef
from tagent.settings import Settings
from tagent.store import RunStatus, Store

RULE = """apiVersion: tagent.io/v1
kind: Rule
metadata: {name: bench-crashloop}
spec:
  severity: warning
  when: {kubernetes: {reason: CrashLoopBackOff}}
  then: {playbook: bench-restart}
  mode: auto
  cooldown: 10m
"""
PLAYBOOK = """apiVersion: tagent.io/v1
kind: Playbook
metadata: {name: bench-restart}
spec:
  steps:
    - name: restart
      action: kubernetes.rollout_restart
      with: {namespace: '{{ target.namespace }}', name: '{{ target.name }}'}
"""


def _pack(root: Path) -> Path:
    (root / "rules").mkdir(parents=True, exist_ok=True)
    (root / "playbooks").mkdir(exist_ok=True)
    (root / "rules" / "bench.yaml").write_text(RULE)
    (root / "playbooks" / "bench.yaml").write_text(PLAYBOOK)
    return root


def _pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def run_incidents_bench(kubeconfig: Path, workloads: Sequence[WorkloadRef], *, decisions: int = 2000,
                        db_url: str | None = None, rate: float = 0.0, drain_timeout: float = 120.0) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="tagent-bench-incidents-") as tmp:
        root = Path(tmp)
        settings = Settings(rules=str(_pack(root / "pack")), kubeconfig=kubeconfig, data_dir=root / "data",
                            db_url=db_url, rate_limit_global_per_hour=1_000_000,
                            rate_limit_namespace_per_hour=1_000_000, blast_radius_workloads_per_window=1_000_000,
                            restart_min_interval=0, draft_on_unmatched=False, call_grace=0)
        store = Store.from_settings(settings)
        engine = build_engine(settings, store=store)
        try:
            return _measure(engine, workloads, decisions, rate, drain_timeout, db_url)
        finally:
            engine.stop(timeout=10)
            store.close()
            engine.kube.close()


def _measure(engine: Engine, workloads: Sequence[WorkloadRef], decisions: int, rate: float, drain_timeout: float,
             db_url: str | None) -> dict[str, Any]:
    assert engine.incidents is not None
    offered: dict[str, float] = {}
    latencies: list[float] = []
    done = threading.Event()
    lock = threading.Lock()
    handle = engine.incidents.handle_batch

    def timed(items: Sequence[tuple[Decision, Sequence[Event]]], events: Sequence[Event] = ()) -> Admitted:
        admitted = handle(items, events)
        now = time.monotonic()
        with lock:
            for decision, _ in items:
                started = offered.get(decision.event_ids[0]) if decision.event_ids else None
                if started is not None:
                    latencies.append(now - started)
            if len(latencies) >= decisions:
                done.set()
        return admitted

    engine.incidents.handle_batch = timed  # type: ignore[method-assign]
    rss_start = psutil.Process().memory_info().rss / 1e6
    load_start, cpu_start = os.getloadavg()[0], time.process_time()
    engine.start(sources=False)
    freeze_startup_heap()  # as `tagent run` does
    events = [Event(source=EventSource.kubernetes, kind="PodState", reason="CrashLoopBackOff",
                    target=workloads[n % len(workloads)], labels={"container": "app"}, values={"restarts": float(n)},
                    message=f"container app: CrashLoopBackOff (restarts {n})") for n in range(decisions)]
    first = time.monotonic()
    for n, event in enumerate(events):
        if rate > 0:
            pause = first + n / rate - time.monotonic()
            if pause > 0:
                time.sleep(pause)
        with lock:
            offered[event.id] = time.monotonic()
        engine.ingest(event)
    finished = done.wait(600)
    wall = time.monotonic() - first
    drained = engine.incidents.drain(drain_timeout)
    store = engine.store
    runs = store.runs.list(limit=10_000)
    incidents = store.incidents.list(limit=10_000)
    mutations = [a for a in store.audit.list(limit=10_000) if a.result == "ok"]
    return {
        "decisions": len(latencies), "complete": finished, "decisions_per_s": round(len(latencies) / wall, 1),
        "ingest_to_incident_p50_ms": round(_pct(latencies, 0.5) * 1000, 1),
        "ingest_to_incident_p99_ms": round(_pct(latencies, 0.99) * 1000, 1),
        "ingest_to_incident_max_ms": round(max(latencies, default=0) * 1000, 1),
        "workloads": len(workloads), "incidents_opened": len(incidents),
        "incidents_open_after_drain": sum(1 for i in incidents if not i.status.closed),
        "runs": len(runs), "runs_succeeded": sum(1 for r in runs if r.status == RunStatus.succeeded),
        "runs_drained": drained, "actions": len(mutations), "offered_rate": rate or "burst",
        "rss_mb_start": round(rss_start, 1), "rss_mb_end": round(psutil.Process().memory_info().rss / 1e6, 1),
        "wall_s": round(wall, 2), "cpu_s": round(time.process_time() - cpu_start, 2),
        "load_avg_start": round(load_start, 2), "load_avg_end": round(os.getloadavg()[0], 2),
        "database": "postgresql" if db_url and db_url.startswith("postgresql") else "sqlite",
        "python": platform.python_version(), "cpus": os.cpu_count(),
        "note": "decisions_per_s: decisions / (first event offered -> last decision admitted); latency: Engine.ingest "
                "-> the admission transaction of its batch committed; actions: ok mutations in the audit log",
    }
