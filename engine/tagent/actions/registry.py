"""The action registry: built explicitly by a function from its dependencies (no import side effects).

    registry = build_registry(ActionDeps(store=store, guard=guard, kube=kube, notifier=notifier, ...))
    result = registry["kubernetes.scale"].run({"namespace": "shop", "name": "cart", "replicas": 3}, ctx)
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from tagent.actions.aws import AsgSetCapacity, Ec2Reboot, Ec2Start, Ec2Stop
from tagent.actions.base import ActionDeps, BaseAction
from tagent.actions.catalog import CATALOG
from tagent.actions.kube_pods import DeletePod, EvictPod
from tagent.actions.kube_workload import DeleteDeployment, RolloutRestart, RolloutUndo, Scale, WaitHealthy
from tagent.actions.people import ApprovalRequest, NotifyPage, NotifySend
from tagent.actions.services import HttpRequest, PrometheusVerify, RedisFlushDb, Wait
from tagent.errors import ConfigError

IMPLEMENTATIONS: tuple[type[BaseAction], ...] = (
    RolloutRestart, DeletePod, EvictPod, RolloutUndo, Scale, DeleteDeployment, WaitHealthy, RedisFlushDb, HttpRequest,
    PrometheusVerify, NotifySend, NotifyPage, ApprovalRequest, Wait, Ec2Stop, Ec2Start, Ec2Reboot, AsgSetCapacity,
)


class Registry(Mapping[str, BaseAction]):
    """Action name -> ready action; exactly the catalog."""

    def __init__(self, actions: Mapping[str, BaseAction]) -> None:
        self._actions = dict(actions)

    def __getitem__(self, name: str) -> BaseAction:
        try:
            return self._actions[name]
        except KeyError:
            raise ConfigError(f"unknown action {name!r}: one of {', '.join(sorted(self._actions))}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._actions)

    def __len__(self) -> int:
        return len(self._actions)


def build_registry(deps: ActionDeps) -> Registry:
    """One instance of every action. Raises ConfigError if the catalog and the implementations disagree."""
    actions = {cls.name: cls(deps) for cls in IMPLEMENTATIONS}
    missing, extra = sorted(set(CATALOG) - set(actions)), sorted(set(actions) - set(CATALOG))
    if missing or extra:
        raise ConfigError(f"action catalog and implementations disagree: missing {missing}, not in catalog {extra}")
    return Registry(actions)
