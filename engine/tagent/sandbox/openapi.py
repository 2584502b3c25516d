"""A minimal OpenAPI v3 index: just enough for kubectl to learn that the server validates fields itself.

`kubectl apply|create -f` validates by default; it first asks /openapi/v3 whether PATCH of the kind
takes the `fieldValidation` parameter, and if so leaves validation to the server (which the sandbox
does in `validate.py`). Without this document kubectl refuses with "failed to download openapi".
"""

from __future__ import annotations

from typing import Any

from tagent.sandbox import kinds


def _gv_path(group: str, version: str) -> str:
    return f"api/{version}" if not group else f"apis/{group}/{version}"


def root() -> dict[str, Any]:
    gvs = {(t.group, t.version) for t in kinds.TYPES}
    return {"paths": {_gv_path(g, v): {"serverRelativeURL": f"/openapi/v3/{_gv_path(g, v)}"} for g, v in sorted(gvs)}}


def group_version(path: str) -> dict[str, Any] | None:
    """The document of one group version (`api/v1`, `apis/apps/v1`), or None if not served."""
    paths: dict[str, Any] = {}
    for t in kinds.TYPES:
        if _gv_path(t.group, t.version) != path:
            continue
        prefix = f"/{path}/namespaces/{{namespace}}" if t.namespaced else f"/{path}"
        gvk = {"group": t.group, "version": t.version, "kind": t.kind}
        params = [{"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": True}}]
        verbs: dict[str, Any] = {}
        if "patch" in t.verbs:
            verbs["patch"] = {"x-kubernetes-group-version-kind": gvk, "x-kubernetes-action": "patch",
                              "parameters": params, "responses": {"200": {"description": "OK"}}}
        if "update" in t.verbs:
            verbs["put"] = {"x-kubernetes-group-version-kind": gvk, "x-kubernetes-action": "put",
                            "parameters": params, "responses": {"200": {"description": "OK"}}}
        if verbs:
            paths[f"{prefix}/{t.plural}/{{name}}"] = verbs
        if "create" in t.verbs:
            paths[f"{prefix}/{t.plural}"] = {"post": {
                "x-kubernetes-group-version-kind": gvk, "x-kubernetes-action": "post", "parameters": params,
                "responses": {"201": {"description": "Created"}}}}
    if not paths:
        return None
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes (tagent sandbox)", "version": "v1.32.0"},
            "paths": paths, "components": {"schemas": {}}}
