"""Faults: what goes wrong, and what it is a property of.

- `crashloop` belongs to the workload's current revision (pod-template-hash): pods of that ReplicaSet
  crash soon after they start, replacements too; a rollout restart (a new revision) cures it.
- `bad-deploy` rolls out a new version whose code is marked bad: its pods serve a share of 500s. The
  mark is on the code (images, env), so a restart keeps it and a rollback to the previous version cures it.
- `oom`: the working set grows towards 1.5x the memory limit it had when injected; pods are OOMKilled
  while their limit is below that. `error-spike`: the running version starts answering a share of 500s (a
  latent bug meeting real traffic): it is bound to that version's code, so a restart keeps it and a rollback
  to another version cures it. `load`: more requests and CPU.
  `idle`: almost nothing. `latency`: every request of the workload takes `ms` longer (a slow dependency, a
  lock, a full GC), and so does every request of its callers, which wait for it (the scenario's `calls`).
  `heal` clears every fault of the workload, bad code included.
- `bad-image` rolls out a new version whose image tag does not exist: its pods wait in ErrImagePull and
  ImagePullBackOff (retried with back-off) while the old pods keep serving; a rollback cures it.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from tagent.sandbox import kinds
from tagent.sandbox.apierrors import ApiError
from tagent.sandbox.clock import SandboxClock, rfc3339
from tagent.sandbox.hashing import code_hash, template_hash
from tagent.sandbox.quantities import parse_quantity
from tagent.sandbox.scenario import FAULTS
from tagent.sandbox.store import Obj, Store

PARAMS: dict[str, dict[str, tuple[float, float, float]]] = {  # fault -> param -> (default, min, max)
    "crashloop": {"after": (2.0, 0.0, 3600.0)},  # sandbox seconds a container runs before it crashes
    "oom": {"factor": (1.5, 1.01, 100.0), "ramp": (20.0, 1.0, 3600.0)},
    "error-spike": {"rate": (0.3, 0.0, 1.0)},
    "bad-deploy": {"rate": (0.6, 0.0, 1.0)},
    "load": {"factor": (5.0, 1.0, 1000.0)},
    "idle": {"factor": (0.02, 0.0, 1.0)},
    "latency": {"ms": (1000.0, 0.0, 60000.0)},  # added to each request, and to each request of the callers
    "bad-image": {},
    "heal": {},
}
MISSING_TAG = "-does-not-exist"  # appended to the image tag by `bad-image`


@dataclass
class Fault:
    name: str
    namespace: str
    workload: str
    kind: str
    params: dict[str, float]
    injected_at: datetime
    revision: str | None = None  # the template hash a crashloop is bound to; the code hash for an error-spike
    oom_peak: float | None = None  # bytes

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["injected_at"] = rfc3339(self.injected_at)
        return data


@dataclass(frozen=True)
class Effects:
    """What the faults mean for one pod right now."""

    crash_after: float | None = None
    oom_peak: float | None = None
    oom_ramp: float = 20.0
    error_share: float = 0.0
    load: float = 1.0
    bad_code: bool = False
    missing_images: frozenset[str] = frozenset()  # images of the workload that cannot be pulled
    delay_s: float = 0.0  # a `latency` fault of this workload: added to each request
    downstream_s: float = 0.0  # what the workloads it calls (transitively) add through their `latency` faults


Callees = dict[tuple[str, str], tuple[tuple[str, str], ...]]  # (namespace, workload) -> what a request calls


@dataclass
class FaultBook:
    calls: Callees = field(default_factory=dict)  # the scenario's call graph, for `latency` faults of callees
    faults: dict[tuple[str, str], dict[str, Fault]] = field(default_factory=dict)
    bad_code: dict[tuple[str, str], dict[str, float]] = field(default_factory=dict)  # -> code hash -> rate
    missing_images: dict[tuple[str, str], set[str]] = field(default_factory=dict)  # -> images no pull finds

    def active(self) -> list[Fault]:
        return [f for per in self.faults.values() for f in per.values()]

    def delay(self, namespace: str, workload: str) -> float:
        """Seconds a `latency` fault adds to each request of the workload itself."""
        fault = self.faults.get((namespace, workload), {}).get("latency")
        return fault.params["ms"] / 1000.0 if fault is not None else 0.0

    def downstream(self, namespace: str, workload: str, _seen: frozenset[tuple[str, str]] = frozenset()) -> float:
        """Seconds the `latency` faults of the workloads a request calls (and theirs, ...) add to it: calls
        are made in turn, so the delays add up (a cycle in the call graph is followed once)."""
        total = 0.0
        seen = _seen | {(namespace, workload)}
        for callee in self.calls.get((namespace, workload), ()):
            if callee not in seen:
                total += self.delay(*callee) + self.downstream(*callee, seen)
        return total

    def effects(self, namespace: str, workload: str, revision: str, code: str) -> Effects:
        per = self.faults.get((namespace, workload), {})
        crash = per.get("crashloop")
        oom = per.get("oom")
        bad_rate = self.bad_code.get((namespace, workload), {}).get(code)
        spike = per.get("error-spike")
        share = spike.params["rate"] if spike is not None and spike.revision == code else 0.0
        if bad_rate is not None:
            share = max(share, bad_rate)
        load = 1.0
        if "load" in per:
            load = per["load"].params["factor"]
        elif "idle" in per:
            load = per["idle"].params["factor"]
        return Effects(
            crash_after=crash.params["after"] if crash and crash.revision == revision else None,
            oom_peak=oom.oom_peak if oom else None, oom_ramp=oom.params["ramp"] if oom else 20.0,
            error_share=share, load=load, bad_code=bad_rate is not None,
            missing_images=frozenset(self.missing_images.get((namespace, workload), ())),
            delay_s=self.delay(namespace, workload),
            downstream_s=self.downstream(namespace, workload) if self.faults else 0.0)


def check_params(fault: str, params: dict[str, Any]) -> dict[str, float]:
    if fault not in FAULTS:
        raise ApiError(422, f"unknown fault {fault!r}: use one of {', '.join(FAULTS)}")
    spec = PARAMS[fault]
    unknown = sorted(set(params) - set(spec))
    if unknown:
        raise ApiError(422, f"fault {fault!r} takes no parameter {unknown[0]!r} (known: {', '.join(spec) or 'none'})")
    out: dict[str, float] = {}
    for name, (default, low, high) in spec.items():
        value = params.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            raise ApiError(422, f"fault {fault!r}: {name} must be a number in [{low}, {high}]")
        out[name] = float(value)
    return out


class Injector:
    """Applies faults to workloads in the store (called under the store lock)."""

    def __init__(self, store: Store, clock: SandboxClock, book: FaultBook) -> None:
        self.store, self.clock, self.book = store, clock, book

    def find_workload(self, namespace: str, name: str) -> Obj:
        for rt in (kinds.DEPLOYMENTS, kinds.STATEFULSETS):
            obj = self.store.find(rt, namespace, name)
            if obj is not None:
                return obj
        raise ApiError(404, f'no deployment or statefulset "{name}" in namespace "{namespace}"', "NotFound")

    def inject(self, fault: str, namespace: str, name: str, params: dict[str, Any] | None = None) -> Fault:
        values = check_params(fault, params or {})
        with self.store.lock:
            wl = self.find_workload(namespace, name)
            key = (namespace, name)
            record = Fault(fault, namespace, name, wl["kind"], values, self.clock.now())
            per = self.book.faults.setdefault(key, {})
            if fault == "heal":
                self.book.faults.pop(key, None)
                self.book.bad_code.pop(key, None)
                self.book.missing_images.pop(key, None)
                return record
            if fault == "crashloop":  # a StatefulSet's pods carry controller-revision-hash NAME-HASH
                revision = template_hash(wl["spec"]["template"])
                record.revision = revision if wl["kind"] == "Deployment" else f"{name}-{revision}"
            elif fault == "error-spike":
                record.revision = code_hash(wl["spec"]["template"]["spec"])
            elif fault == "oom":
                record.oom_peak = memory_limit(wl) * values["factor"]
            elif fault == "bad-deploy":
                template, cause = bad_deploy_template(wl["spec"]["template"], name)
                self._roll_out(wl, template, cause)
                self.book.bad_code.setdefault(key, {})[code_hash(template["spec"])] = values["rate"]
            elif fault == "bad-image":
                template, cause, images = bad_image_template(wl["spec"]["template"], name)
                self._roll_out(wl, template, cause)
                self.book.missing_images.setdefault(key, set()).update(images)
            elif fault in ("load", "idle"):
                per.pop("idle" if fault == "load" else "load", None)
            if fault not in ("bad-deploy", "bad-image"):
                per[fault] = record
            return record

    def _roll_out(self, wl: Obj, template: Obj, cause: str) -> None:
        """Roll out `template` (a new version of the workload), recording why as the change-cause."""
        rt = kinds.DEPLOYMENTS if wl["kind"] == "Deployment" else kinds.STATEFULSETS

        def change(obj: Obj) -> None:
            obj["spec"]["template"] = template
            obj["metadata"].setdefault("annotations", {})["kubernetes.io/change-cause"] = cause

        self.store.mutate(rt, wl["metadata"]["namespace"], wl["metadata"]["name"], change)


def bad_deploy_template(template: Obj, name: str) -> tuple[Obj, str]:
    """The next version of a workload's pod template (APP_VERSION bumped) and its change-cause."""
    template = copy.deepcopy(template)
    version = "1.0.0"
    for c in template["spec"]["containers"]:
        env = c.setdefault("env", [])
        current = next((e for e in env if e.get("name") == "APP_VERSION"), None)
        version = _next_version(current.get("value", "1.0.0") if current else "1.0.0")
        if current:
            current["value"] = version
        else:
            env.append({"name": "APP_VERSION", "value": version})
    return template, f"deploy {name} {version}"


def bad_image_template(template: Obj, name: str) -> tuple[Obj, str, set[str]]:
    """The pod template with the first container's image tag changed to one no registry has."""
    template = copy.deepcopy(template)
    c = template["spec"]["containers"][0]
    image = str(c.get("image") or "app")
    repo, sep, tag = image.rpartition(":")
    if not sep or "/" in tag:  # no tag (a registry port is not a tag)
        repo, tag = image, "latest"
    c["image"] = f"{repo}:{tag.removesuffix(MISSING_TAG)}{MISSING_TAG}"
    return template, f"deploy {name} {c['image']}", {c["image"]}


def memory_limit(wl: Obj) -> float:
    c = wl["spec"]["template"]["spec"]["containers"][0]
    res = c.get("resources") or {}
    text = (res.get("limits") or {}).get("memory") or (res.get("requests") or {}).get("memory") or "256Mi"
    return parse_quantity(text)


def _next_version(version: str) -> str:
    parts = version.split(".")
    if parts and parts[-1].isdigit():
        parts[-1] = str(int(parts[-1]) + 1)
        return ".".join(parts)
    return version + ".1"
