"""tagent.sandbox: a local Kubernetes API server with simulated workloads and fault injection.

Used by the CLI (`tagent sandbox up|inject`), the demo and the tests; engine code never imports it.
It speaks the Kubernetes REST API (shared/design/k8s-api-subset.md), so everything else talks to it
through the official `kubernetes` client and kubectl, exactly as to a real cluster.
"""

from tagent.sandbox import kubeconfig
from tagent.sandbox.apierrors import ApiError
from tagent.sandbox.clock import SandboxClock
from tagent.sandbox.sandbox import Sandbox
from tagent.sandbox.scenario import FAULTS, Scenario, default_scenario, load_scenario

__all__ = [
    "FAULTS", "ApiError", "Sandbox", "SandboxClock", "Scenario", "default_scenario", "kubeconfig", "load_scenario",
]
