"""The scripted night: which fault hits which workload when, and what Tagent is expected to do about it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scene:
    at_s: float  # wall-clock seconds after the engine started
    fault: str
    namespace: str
    name: str
    rules: tuple[str, ...]  # the rules that may open the incident (the first one is the story's); () for none
    action: str  # the action expected to fix it
    story: str


NIGHT: tuple[Scene, ...] = (
    Scene(2, "crashloop", "shop", "payment-service", ("crashloop-restart",), "kubernetes.rollout_restart",
          "payment-service starts crash-looping; a restart cures it"),
    Scene(4, "idle", "test", "test-env", ("idle-scale-down",), "kubernetes.scale",
          "test-env has been idle for an hour; it is scaled down to zero and the saving recorded"),
    Scene(8, "bad-deploy", "shop", "checkout", ("bad-deploy-rollback", "error-spike-rollback"),
          "kubernetes.rollout_undo",
          "a bad version of checkout is deployed; errors follow; a rollback cures it (the 500s in the logs or "
          "the error rate after the rollout: whichever rule sees it first)"),
    Scene(14, "error-spike", "shop", "frontend", ("error-spike-rollback",), "kubernetes.rollout_undo",
          "frontend starts answering 500s; approval is needed, the on-call is called, nobody answers, "
          "Night Mode rolls it back"),
    Scene(20, "load", "shop", "cart", ("high-cpu-scale-up",), "kubernetes.scale",
          "cart gets five times its usual load; it is scaled up"),
    Scene(45, "heal", "shop", "cart", (), "", "the traffic peak passes"),
)
