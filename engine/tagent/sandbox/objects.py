"""Builders for the objects the scenario and the controllers create, with every field the client requires."""

from __future__ import annotations

import copy
from typing import Any

from tagent.sandbox.selectors import selector_string

Obj = dict[str, Any]


def meta(name: str, namespace: str | None = None, labels: dict[str, str] | None = None,
         annotations: dict[str, str] | None = None, created: str | None = None) -> dict[str, Any]:
    m: dict[str, Any] = {"name": name}
    if namespace is not None:
        m["namespace"] = namespace
    if labels:
        m["labels"] = dict(labels)
    if annotations:
        m["annotations"] = dict(annotations)
    if created:
        m["creationTimestamp"] = created
    return m


def namespace(name: str, created: str | None = None) -> Obj:
    return {"metadata": meta(name, labels={"kubernetes.io/metadata.name": name}, created=created),
            "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}


def node(name: str, ip: str, cpu: str, memory: str, pods: str, zone: str, created: str, now: str,
         control_plane: bool = False) -> Obj:
    labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
              "topology.kubernetes.io/zone": zone}
    if control_plane:
        labels["node-role.kubernetes.io/control-plane"] = ""
    resources = {"cpu": cpu, "memory": memory, "pods": pods, "ephemeral-storage": "100Gi"}
    conditions = [
        {"type": t, "status": "False", "reason": r, "message": m, "lastHeartbeatTime": now,
         "lastTransitionTime": created}
        for t, r, m in (("MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                        ("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                        ("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"))]
    conditions.append({"type": "Ready", "status": "True", "reason": "KubeletReady",
                       "message": "kubelet is posting ready status", "lastHeartbeatTime": now,
                       "lastTransitionTime": created})
    return {
        "metadata": meta(name, labels=labels, created=created),
        "spec": {"podCIDR": f"10.244.{ip.rsplit('.', 1)[1]}.0/24"},
        "status": {
            "capacity": resources, "allocatable": dict(resources), "conditions": conditions,
            "addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}],
            "nodeInfo": {
                "architecture": "amd64", "bootID": f"boot-{name}", "containerRuntimeVersion": "containerd://1.7.22",
                "kernelVersion": "6.1.0-sandbox", "kubeProxyVersion": "v1.32.0", "kubeletVersion": "v1.32.0",
                "machineID": f"machine-{name}", "operatingSystem": "linux", "osImage": "Debian GNU/Linux 12 (bookworm)",
                "systemUUID": f"uuid-{name}",
            },
        },
    }


def container(name: str, image: str, port: int | None, requests: dict[str, str], limits: dict[str, str],
              version: str) -> Obj:
    c: Obj = {"name": name, "image": image, "imagePullPolicy": "IfNotPresent",
              "env": [{"name": "APP_VERSION", "value": version}],
              "resources": {k: v for k, v in (("requests", requests), ("limits", limits)) if v},
              "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"}
    if port:
        c["ports"] = [{"containerPort": port, "name": "http", "protocol": "TCP"}]
        c["readinessProbe"] = {"tcpSocket": {"port": port}, "periodSeconds": 5}
    return c


def pod_template(labels: dict[str, str], containers: list[Obj]) -> Obj:
    return {"metadata": {"labels": dict(labels)},
            "spec": {"containers": containers, "restartPolicy": "Always", "terminationGracePeriodSeconds": 30,
                     "dnsPolicy": "ClusterFirst", "schedulerName": "default-scheduler"}}


def deployment(name: str, ns: str, labels: dict[str, str], replicas: int, template: Obj, created: str) -> Obj:
    match = {"app": labels["app"]}
    return {"metadata": meta(name, ns, labels, created=created),
            "spec": {"replicas": replicas, "selector": {"matchLabels": match}, "template": template,
                     "strategy": {"type": "RollingUpdate",
                                  "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
                     "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600},
            "status": {}}


def statefulset(name: str, ns: str, labels: dict[str, str], replicas: int, template: Obj, created: str) -> Obj:
    return {"metadata": meta(name, ns, labels, created=created),
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": labels["app"]}},
                     "serviceName": name, "template": template, "podManagementPolicy": "OrderedReady",
                     "updateStrategy": {"type": "RollingUpdate"}},
            "status": {"replicas": 0}}


def service(name: str, ns: str, labels: dict[str, str], port: int, cluster_ip: str, created: str) -> Obj:
    return {"metadata": meta(name, ns, labels, created=created),
            "spec": {"type": "ClusterIP", "clusterIP": cluster_ip, "clusterIPs": [cluster_ip],
                     "selector": {"app": labels["app"]},
                     "ports": [{"name": "http", "port": port, "targetPort": port, "protocol": "TCP"}]},
            "status": {"loadBalancer": {}}}


def pdb(name: str, ns: str, app: str, min_available: int, created: str) -> Obj:
    return {"metadata": meta(name, ns, {"app": app}, created=created),
            "spec": {"minAvailable": min_available, "selector": {"matchLabels": {"app": app}}},
            "status": {"currentHealthy": 0, "desiredHealthy": min_available, "disruptionsAllowed": 0,
                       "expectedPods": 0}}


def owner_ref(owner: Obj) -> Obj:
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}


def replicaset(deploy: Obj, template_hash: str, revision: int, replicas: int) -> Obj:
    template = copy.deepcopy(deploy["spec"]["template"])
    template.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = template_hash
    selector = copy.deepcopy(deploy["spec"]["selector"])
    selector.setdefault("matchLabels", {})["pod-template-hash"] = template_hash
    name = deploy["metadata"]["name"]
    return {"metadata": {**meta(f"{name}-{template_hash}", deploy["metadata"]["namespace"],
                                template["metadata"]["labels"],
                                {"deployment.kubernetes.io/revision": str(revision),
                                 "deployment.kubernetes.io/desired-replicas": str(deploy["spec"].get("replicas", 1))}),
                         "ownerReferences": [owner_ref(deploy)]},
            "spec": {"replicas": replicas, "selector": selector, "template": template},
            "status": {"replicas": 0}}


def pod(owner: Obj, template: Obj, name: str | None, extra_labels: dict[str, str]) -> Obj:
    """A new pod from a template, owned by `owner` (generateName from the owner when `name` is None)."""
    tmeta = template.get("metadata") or {}
    labels = {**(tmeta.get("labels") or {}), **extra_labels}
    m = meta(name or "", owner["metadata"]["namespace"], labels, tmeta.get("annotations"))
    if name is None:
        m["generateName"] = owner["metadata"]["name"] + "-"
    m["ownerReferences"] = [owner_ref(owner)]
    spec = copy.deepcopy(template.get("spec") or {})
    spec.setdefault("serviceAccountName", "default")
    spec.setdefault("enableServiceLinks", True)
    return {"metadata": m, "spec": spec, "status": {"phase": "Pending", "qosClass": qos_class(spec)}}


def qos_class(spec: Obj) -> str:
    res = [c.get("resources") or {} for c in spec.get("containers") or []]
    if not any(r.get("requests") or r.get("limits") for r in res):
        return "BestEffort"
    if all(r.get("limits") and r.get("requests") == r.get("limits") for r in res):
        return "Guaranteed"
    return "Burstable"


def selector_of(obj: Obj) -> str:
    return selector_string((obj.get("spec", {}).get("selector") or {}).get("matchLabels") or {})
