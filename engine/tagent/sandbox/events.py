"""The event recorder: core/v1 Events with the same de-duplication (count, lastTimestamp) as client-go."""

from __future__ import annotations

from datetime import timedelta

from tagent.sandbox import kinds
from tagent.sandbox.clock import SandboxClock, parse_time, rfc3339
from tagent.sandbox.store import Obj, Store, random_suffix

COMPONENTS = {"Pod": "kubelet", "Deployment": "deployment-controller", "ReplicaSet": "replicaset-controller",
              "StatefulSet": "statefulset-controller", "Node": "kubelet"}
TTL = timedelta(hours=1)  # the API server's default event TTL


class EventRecorder:
    def __init__(self, store: Store, clock: SandboxClock) -> None:
        self.store, self.clock = store, clock
        self.enabled = True
        self._names: dict[tuple[str, str, str, str], str] = {}

    def record(self, obj: Obj, type_: str, reason: str, message: str, field_path: str | None = None) -> None:
        """Record (or count again) an event about `obj`; a no-op while the cluster is being bootstrapped."""
        if not self.enabled:
            return
        meta = obj["metadata"]
        ns = meta.get("namespace") or "default"
        now = rfc3339(self.clock.now())
        key = (ns, meta.get("uid", ""), reason, message)
        with self.store.lock:
            name = self._names.get(key)
            if name is not None:
                def bump(ev: Obj) -> None:
                    ev["count"] = int(ev.get("count", 1)) + 1
                    ev["lastTimestamp"] = now
                if self.store.mutate(kinds.EVENTS, ns, name, bump) is not None:
                    return
            involved = {"kind": obj.get("kind", ""), "namespace": meta.get("namespace", ""), "name": meta["name"],
                        "uid": meta.get("uid", ""), "apiVersion": obj.get("apiVersion", "v1"),
                        "resourceVersion": meta.get("resourceVersion", "")}
            if field_path:
                involved["fieldPath"] = field_path
            component = COMPONENTS.get(obj.get("kind", ""), "sandbox")
            source = {"component": component}
            if obj.get("kind") == "Pod" and obj.get("spec", {}).get("nodeName"):
                source["host"] = obj["spec"]["nodeName"]
            event = {
                "metadata": {"name": f"{meta['name']}.{random_suffix(8)}{random_suffix(8)}", "namespace": ns},
                "involvedObject": involved, "reason": reason, "message": message, "type": type_,
                "count": 1, "firstTimestamp": now, "lastTimestamp": now,
                "source": source, "reportingComponent": component, "reportingInstance": source.get("host", ""),
            }
            created = self.store.create(kinds.EVENTS, event)
            self._names[key] = created["metadata"]["name"]

    def expire(self) -> None:
        """Delete events not seen for an hour of sandbox time."""
        cutoff = self.clock.now() - TTL
        with self.store.lock:
            items = self.store.items(kinds.EVENTS)
            for ev in items:
                if parse_time(ev["lastTimestamp"]) < cutoff:
                    self.store.delete(kinds.EVENTS, ev["metadata"]["namespace"], ev["metadata"]["name"])
            live = {(e["metadata"]["namespace"], e["metadata"]["name"]) for e in self.store.items(kinds.EVENTS)}
            self._names = {k: v for k, v in self._names.items() if (k[0], v) in live}

