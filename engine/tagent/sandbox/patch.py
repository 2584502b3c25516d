"""The three PATCH content types Kubernetes accepts: strategic merge, JSON merge (RFC 7386), JSON patch (6902).

Strategic merge is reduced to what clients send for the served kinds: maps merge, `null` deletes, lists of
named things (containers, env, ports, volumes, conditions) merge by their key, other lists are replaced,
and the `$patch`/`$setElementOrder`/`$retainKeys` directives are honoured or ignored as harmless.
"""

from __future__ import annotations

import copy
from typing import Any

from tagent.sandbox.apierrors import ApiError

STRATEGIC = "application/strategic-merge-patch+json"
MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
APPLY = "application/apply-patch+yaml"
CONTENT_TYPES = (STRATEGIC, MERGE, JSON_PATCH)

# list field name -> merge key (the patchMergeKey tags of the Kubernetes types used here)
MERGE_KEYS = {
    "containers": "name", "initContainers": "name", "ephemeralContainers": "name", "env": "name",
    "volumes": "name", "volumeMounts": "mountPath", "ports": "containerPort", "conditions": "type",
    "imagePullSecrets": "name", "ownerReferences": "uid", "tolerations": "key", "hostAliases": "ip",
}


def apply_patch(content_type: str, target: dict[str, Any], patch: Any) -> dict[str, Any]:
    """Return the patched copy of `target`; ApiError 415 for an unknown type, 422/400 for a bad patch."""
    kind = content_type.split(";")[0].strip().lower()
    if kind == JSON_PATCH:
        if not isinstance(patch, list):
            raise ApiError(400, "a json patch must be a list of operations")
        return json_patch(target, patch)
    if not isinstance(patch, dict) and kind in (STRATEGIC, MERGE):
        raise ApiError(400, "a merge patch must be a JSON object")
    if kind == MERGE:
        return merge_patch(target, patch)
    if kind == STRATEGIC:
        return strategic_merge(target, patch)
    raise ApiError(415, f"the body of the request was in an unknown format - accepted media types include: "
                        f"{', '.join(CONTENT_TYPES)}", "UnsupportedMediaType")


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def strategic_merge(target: Any, patch: Any, field: str = "") -> Any:
    if isinstance(patch, list):
        return _merge_list(target, patch, field)
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$setElementOrder/") or key in ("$retainKeys", "$patch"):
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            name = key.split("/", 1)[1]
            result[name] = [v for v in result.get(name) or [] if v not in value]
            continue
        if value is None:
            result.pop(key, None)
        else:
            result[key] = strategic_merge(result.get(key), value, key)
    return result


def _merge_list(target: Any, patch: list[Any], field: str) -> list[Any]:
    key = MERGE_KEYS.get(field)
    if key is None or not all(isinstance(p, dict) for p in patch):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, list) else []
    for item in patch:
        if item.get("$patch") == "replace":
            return [copy.deepcopy(p) for p in patch if p.get("$patch") != "replace"]
        index = next((i for i, cur in enumerate(result) if isinstance(cur, dict) and cur.get(key) == item.get(key)),
                     None)
        if item.get("$patch") == "delete":
            if index is not None:
                result.pop(index)
        elif index is None:
            result.append({k: v for k, v in item.items() if k != "$patch"})
        else:
            result[index] = strategic_merge(result[index], item)
    return result


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise ApiError(422, f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _parent(doc: Any, parts: list[str], path: str) -> Any:
    cur = doc
    for part in parts[:-1]:
        try:
            cur = cur[int(part)] if isinstance(cur, list) else cur[part]
        except (KeyError, IndexError, ValueError, TypeError) as exc:
            raise ApiError(422, f"json patch: path {path!r} does not exist") from exc
    return cur


def _get(doc: Any, path: str) -> Any:
    parts = _pointer(path)
    if not parts:
        return doc
    parent, last = _parent(doc, parts, path), parts[-1]
    try:
        return parent[int(last)] if isinstance(parent, list) else parent[last]
    except (KeyError, IndexError, ValueError, TypeError) as exc:
        raise ApiError(422, f"json patch: path {path!r} does not exist") from exc


def _remove(doc: Any, path: str) -> Any:
    parts = _pointer(path)
    parent, last = _parent(doc, parts, path), parts[-1]
    try:
        return parent.pop(int(last)) if isinstance(parent, list) else parent.pop(last)
    except (KeyError, IndexError, ValueError, TypeError) as exc:
        raise ApiError(422, f"json patch: cannot remove {path!r}: it does not exist") from exc


def _add(doc: Any, path: str, value: Any, replace: bool = False) -> Any:
    parts = _pointer(path)
    if not parts:
        return copy.deepcopy(value)
    parent, last = _parent(doc, parts, path), parts[-1]
    if isinstance(parent, list):
        if last == "-" and not replace:
            parent.append(copy.deepcopy(value))
            return doc
        try:
            index = int(last)
            if replace:
                parent[index] = copy.deepcopy(value)
            elif 0 <= index <= len(parent):
                parent.insert(index, copy.deepcopy(value))
            else:
                raise IndexError(index)
        except (ValueError, IndexError) as exc:
            raise ApiError(422, f"json patch: bad array index in {path!r}") from exc
    elif isinstance(parent, dict):
        if replace and last not in parent:
            raise ApiError(422, f"json patch: cannot replace {path!r}: it does not exist")
        parent[last] = copy.deepcopy(value)
    else:
        raise ApiError(422, f"json patch: path {path!r} does not exist")
    return doc


def json_patch(target: dict[str, Any], ops: list[Any]) -> Any:
    doc: Any = copy.deepcopy(target)
    for op in ops:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise ApiError(400, "a json patch operation needs `op` and `path`")
        name, path = op["op"], op["path"]
        if name in ("add", "replace", "test") and "value" not in op:
            raise ApiError(400, f"json patch operation {name!r} needs a value")
        if name == "add":
            doc = _add(doc, path, op["value"])
        elif name == "replace":
            doc = _add(doc, path, op["value"], replace=True)
        elif name == "remove":
            _remove(doc, path)
        elif name in ("move", "copy"):
            value = _remove(doc, op["from"]) if name == "move" else copy.deepcopy(_get(doc, op["from"]))
            doc = _add(doc, path, value)
        elif name == "test":
            if _get(doc, path) != op["value"]:
                raise ApiError(422, f"json patch: test failed at {path!r}")
        else:
            raise ApiError(400, f"unknown json patch operation {name!r}")
    return doc
