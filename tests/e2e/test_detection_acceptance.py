"""Issue 9's acceptance, against the sandbox: every default rule fires on its injected fault within 5 s
(wall clock) of its condition holding in the cluster (for a `for:` window, of the window's end on the
sandbox clock) and never without it.

One sandbox at 120x and one Engine built as `tagent run` builds it (sources → detect → guard → handler),
shared by the tests in order: first a healthy run longer than the longest `for:` window (1 h of sandbox
time) that must give no decision at all, then one fault per rule on its own workload, then a check that
every decision the run produced is explained by a fault on its target.

Observables: what matching decided (`FiredLog`, around `Engine.process`) and what the guard admitted (the
store). Both are needed: the incident manager folds a decision into another rule's open incident on the
same workload without asking the guard (a bad deploy's 500s also match error-spike-rollback; whichever
source reports first opens the incident), so the store alone would miss a rule that did fire. When a
condition starts to hold is found by probes that watch the cluster through the Kubernetes API (and the
sandbox's /metrics), independently of the engine.

The 5 s bound is the acceptance criterion itself (measured ~1 s; see the report printed at the end).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from kubernetes import client, config

from tagent.app.engine import Engine
from tagent.clients.exposition import ExpositionClient
from tagent.model import WorkloadRef
from tagent.sandbox import Sandbox
from tagent.sandbox.quantities import parse_quantity
from tests.e2e.helpers import FiredLog, Probe, SandboxTime, admitted, sandbox_engine, wait_for

pytestmark = pytest.mark.xdist_group("e2e-acceptance")

SPEED = 120.0  # 1 h of sandbox time in 30 s
BOUND_S = 5.0  # the acceptance: detection within 5 s wall clock
HEALTHY = timedelta(minutes=62)  # longer than the longest `for:` window of the default pack (idle, 1 h)
LATENCIES: dict[str, dict[str, Any]] = {}


@dataclass
class Cluster:
    sandbox: Sandbox
    engine: Engine
    fired: FiredLog
    core: client.CoreV1Api
    custom: client.CustomObjectsApi
    faults: dict[str, set[str]] = field(default_factory=dict)  # target key -> faults injected on it

    def inject(self, fault: str, target: WorkloadRef) -> datetime:
        self.faults.setdefault(target.key, set()).add(fault)
        self.sandbox.inject(fault, target.namespace, target.name)
        return self.sandbox.clock.now()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    tmp = tmp_path_factory.mktemp("acceptance")
    sandbox = Sandbox(speed=SPEED).start()
    engine = sandbox_engine(sandbox, tmp)
    fired = FiredLog(engine)
    api = config.new_client_from_config(config_file=str(tmp / "kubeconfig"))
    engine.start()
    try:
        yield Cluster(sandbox, engine, fired, client.CoreV1Api(api), client.CustomObjectsApi(api))
    finally:
        engine.stop()
        engine.store.close()
        api.close()
        sandbox.stop()


# -- what "the condition holds" means, read from the cluster -------------------------------------------

def _pods(c: Cluster, t: WorkloadRef) -> list[Any]:
    items: list[Any] = c.core.list_namespaced_pod(t.namespace, label_selector=f"app={t.name}").items
    return [p for p in items if p.metadata.deletion_timestamp is None]


def crashlooping(c: Cluster, t: WorkloadRef) -> list[str]:
    return [p.metadata.name for p in _pods(c, t) for s in p.status.container_statuses or []
            if s.state and s.state.waiting and s.state.waiting.reason == "CrashLoopBackOff"]


def oom_killed(c: Cluster, t: WorkloadRef) -> list[str]:
    found = []
    for p in _pods(c, t):
        for s in p.status.container_statuses or []:
            for state in (s.state, s.last_state):
                if state and state.terminated and state.terminated.reason == "OOMKilled":
                    found.append(p.metadata.name)
    return found


def log_matches_last_minute(c: Cluster, t: WorkloadRef, rule: str) -> int:
    """Lines of the workload's logs over the last minute that match the rule's pattern (`" 500 `)."""
    spec = c.engine.ruleset.rules[rule].spec.when.conditions[0].logs
    assert spec is not None and spec.window == 60
    pattern = re.compile(spec.pattern)
    count = 0
    for p in _pods(c, t):
        text = c.core.read_namespaced_pod_log(p.metadata.name, t.namespace, since_seconds=60)
        count += sum(1 for line in text.splitlines() if pattern.search(line))
    return count


def cpu_utilization(c: Cluster, t: WorkloadRef) -> float | None:
    """Usage over requests, summed over the workload's pods (metrics.k8s.io and the pod specs)."""
    requests = {p.metadata.name: sum(parse_quantity(ct.resources.requests["cpu"]) for ct in p.spec.containers)
                for p in _pods(c, t) if p.status.phase == "Running"}
    listed: Any = c.custom.list_namespaced_custom_object("metrics.k8s.io", "v1beta1", t.namespace,
                                                       "pods", label_selector=f"app={t.name}")
    usage = listed["items"]
    used = [(sum(parse_quantity(ct["usage"]["cpu"]) for ct in m["containers"]), requests[m["metadata"]["name"]])
            for m in usage if m["metadata"]["name"] in requests]
    den = sum(r for _, r in used)
    return sum(u for u, _ in used) / den if den else None


