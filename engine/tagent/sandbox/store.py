"""Objects, resourceVersions and the watch history: the sandbox's etcd.

One lock guards everything, and every write bumps one global resourceVersion and appends the change to
a bounded history, so a watch can resume from any version the history still holds and gets 410 Expired
for an older one, as from a real API server after compaction.

Objects are indexed by namespace and by controller owner (uid), so the controllers' "pods of this
ReplicaSet" and "ReplicaSets of this Deployment" cost what they return, not the size of the store
(linear controllers at thousands of workloads, issue 14).
"""

from __future__ import annotations

import builtins
import json
import secrets
import threading
import uuid
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tagent.sandbox import apierrors
from tagent.sandbox.clock import SandboxClock, rfc3339
from tagent.sandbox.kinds import ResourceType

Obj = dict[str, Any]
Key = tuple[str, str]  # (namespace or "", name)
_SUFFIX = "bcdfghjklmnpqrstvwxz2456789"


@dataclass(frozen=True)
class Change:
    rv: int
    key: str  # ResourceType.key
    type: str  # ADDED | MODIFIED | DELETED
    obj: Obj


def clone(obj: Obj) -> Obj:
    """A deep copy of a JSON object (several times faster than copy.deepcopy)."""
    copied: Obj = json.loads(json.dumps(obj))
    return copied


