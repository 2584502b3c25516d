"""Faults on the real control plane: the same faults as the emulator (`tagent.sandbox.faults`), recorded
where any client can see them and the simulated kubelet watches them.

The record is the ConfigMap `tagent-sandbox/sandbox-faults`, one key per workload (`NAMESPACE.NAME`) holding
JSON: `{"faults": {name: Fault}, "badCode": {code hash: error rate}, "missingImages": [image, ...]}`.
Faults that are a new version (`bad-deploy`, `bad-image`) also change the workload's pod template through
the API, as a deploy does, so the real deployment controller rolls them out and `kubectl rollout undo`
(a template change back) cures them; the others leave the workload alone. A `crashloop` is bound to the
workload's current revision: the pod-template-hash of its newest ReplicaSet (a StatefulSet's
updateRevision), so a rollout restart (a new revision) cures it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from tagent.clients.kubernetes import KubeClient
from tagent.clients.kubernetes.mutations import MERGE
from tagent.errors import PermanentError, TransientError, ValidationError
from tagent.sandbox.apierrors import ApiError
from tagent.sandbox.faults import Fault, FaultBook, bad_deploy_template, bad_image_template, check_params, memory_limit
from tagent.sandbox.hashing import code_hash

NAMESPACE = "tagent-sandbox"
CONFIGMAP = "sandbox-faults"
REVISION = "deployment.kubernetes.io/revision"


def book_from(data: dict[str, str], book: FaultBook | None = None) -> FaultBook:
    """Fill `book` (cleared first) from the ConfigMap's data; malformed entries are skipped."""
    book = book if book is not None else FaultBook()
    book.faults.clear()
    book.bad_code.clear()
    book.missing_images.clear()
    for raw in data.values():
        try:
            entry = json.loads(raw)
            faults = [_fault(f) for f in (entry.get("faults") or {}).values()]
            key = (str(entry.get("namespace", "")), str(entry.get("workload", "")))
            bad = {str(k): float(v) for k, v in (entry.get("badCode") or {}).items()}
            missing = {str(i) for i in entry.get("missingImages") or []}
        except (ValueError, TypeError, KeyError, AttributeError):
            continue  # not written by an injector: skipped, as a kubelet skips what it cannot read
        for f in faults:
            book.faults.setdefault((f.namespace, f.workload), {})[f.name] = f
        if bad:
            book.bad_code[key] = bad
        if missing:
            book.missing_images[key] = missing
    return book


def _fault(data: dict[str, Any]) -> Fault:
    return Fault(name=str(data["name"]), namespace=str(data["namespace"]), workload=str(data["workload"]),
                 kind=str(data["kind"]), params={str(k): float(v) for k, v in data["params"].items()},
                 injected_at=datetime.fromisoformat(str(data["injected_at"]).replace("Z", "+00:00")),
                 revision=data.get("revision"), oom_peak=data.get("oom_peak"))


