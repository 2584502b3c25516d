"""The simulation: store, controllers, kubelet, faults and the scenario script, advanced by one thread.

The loop ticks every TICK wall seconds and at once after any API write (a "kick"), so a patch is
observed by the controllers within milliseconds while an idle cluster costs almost nothing.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from datetime import datetime, timedelta
from typing import Any

from tagent.sandbox import defaults, kinds, objects, traffic
from tagent.sandbox.apierrors import ApiError
from tagent.sandbox.clock import SandboxClock, rfc3339
from tagent.sandbox.controllers import Controllers, is_ready
from tagent.sandbox.events import EventRecorder
from tagent.sandbox.faults import Fault, FaultBook, Injector
from tagent.sandbox.kubelet import Kubelet
from tagent.sandbox.scenario import Scenario
from tagent.sandbox.selectors import matches_selector
from tagent.sandbox.statefulsets import StatefulSetController
from tagent.sandbox.store import Store
from tagent.sandbox.tracing import Tracing

log = logging.getLogger("tagent.sandbox")
TICK = 0.1  # wall seconds between ticks when nothing happens
EXPIRE_EVERY = 60.0  # sandbox seconds between event expiry sweeps
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


class Simulation:
    def __init__(self, clock: SandboxClock, scenario: Scenario, seed: int | None = None) -> None:
        self.clock, self.scenario = clock, scenario
        self.store = Store(clock)
        self.recorder = EventRecorder(self.store, clock)
        self.profiles = {(w.namespace, w.name): w for w in scenario.spec.workloads}
        self.book = FaultBook(calls={key: w.callees() for key, w in self.profiles.items() if w.calls})
        self.kubelet = Kubelet(self.store, self.recorder, self.book, self.profiles, seed)
        self.controllers = Controllers(self.store, self.recorder, self._created_at)
        self.statefulsets = StatefulSetController(self.store, self.recorder, self._created_at)
        self.injector = Injector(self.store, clock, self.book)
        self._rng = random.Random(seed)
        self._bootstrapping = False
        self._last = clock.now()
        self._next_expiry = EXPIRE_EVERY
        self._script = sorted(scenario.spec.script, key=lambda s: s.at)
        self._kick = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.tracing: Tracing | None = None  # spans of the simulated requests, once `trace()` names an exporter
        self.store.subscribe(lambda change: None if change.key == kinds.EVENTS.key else self._kick.set())

    def _created_at(self) -> str:
        now = self.clock.now()
        if self._bootstrapping:
            return rfc3339(now - timedelta(hours=self._rng.uniform(30, 70)))
        return rfc3339(now)

    # -- building the initial cluster ----------------------------------------------------------------
    def populate(self) -> None:
        """Create the scenario's objects and settle them: pods already running, no start-up events."""
        now = self.clock.now()
        old, older = rfc3339(now - timedelta(days=30)), rfc3339(now - timedelta(days=14))
        spec = self.scenario.spec
        with self.store.lock:
            names = list(dict.fromkeys([*SYSTEM_NAMESPACES, *spec.namespaces, *(w.namespace for w in spec.workloads)]))
            for ns in names:
                self.store.create(kinds.NAMESPACES, objects.namespace(ns, old))
            for i, n in enumerate(spec.nodes):
                self.store.create(kinds.NODES, objects.node(n.name, f"10.0.0.{10 + i}", n.cpu, n.memory, n.pods,
                                                            n.zone, old, rfc3339(now), control_plane=i == 0))
            for i, w in enumerate(spec.workloads):
                labels = {"app": w.name, "app.kubernetes.io/name": w.name, **w.labels}
                c = objects.container(w.name, w.image, w.port, w.requests.as_dict(), w.limits.as_dict(), w.version)
                template = objects.pod_template(labels, [c])
                build = objects.deployment if w.kind == "Deployment" else objects.statefulset
                rt = kinds.DEPLOYMENTS if w.kind == "Deployment" else kinds.STATEFULSETS
                self.store.create(rt, defaults.apply(rt, build(w.name, w.namespace, labels, w.replicas, template,
                                                               older)))
                if w.port:
                    self.store.create(kinds.SERVICES, objects.service(w.name, w.namespace, labels, w.port,
                                                                      f"10.96.{i // 200}.{10 + i % 200}", older))
                if w.min_available is not None:
                    self.store.create(kinds.PDBS, objects.pdb(w.name, w.namespace, w.name, w.min_available, older))
            self.store.create(kinds.SERVICES, {"metadata": {"name": "kubernetes", "namespace": "default",
                                                            "labels": {"component": "apiserver"},
                                                            "creationTimestamp": old},
                                               "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.1",
                                                        "ports": [{"name": "https", "port": 443,
                                                                   "targetPort": 6443, "protocol": "TCP"}]},
                                               "status": {"loadBalancer": {}}})
            self._bootstrapping, self.recorder.enabled = True, False
            try:
                for _ in range(50):
                    before = self.store.rv
                    self.tick(bootstrap=True)
                    if self.store.rv == before:
                        break
            finally:
                self._bootstrapping, self.recorder.enabled = False, True

    # -- the loop ------------------------------------------------------------------------------------
    def tick(self, bootstrap: bool = False) -> None:
        with self.store.lock, traffic.population(self._pod_count):
            now = self.clock.now()
            dt = max(0.0, (now - self._last).total_seconds())
            self._last = now
            self.controllers.tick()
            self.statefulsets.tick()
            self.kubelet.tick(now, dt, bootstrap)
            self.controllers.collect_garbage()
            self._update_pdbs()
            self._run_script()
            if self.clock.elapsed() >= self._next_expiry:
                self._next_expiry = self.clock.elapsed() + EXPIRE_EVERY
                self.recorder.expire()
            if self.tracing is not None and not bootstrap:
                self._trace(now, dt)

    def _trace(self, now: datetime, dt: float) -> None:
        assert self.tracing is not None
        try:
            self.tracing.tick(self.kubelet.pods.values(), self.kubelet.effects, self.profiles, now, dt,
                              self.clock.speed)
        except Exception:  # spans are a view of the simulation: a bug there must not stop the cluster
            log.exception("sandbox tracing failed")

    def _pod_count(self) -> int:
        return self.store.count(kinds.PODS)

    def _run_script(self) -> None:
        while self._script and self._script[0].at <= self.clock.elapsed():
            step = self._script.pop(0)
            ns, name = step.target.split("/", 1)
            try:
                self.injector.inject(step.fault, ns, name, dict(step.params))
                log.info("scenario: injected %s into %s", step.fault, step.target)
            except ApiError as exc:
                log.warning("scenario: cannot inject %s into %s: %s", step.fault, step.target, exc.message)

    def _update_pdbs(self) -> None:
        for pdb in self.store.items(kinds.PDBS):
            ns = pdb["metadata"]["namespace"]
            mine = [p for p in self.store.items(kinds.PODS, ns)
                    if matches_selector(pdb["spec"].get("selector") or {}, p["metadata"].get("labels") or {})]
            healthy = sum(1 for p in mine if is_ready(p))
            desired = int(pdb["spec"].get("minAvailable", 0) or 0)
            status = {"currentHealthy": healthy, "desiredHealthy": desired, "expectedPods": len(mine),
                      "disruptionsAllowed": max(0, healthy - desired),
                      "observedGeneration": pdb["metadata"].get("generation", 1)}
            self.store.set_status(kinds.PDBS, ns, pdb["metadata"]["name"], status)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._kick.wait(TICK)
            self._kick.clear()
            try:
                self.tick()
            except Exception:  # a simulation bug must not kill the API; it is logged with its traceback
                log.exception("sandbox simulation tick failed")
            time.sleep(0.005)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="sandbox-simulation", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._kick.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self.tracing is not None:
            self.tracing.shutdown()

    def inject(self, fault: str, namespace: str, name: str, params: dict[str, Any] | None = None) -> Fault:
        record = self.injector.inject(fault, namespace, name, params)
        self._kick.set()
        return record