class ErrorRatio:
    """5xx share of the requests a workload served since the probe started (from the sandbox's /metrics):
    it crosses a threshold no later than any windowed rate that also counts the calm before."""

    def __init__(self, c: Cluster, t: WorkloadRef) -> None:
        self.target = t
        self.scraper = ExpositionClient(f"{c.sandbox.metrics_url}/{t.namespace}")
        self.base = self._counters()

    def _counters(self) -> dict[tuple[str, str], float]:
        """(pod, code) -> requests served so far, summed over methods."""
        out: dict[tuple[str, str], float] = {}
        for s in self.scraper.scrape():
            if s.labels["__name__"] == "http_requests_total" and s.labels.get("deployment") == self.target.name:
                key = (s.labels["pod"], s.labels["code"])
                out[key] = out.get(key, 0.0) + s.value
        return out

    def __call__(self) -> float:
        total = errors = 0.0
        for key, value in self._counters().items():
            delta = value - self.base.get(key, 0.0)
            code = key[1]
            total += delta
            errors += delta if code.startswith("5") else 0.0
        return errors / total if total else 0.0


# -- the tests -----------------------------------------------------------------------------------------

def test_a_healthy_cluster_gives_no_decision(cluster: Cluster) -> None:
    engine, clock = cluster.engine, cluster.sandbox.clock
    assert engine.state.started_at is not None
    while clock.now() - engine.state.started_at < HEALTHY:
        assert cluster.fired.all() == [], "a decision on a healthy cluster"
        time.sleep(0.5)
    assert cluster.fired.all() == [] and engine.store.decisions.list(limit=5) == []
    assert engine.state.decisions == 0
    # the engine did look: current samples of every workload, all in the healthy range
    latest: dict[tuple[str, str], float] = {}
    for event in list(engine.state.recent.values()):
        if event.kind == "Metric":
            latest[event.reason, event.target.key] = event.values["value"]
    workloads = [w for w in cluster.sandbox.scenario.spec.workloads if w.namespace != "kube-system"]
    for w in workloads:
        key = f"{w.kind}/{w.namespace}/{w.name}"
        assert 0.1 < latest["cpu_utilization", key] < 0.7, (key, latest["cpu_utilization", key])
        if w.http:
            assert latest["error_rate", key] < 0.05, key
    assert engine.source_stats()["logs"].get("events", 0) == 0  # not one 500 in any log


@dataclass(frozen=True)
class Case:
    fault: str
    target: WorkloadRef
    rule: str
    window: timedelta  # the rule's `for:` (zero for an event)
    holds: Callable[[Cluster, WorkloadRef], Callable[[], Any]]  # builds the probe's check
    probe_every: float = 0.02