class RealFaults:
    """Inject and list faults through the API server (any client with write access to the workloads)."""

    def __init__(self, kube: KubeClient) -> None:
        self.kube = kube

    def active(self) -> list[dict[str, Any]]:
        book = book_from(self._data())
        return [f.as_dict() for f in book.active()]

    def inject(self, fault: str, namespace: str, name: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        try:
            values = check_params(fault, params or {})
        except ApiError as exc:
            raise ValidationError(exc.message) from exc
        kind, wl = self._workload(namespace, name)
        record = Fault(fault, namespace, name, kind, values, datetime.now(UTC))
        extra: dict[str, Any] = {}
        if fault == "crashloop":
            record.revision = self._revision(kind, wl)
        elif fault == "error-spike":
            record.revision = code_hash(wl["spec"]["template"]["spec"])
        elif fault == "oom":
            record.oom_peak = memory_limit(wl) * values["factor"]
        elif fault == "bad-deploy":  # a new version, rolled out by the real controllers, whose code is bad
            template, cause = bad_deploy_template(wl["spec"]["template"], name)
            self._roll_out(kind, namespace, name, template, cause)
            extra["badCode"] = {code_hash(template["spec"]): values["rate"]}
        elif fault == "bad-image":  # a new version whose image no registry has
            template, cause, images = bad_image_template(wl["spec"]["template"], name)
            self._roll_out(kind, namespace, name, template, cause)
            extra["missingImages"] = sorted(images)

        def change(entry: dict[str, Any]) -> dict[str, Any] | None:
            if fault == "heal":
                return None
            faults = entry.setdefault("faults", {})
            if fault in ("load", "idle"):
                faults.pop("idle" if fault == "load" else "load", None)
            if "badCode" in extra:
                entry["badCode"] = {**entry.get("badCode", {}), **extra["badCode"]}
            elif "missingImages" in extra:
                entry["missingImages"] = sorted({*entry.get("missingImages", []), *extra["missingImages"]})
            else:
                faults[fault] = record.as_dict()
            return entry

        self._update(f"{namespace}.{name}", namespace, name, change)
        return {**record.as_dict(), "kind": kind}

    # -- the workload --------------------------------------------------------------------------------
    def _workload(self, namespace: str, name: str) -> tuple[str, dict[str, Any]]:
        for kind, read in (("Deployment", self.kube.apps.read_namespaced_deployment),
                           ("StatefulSet", self.kube.apps.read_namespaced_stateful_set)):
            try:
                return kind, self.kube.call_json(f"read {kind} {namespace}/{name}", read, name, namespace)
            except PermanentError as exc:
                if "HTTP 404" not in str(exc):
                    raise
        raise ValidationError(f'no deployment or statefulset "{name}" in namespace "{namespace}"')

    def _revision(self, kind: str, wl: dict[str, Any]) -> str:
        meta = wl["metadata"]
        if kind == "StatefulSet":
            revision = str((wl.get("status") or {}).get("updateRevision") or "")
        else:
            wanted = (meta.get("annotations") or {}).get(REVISION)
            items, _ = self.kube.list_raw("replicasets", meta["namespace"],
                                          (wl["spec"]["selector"] or {}).get("matchLabels") or None)
            owned = [rs for rs in items if any(r.get("uid") == meta["uid"]
                                               for r in rs["metadata"].get("ownerReferences") or [])
                     and (rs["metadata"].get("annotations") or {}).get(REVISION) == wanted]
            revision = str(owned[0]["metadata"]["labels"].get("pod-template-hash", "")) if owned else ""
        if not revision:
            raise ValidationError(f"{kind.lower()}/{meta['name']} has no rolled-out revision yet; try again shortly")
        return revision

    def _roll_out(self, kind: str, namespace: str, name: str, template: dict[str, Any], cause: str) -> None:
        patch = {"metadata": {"annotations": {"kubernetes.io/change-cause": cause}}, "spec": {"template": template}}
        func = (self.kube.apps.patch_namespaced_deployment if kind == "Deployment"
                else self.kube.apps.patch_namespaced_stateful_set)
        self.kube.call_json(f"roll out {kind} {namespace}/{name}", func, name, namespace, patch, _content_type=MERGE)

    # -- the record ----------------------------------------------------------------------------------
    def _data(self) -> dict[str, str]:
        try:
            cm = self.kube.call_json("read the fault record", self.kube.core.read_namespaced_config_map,
                                     CONFIGMAP, NAMESPACE)
        except PermanentError as exc:
            if "HTTP 404" in str(exc):
                return {}
            raise
        return dict(cm.get("data") or {})

    def _update(self, key: str, namespace: str, name: str,
                change: Callable[[dict[str, Any]], dict[str, Any] | None]) -> None:
        """Read-modify-write of one key, retried on a conflict (another injector wrote in between)."""
        for _ in range(10):
            try:
                cm = self.kube.call_json("read the fault record", self.kube.core.read_namespaced_config_map,
                                         CONFIGMAP, NAMESPACE)
            except PermanentError as exc:
                if "HTTP 404" not in str(exc):
                    raise
                cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": CONFIGMAP, "namespace": NAMESPACE}}
                self.kube.call_json("create the fault record", self.kube.core.create_namespaced_config_map,
                                    NAMESPACE, cm)
                continue
            data = dict(cm.get("data") or {})
            entry = json.loads(data.get(key) or "{}")
            entry.update(namespace=namespace, workload=name)
            new = change(entry)
            if new is None:
                data.pop(key, None)
            else:
                data[key] = json.dumps(new, sort_keys=True)
            cm["data"] = data
            try:
                self.kube.call_json("write the fault record", self.kube.core.replace_namespaced_config_map,
                                    CONFIGMAP, NAMESPACE, cm)
                return
            except TransientError as exc:
                if "HTTP 409" not in str(exc):
                    raise
        raise PermanentError("the fault record kept changing under us (10 conflicts); try again")
