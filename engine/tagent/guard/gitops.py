"""Who owns a workload's manifest? If Argo CD or Flux does, patching it in place would be reverted at the next
sync (and fights the team's review process): Tagent notifies and asks for a change in Git instead."""

from __future__ import annotations

from tagent.model import WorkloadInfo

ARGO_LABELS = ("argocd.argoproj.io/instance",)
ARGO_ANNOTATIONS = ("argocd.argoproj.io/tracking-id",)
FLUX_LABELS = ("kustomize.toolkit.fluxcd.io/name", "helm.toolkit.fluxcd.io/name")


def gitops_owner(workload: WorkloadInfo | None) -> str | None:
    """A short description of the GitOps owner (`Argo CD app shop`, `Flux kustomization apps`), or None."""
    if workload is None:
        return None
    for key in ARGO_LABELS:
        if workload.labels.get(key):
            return f"Argo CD application {workload.labels[key]} (label {key})"
    for key in ARGO_ANNOTATIONS:
        if workload.annotations.get(key):
            app = workload.annotations[key].split(":", 1)[0]
            return f"Argo CD application {app} (annotation {key})"
    for key in FLUX_LABELS:
        if workload.labels.get(key):
            kind = "kustomization" if key.startswith("kustomize") else "helm release"
            return f"Flux {kind} {workload.labels[key]} (label {key})"
    return None