def _dep(namespace: str, name: str) -> WorkloadRef:
    return WorkloadRef(kind="Deployment", namespace=namespace, name=name)


CASES = [
    Case("crashloop", _dep("shop", "payment-service"), "crashloop-restart", timedelta(0),
         lambda c, t: lambda: crashlooping(c, t)),
    Case("oom", _dep("shop", "redis-cache"), "oomkilled-restart", timedelta(0), lambda c, t: lambda: oom_killed(c, t)),
    Case("error-spike", _dep("shop", "frontend"), "error-spike-rollback", timedelta(0),
         lambda c, t: lambda: log_matches_last_minute(c, t, "error-spike-rollback") > 10, probe_every=0.05),
    # the rollout starts at the injection (the template changes then); the error rate follows
    Case("bad-deploy", _dep("shop", "checkout"), "bad-deploy-rollback", timedelta(0),
         lambda c, t: (lambda ratio: lambda: ratio() > 0.05)(ErrorRatio(c, t)), probe_every=0.05),
    Case("load", _dep("shop", "cart"), "high-cpu-scale-up", timedelta(minutes=5),
         lambda c, t: lambda: (cpu_utilization(c, t) or 0.0) > 0.8),
    Case("idle", _dep("test", "test-env"), "idle-scale-down", timedelta(hours=1),
         lambda c, t: lambda: (v := cpu_utilization(c, t)) is not None and v < 0.05),
]


@pytest.mark.parametrize("case", CASES, ids=[c.fault for c in CASES])
def test_each_rule_fires_on_its_fault_within_5s(cluster: Cluster, case: Case) -> None:
    store, sandbox = cluster.engine.store, cluster.sandbox
    times = SandboxTime(sandbox)
    with Probe(sandbox, case.holds(cluster, case.target), case.fault, case.probe_every) as probe:
        injected_at = cluster.inject(case.fault, case.target)
        held = probe.wait(timeout=20)
    window_end = held.since + case.window
    first = wait_for(lambda: cluster.fired.of(case.rule, case.target),
                     timeout=case.window.total_seconds() / SPEED + 30, what=f"{case.rule} on {case.target}")[0]
    # and the guard let a response to the fault through (this rule's, or the one it was folded into)
    response = wait_for(lambda: [r for rule in ALLOWED[case.fault]
                                 for r in admitted(store, rule, case.target, since=injected_at)],
                        timeout=10, what=f"an admitted decision on {case.target}")
    latency = first.mono - times.wall(window_end)
    LATENCIES[case.rule] = {"latency_s": round(latency, 3), "window_s": case.window.total_seconds(),
                            "admitted": sorted({r.decision.rule for r in response})}
    sandbox.inject("heal", case.target.namespace, case.target.name)
    assert first.decision.decided_at >= window_end, "fired before its condition held for the whole window"
    assert latency < BOUND_S, LATENCIES[case.rule]


ALLOWED = {  # what a fault may rightly set off: repeated OOM kills back off as a crash loop; bad code serves 500s
    "crashloop": {"crashloop-restart"},
    "oom": {"oomkilled-restart", "crashloop-restart"},
    "error-spike": {"error-spike-rollback"},
    "bad-deploy": {"bad-deploy-rollback", "error-spike-rollback"},
    "load": {"high-cpu-scale-up"},
    "idle": {"idle-scale-down"},
}


def test_no_decision_without_its_fault(cluster: Cluster) -> None:
    decisions = [f.decision for f in cluster.fired.all()]
    decisions += [r.decision for r in cluster.engine.store.decisions.list(limit=1000)]
    assert decisions, "the faults above gave decisions"
    for d in decisions:
        expected = set().union(*(ALLOWED[f] for f in cluster.faults.get(d.target.key, ())))
        assert d.rule in expected, f"{d.rule} on {d.target} (faults there: {cluster.faults.get(d.target.key)})"
    print("\nacceptance latencies (wall s from the condition holding / the window's end):")
    for rule, row in sorted(LATENCIES.items()):
        print(f"  {rule:24} {row}")

