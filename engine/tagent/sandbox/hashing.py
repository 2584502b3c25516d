"""Stable short hashes: pod-template-hash, controller-revision-hash and the "code" fingerprint of a revision."""

from __future__ import annotations

import hashlib
import json
from typing import Any

_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"


def normalized(value: Any) -> Any:
    """Without nulls, empty maps and empty lists: the zero values Go clients add or drop at will."""
    if isinstance(value, dict):
        out = {k: normalized(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not None and v != {} and v != []}
    if isinstance(value, list):
        return [normalized(v) for v in value]
    return value


def short_hash(value: Any, length: int = 10) -> str:
    digest = hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":")).encode()).digest()
    return "".join(_ALPHABET[b % len(_ALPHABET)] for b in digest[:length])


_memo: dict[tuple[str, str], str] = {}
MEMO_SIZE = 50_000


def workload_hash(obj: dict[str, Any]) -> str:
    """template_hash of a stored workload, memoised by (uid, generation): the template is part of the spec,
    and every spec change bumps the generation (status and annotation writes do not, so thousands of
    workloads whose status moves keep their memo); by resourceVersion for an object without generation."""
    meta = obj["metadata"]
    generation = meta.get("generation")
    key = (str(meta.get("uid", "")), f"g{generation}" if generation is not None else
           str(meta.get("resourceVersion", "")))
    found = _memo.get(key)
    if found is None:
        if len(_memo) > MEMO_SIZE:
            _memo.clear()
        found = _memo[key] = template_hash(obj["spec"]["template"])
    return found


def template_hash(template: dict[str, Any]) -> str:
    """The pod-template-hash of a Deployment template (or the revision of a StatefulSet template)."""
    labels = {k: v for k, v in ((template.get("metadata") or {}).get("labels") or {}).items()
              if k not in ("pod-template-hash", "controller-revision-hash")}
    meta = {**(template.get("metadata") or {}), "labels": labels}
    return short_hash(normalized({**template, "metadata": meta}))


def code_hash(pod_spec: dict[str, Any]) -> str:
    """What the containers run (images, commands, env): unchanged by a rollout restart, changed by a deploy.

    A bad deploy marks this fingerprint, so restarting does not cure it while rolling back does.
    """
    parts = [{k: c.get(k) for k in ("name", "image", "command", "args", "env")}
             for c in pod_spec.get("containers") or []]
    return short_hash(normalized(parts))
