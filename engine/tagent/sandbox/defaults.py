"""Defaulting, as kube-apiserver does it when it decodes a write (SetDefaults_* of core/v1 and apps/v1): the
fields a Go client never omits (`resources: {}`) and the ones the server fills in (`imagePullPolicy`,
`terminationMessagePath`, a Deployment's strategy ...). Without it, a template written by kubectl (Go structs)
and the same template written by a Python client differ in the store although the API server would store
them identically: `kubectl rollout undo` and the engine's undo would leave different templates."""

from __future__ import annotations

from typing import Any

from tagent.sandbox.kinds import ResourceType

Obj = dict[str, Any]
_PROBE = {"timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3}


def apply(rt: ResourceType, obj: Obj) -> Obj:
    """Fill in the server's defaults in place (idempotent); returns `obj`."""
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return obj
    if rt.kind == "Pod":
        pod_spec(spec)
    elif rt.kind in ("Deployment", "ReplicaSet", "StatefulSet"):
        spec.setdefault("replicas", 1)
        template = spec.get("template")
        if isinstance(template, dict) and isinstance(template.get("spec"), dict):
            pod_spec(template["spec"])
        if rt.kind == "Deployment":
            _deployment(spec)
        elif rt.kind == "StatefulSet":
            _statefulset(spec)
    return obj


def _deployment(spec: Obj) -> None:
    strategy = spec.setdefault("strategy", {})
    if isinstance(strategy, dict):
        strategy.setdefault("type", "RollingUpdate")
        if strategy["type"] == "RollingUpdate":
            rolling = strategy.setdefault("rollingUpdate", {})
            if isinstance(rolling, dict):
                rolling.setdefault("maxUnavailable", "25%")
                rolling.setdefault("maxSurge", "25%")
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)


def _statefulset(spec: Obj) -> None:
    spec.setdefault("podManagementPolicy", "OrderedReady")
    strategy = spec.setdefault("updateStrategy", {})
    if isinstance(strategy, dict):
        if not strategy.get("type"):  # only a missing type brings a rollingUpdate with it (kubectl shows it)
            strategy["type"] = "RollingUpdate"
            strategy.setdefault("rollingUpdate", {})
        rolling = strategy.get("rollingUpdate")
        if strategy["type"] == "RollingUpdate" and isinstance(rolling, dict):
            rolling.setdefault("partition", 0)
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("persistentVolumeClaimRetentionPolicy", {"whenDeleted": "Retain", "whenScaled": "Retain"})


def pod_spec(spec: Obj) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    for key in ("initContainers", "containers"):
        found = spec.get(key)
        for c in found if isinstance(found, list) else []:
            if isinstance(c, dict):
                _container(c)


def _container(c: Obj) -> None:
    c.setdefault("terminationMessagePath", "/dev/termination-log")
    c.setdefault("terminationMessagePolicy", "File")
    c.setdefault("imagePullPolicy", pull_policy(str(c.get("image") or "")))
    c.setdefault("resources", {})
    ports = c.get("ports")
    for port in ports if isinstance(ports, list) else []:
        if isinstance(port, dict):
            port.setdefault("protocol", "TCP")
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        found = c.get(probe)
        if isinstance(found, dict):
            for k, v in _PROBE.items():
                found.setdefault(k, v)
            if isinstance(found.get("httpGet"), dict):
                found["httpGet"].setdefault("scheme", "HTTP")


def pull_policy(image: str) -> str:
    """Always for `:latest` or an untagged image (without a digest), else IfNotPresent."""
    if "@" in image:
        return "IfNotPresent"
    last = image.rsplit("/", 1)[-1]
    tag = last.split(":", 1)[1] if ":" in last else ""
    return "Always" if tag in ("", "latest") else "IfNotPresent"