def prune_nulls(value: Any) -> Any:
    """Drop null fields, as decoding into the API types does (`creationTimestamp: null` from Go clients)."""
    if isinstance(value, dict):
        return {k: prune_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [prune_nulls(v) for v in value]
    return value


def random_suffix(n: int = 5) -> str:
    return "".join(secrets.choice(_SUFFIX) for _ in range(n))


class Store:
    """Stored objects are never changed in place (every write stores a new dict), so the history and the
    internal readers (`peek`, `items`) can share them; `get`, `find` and `list` hand out copies."""

    def __init__(self, clock: SandboxClock, history: int = 5000) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self._objects: dict[str, dict[Key, Obj]] = defaultdict(dict)
        # resource key -> namespace -> keys, and resource key -> controller uid -> keys (insertion-ordered)
        self._by_ns: dict[str, dict[str, dict[Key, None]]] = defaultdict(lambda: defaultdict(dict))
        self._by_owner: dict[str, dict[str, dict[Key, None]]] = defaultdict(lambda: defaultdict(dict))
        self._rv = 0
        self._history: deque[Change] = deque(maxlen=history)
        self._oldest = 0  # the history holds every change with rv > _oldest
        self._listeners: list[Callable[[Change], None]] = []

    # -- reading ---------------------------------------------------------------------------------
    @property
    def rv(self) -> int:
        return self._rv

    def get(self, rt: ResourceType, namespace: str, name: str) -> Obj:
        with self.lock:
            obj = self._objects[rt.key].get((namespace if rt.namespaced else "", name))
            if obj is None:
                raise apierrors.not_found(rt.plural, name, rt.group)
            return clone(obj)

    def find(self, rt: ResourceType, namespace: str, name: str) -> Obj | None:
        with self.lock:
            obj = self._objects[rt.key].get((namespace if rt.namespaced else "", name))
            return clone(obj) if obj is not None else None

    def peek(self, rt: ResourceType, namespace: str, name: str) -> Obj | None:
        """The stored object itself, for internal readers that never modify it."""
        return self._objects[rt.key].get((namespace if rt.namespaced else "", name))

    def items(self, rt: ResourceType, namespace: str | None = None,
              pred: Callable[[Obj], bool] | None = None) -> builtins.list[Obj]:
        """The stored objects themselves (in creation order), for internal readers that never modify them."""
        with self.lock:
            objects = self._objects[rt.key]
            if namespace and rt.namespaced:
                found = [objects[k] for k in self._by_ns[rt.key].get(namespace, ())]
            elif namespace:
                found = [o for (ns, _), o in objects.items() if ns == namespace]
            else:
                found = list(objects.values())
            return found if pred is None else [o for o in found if pred(o)]

    def count(self, rt: ResourceType) -> int:
        return len(self._objects[rt.key])

    def owned(self, rt: ResourceType, owner_uid: str) -> builtins.list[Obj]:
        """The stored objects whose controller ownerReference names `owner_uid` (in creation order)."""
        with self.lock:
            objects = self._objects[rt.key]
            return [objects[k] for k in self._by_owner[rt.key].get(owner_uid, ())]

    def list(self, rt: ResourceType, namespace: str | None = None,
             pred: Callable[[Obj], bool] | None = None) -> tuple[list[Obj], int]:
        """Matching objects sorted by namespace and name, and the list's resourceVersion."""
        with self.lock:
            found = sorted(self.items(rt, namespace, pred),
                           key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
            return [clone(o) for o in found], self._rv

    def subscribe(self, listener: Callable[[Change], None]) -> None:
        self._listeners.append(listener)

    # -- indexes ---------------------------------------------------------------------------------
    def _index(self, rt: ResourceType, key: Key, obj: Obj) -> None:
        self._by_ns[rt.key][key[0]][key] = None
        for uid in _controllers(obj):
            self._by_owner[rt.key][uid][key] = None

    def _unindex(self, rt: ResourceType, key: Key, obj: Obj, *, namespace: bool = True) -> None:
        if namespace:
            _discard(self._by_ns[rt.key], key[0], key)
        for uid in _controllers(obj):
            _discard(self._by_owner[rt.key], uid, key)

    # -- writing ---------------------------------------------------------------------------------
    def _record(self, rt: ResourceType, kind: str, obj: Obj) -> Obj:
        self._rv += 1
        obj["metadata"]["resourceVersion"] = str(self._rv)
        if len(self._history) == self._history.maxlen:
            self._oldest = self._history[0].rv
        change = Change(self._rv, rt.key, kind, obj)
        self._history.append(change)
        self.changed.notify_all()
        for listener in self._listeners:
            listener(change)
        return obj

    def create(self, rt: ResourceType, obj: Obj) -> Obj:
        with self.lock:
            obj = prune_nulls(obj)
            obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
            meta = obj.setdefault("metadata", {})
            if not meta.get("name") and meta.get("generateName"):
                meta["name"] = meta["generateName"] + random_suffix()
                while (meta.get("namespace", ""), meta["name"]) in self._objects[rt.key]:
                    meta["name"] = meta["generateName"] + random_suffix()
            name = meta.get("name") or ""
            ns = meta.get("namespace", "") if rt.namespaced else ""
            if rt.namespaced and not ns:
                raise apierrors.ApiError(400, "the namespace of the object must be set")
            if (ns, name) in self._objects[rt.key]:
                raise apierrors.already_exists(rt.plural, name, rt.group)
            meta["uid"] = str(uuid.uuid4())
            meta.setdefault("creationTimestamp", rfc3339(self.clock.now()))
            if "spec" in obj and rt.group == "apps":
                meta["generation"] = 1
            self._objects[rt.key][(ns, name)] = obj
            self._index(rt, (ns, name), obj)
            return self._record(rt, "ADDED", obj)

    def replace(self, rt: ResourceType, obj: Obj, check_rv: bool = True) -> Obj:
        """Full update (PUT). A stale metadata.resourceVersion is a 409 Conflict, as in Kubernetes."""
        with self.lock:
            meta = obj.get("metadata") or {}
            ns = meta.get("namespace", "") if rt.namespaced else ""
            key = (ns, meta.get("name", ""))
            old = self._objects[rt.key].get(key)
            if old is None:
                raise apierrors.not_found(rt.plural, key[1], rt.group)
            given = meta.get("resourceVersion")
            if check_rv and given and given != old["metadata"]["resourceVersion"]:
                raise apierrors.conflict(rt.plural, key[1])
            new = prune_nulls(obj)
            new["apiVersion"], new["kind"] = rt.api_version, rt.kind
            for field in ("uid", "creationTimestamp", "generation", "ownerReferences"):
                if field in old["metadata"] and field not in new["metadata"]:
                    new["metadata"][field] = old["metadata"][field]
            new["metadata"]["uid"] = old["metadata"]["uid"]
            if "generation" in old["metadata"]:  # the server's, never the client's (as in kube-apiserver)
                changed = _canon(old.get("spec")) != _canon(new.get("spec"))
                new["metadata"]["generation"] = old["metadata"]["generation"] + (1 if changed else 0)
            if _same(new, old):
                return old
            self._objects[rt.key][key] = new
            if _controllers(old) != _controllers(new):
                self._unindex(rt, key, old, namespace=False)
                self._index(rt, key, new)
            return self._record(rt, "MODIFIED", new)

    def mutate(self, rt: ResourceType, namespace: str, name: str, fn: Callable[[Obj], None]) -> Obj | None:
        """Apply `fn` to a copy of the object and store it if it changed; None when it is gone."""
        with self.lock:
            old = self._objects[rt.key].get((namespace if rt.namespaced else "", name))
            if old is None:
                return None
            new = clone(old)
            fn(new)
            return self.replace(rt, new, check_rv=False)

    def set_status(self, rt: ResourceType, namespace: str, name: str, status: Obj) -> None:
        """Write `status` unless it is already the stored one (controllers call this every tick)."""
        with self.lock:
            key = (namespace if rt.namespaced else "", name)
            current = self._objects[rt.key].get(key)
            if current is None or current.get("status") == status:
                return
            # only the status changes: no spec comparison, no deep copy of the rest (stored objects are
            # never changed in place, so the new one may share them); `status` itself is the caller's
            new = {**current, "metadata": dict(current["metadata"]), "status": prune_nulls(status)}
            self._objects[rt.key][key] = new
            self._record(rt, "MODIFIED", new)

    def delete(self, rt: ResourceType, namespace: str, name: str) -> Obj:
        with self.lock:
            key = (namespace if rt.namespaced else "", name)
            obj = self._objects[rt.key].pop(key, None)
            if obj is None:
                raise apierrors.not_found(rt.plural, name, rt.group)
            self._unindex(rt, key, obj)
            return self._record(rt, "DELETED", obj)

    # -- watching --------------------------------------------------------------------------------
    def changes_since(self, rv: int, key: str) -> builtins.list[Change]:
        """Changes of one resource type newer than `rv`; 410 when the history no longer reaches it."""
        with self.lock:
            if rv < self._oldest:
                raise apierrors.expired(f"too old resource version: {rv} ({self._oldest + 1})")
            found = []
            for change in reversed(self._history):  # watchers are usually near the head
                if change.rv <= rv:
                    break
                if change.key == key:
                    found.append(change)
            found.reverse()
            return found

    def wait_for_change(self, rv: int, timeout: float) -> int:
        """Block until the global resourceVersion passes `rv` or `timeout` (wall seconds) ends."""
        with self.changed:
            if self._rv <= rv:
                self.changed.wait(timeout)
            return self._rv

    def compact(self) -> int:
        """Forget the whole history (as etcd compaction does); returns the compacted revision."""
        with self.lock:
            self._history.clear()
            self._oldest = self._rv
            return self._rv


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _same(a: Obj, b: Obj) -> bool:
    """Equal apart from metadata.resourceVersion (a write that changes nothing is not recorded)."""
    strip = lambda o: {**o, "metadata": {k: v for k, v in o["metadata"].items() if k != "resourceVersion"}}  # noqa: E731
    return _canon(strip(a)) == _canon(strip(b))


def _controllers(obj: Obj) -> tuple[str, ...]:
    """The uids named by the object's controller ownerReferences (normally none or one)."""
    return tuple(str(r.get("uid")) for r in obj["metadata"].get("ownerReferences") or []
                 if isinstance(r, dict) and r.get("controller") and r.get("uid"))


def _discard(index: dict[str, dict[Key, None]], bucket: str, key: Key) -> None:
    keys = index.get(bucket)
    if keys is not None:
        keys.pop(key, None)
        if not keys:
            del index[bucket]
