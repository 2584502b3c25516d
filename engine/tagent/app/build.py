"""Build a whole Engine from Settings: the one place that decides which implementation each part gets."""

from __future__ import annotations

from tagent.app.engine import Clock, Engine
from tagent.app.wiring import incident_manager
from tagent.clients.kubernetes import KubeClient
from tagent.model import utcnow
from tagent.settings import Settings
from tagent.store import Store


def build_engine(settings: Settings, *, kube: KubeClient | None = None, store: Store | None = None,
                 clock: Clock = utcnow, source_interval: float | None = None) -> Engine:
    """Connect to the cluster and the database, load the rules and wire every part (nothing starts yet)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    kube = kube or KubeClient.connect(settings.kubeconfig)
    store = store or Store.from_settings(settings)
    return Engine(settings, kube=kube, store=store, clock=clock, source_interval=source_interval,
                  handler_factory=incident_manager)
