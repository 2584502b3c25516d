"""The sandbox on a real Kubernetes control plane (`tagent sandbox up --control-plane real`).

etcd, kube-apiserver, kube-controller-manager and kube-scheduler built from Go modules by
scripts/control-plane.sh (controlplane.py starts them), and a simulated kubelet that is an ordinary
client of that API server. See README.md in this directory.
"""

from tagent.sandbox.real.controlplane import ControlPlane

__all__ = ["ControlPlane"]
