"""A real wiring of the actions for tests: sandbox cluster, SQLite store, guard, apprise routes pointed at a
local Slack-format receiver, Twilio's REST API on a local receiver. Shared by the playbook, escalation and
debrief tests."""

from __future__ import annotations

import functools
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from tagent.actions import ActionContext, ActionDeps, Registry, build_registry
from tagent.clients.kubernetes import KubeClient
from tagent.clients.prometheus import PrometheusClient
from tagent.guard import Guard
from tagent.model import WorkloadRef
from tagent.notify import Notifier, TwilioCaller
from tagent.sandbox import Sandbox
from tagent.sandbox.receivers import TwilioReceiver, WebhookReceiver
from tagent.settings import Settings
from tagent.store import Store

ONCALL = "+15005550006"
CART = WorkloadRef(kind="Deployment", namespace="shop", name="cart")


@dataclass
class Env:
    sandbox: Sandbox
    kube: KubeClient
    store: Store
    settings: Settings
    guard: Guard
    deps: ActionDeps
    registry: Registry
    hooks: WebhookReceiver
    twilio: TwilioReceiver
    notifier: Notifier
    extra: dict[str, Any] = field(default_factory=dict)

    def ctx(self, target: WorkloadRef = CART, **kw: Any) -> ActionContext:
        kw.setdefault("timeout", 10.0)
        kw.setdefault("routes", ("slack-oncall",))
        kw.setdefault("phones", ("oncall-phone",))
        return ActionContext(origin=kw.pop("origin", "test:harness"), target=target, **kw)

    def variant(self, **overrides: Any) -> Env:
        """The same cluster and store, other settings (dry-run, limits) and optionally other deps."""
        deps_over = {k: overrides.pop(k) for k in list(overrides) if k in ActionDeps.__dataclass_fields__}
        settings = self.settings.model_copy(update=overrides)
        guard = Guard(self.store, settings)
        fields = {k: getattr(self.deps, k) for k in ActionDeps.__dataclass_fields__}
        deps = ActionDeps(**{**fields, "guard": guard, **deps_over})
        return Env(self.sandbox, self.kube, self.store, settings, guard, deps, build_registry(deps), self.hooks,
                   self.twilio, self.notifier, self.extra)


def settings_for(tmp_path: Path, hooks: WebhookReceiver, twilio: TwilioReceiver, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data", "restart_min_interval": 0.0, "rate_limit_global_per_hour": 1000,
        "rate_limit_namespace_per_hour": 1000, "blast_radius_workloads_per_window": 100,
        "blast_radius_pod_fraction": 1.0, "max_rollbacks_per_hour": 100, "allowed_http_hosts": ["127.0.0.1"],
        "notify_urls": {"slack-oncall": SecretStr(hooks.slack_url())}, "notify_min_interval": 0.0,
        "phones": {"oncall-phone": ONCALL}, "twilio_account_sid": twilio.account_sid,
        "twilio_auth_token": SecretStr(twilio.auth_token), "twilio_from": "+15005550001",
        "twilio_base_url": twilio.base_url, "dashboard_url": "http://dash.test",
    }
    values.update(overrides)
    return Settings(**values)


@functools.cache
def _migrated_template() -> Path:
    """One migrated SQLite file per process; each test gets a copy (migrating takes longer than copying)."""
    path = Path(tempfile.mkdtemp(prefix="tagent-dbtpl-")) / "template.db"
    Store.open(f"sqlite:///{path}").close()
    return path


def sqlite_copy(path: Path) -> str:
    """A fresh, migrated SQLite database at `path`; returns its URL."""
    shutil.copyfile(_migrated_template(), path)
    return f"sqlite:///{path}"


@contextmanager
def environment(sandbox: Sandbox, tmp_path: Path, *, redis_url: str | None = None, prometheus_url: str | None = None,
                http_transport: httpx.BaseTransport | None = None, db_url: str | None = None,
                **overrides: Any) -> Iterator[Env]:
    with WebhookReceiver() as hooks, TwilioReceiver() as twilio:
        settings = settings_for(tmp_path, hooks, twilio, **overrides)
        store = Store.open(db_url or sqlite_copy(tmp_path / "tagent.db"))
        kube = KubeClient.from_kubeconfig(sandbox.write_kubeconfig(tmp_path / "kubeconfig"))
        notifier = Notifier.from_settings(settings, attempts=2, backoff=0.01)
        prometheus = PrometheusClient(prometheus_url) if prometheus_url else None
        guard = Guard(store, settings)
        deps = ActionDeps(store=store, guard=guard, kube=kube, notifier=notifier,
                          caller=TwilioCaller.from_settings(settings), prometheus=prometheus,
                          http_transport=http_transport, redis_url=redis_url,
                          allowed_http_hosts=tuple(settings.allowed_http_hosts), phones=settings.phones,
                          dashboard_url=settings.dashboard_url, poll_interval=0.05)
        try:
            yield Env(sandbox, kube, store, settings, guard, deps, build_registry(deps), hooks, twilio, notifier)
        finally:
            notifier.close()
            if prometheus is not None:
                prometheus.close()
            kube.close()
            store.close()
