"""The provider-neutral picture of cloud servers and server groups, and what a provider must do.

A server is seen by the detect engine, the guard, the journal and the audit log as a `WorkloadRef` of kind
`Instance` (or `ServerGroup`) whose namespace is the region: `Instance/eu-west-1/i-0abc`. Events, rules and
ledger limits work on them unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from tagent.model.core import WorkloadRef

INSTANCE_KIND = "Instance"
GROUP_KIND = "ServerGroup"
PROTECT_TAG = "tagent.io/protect"
RUNNING = "running"


@dataclass(frozen=True)
class Server:
    provider: str
    region: str
    id: str
    state: str
    type: str
    tags: Mapping[str, str] = field(default_factory=dict)
    launched_at: datetime | None = None
    account: str = ""
    group: str = ""  # the server group it belongs to, if any

    @property
    def name(self) -> str:
        return self.tags.get("Name", "") or self.id

    @property
    def running(self) -> bool:
        return self.state == RUNNING

    @property
    def label(self) -> str:
        return f"{self.tags['Name']} ({self.id})" if self.tags.get("Name") else self.id


@dataclass(frozen=True)
class ServerGroup:
    provider: str
    region: str
    name: str
    desired: int
    minimum: int
    maximum: int
    tags: Mapping[str, str] = field(default_factory=dict)
    members: tuple[str, ...] = ()
    account: str = ""

    @property
    def at_max(self) -> bool:
        return self.desired >= self.maximum


@dataclass(frozen=True)
class Usage:
    """A metric over a window: mean of the period averages, highest maximum, seconds covered by data."""

    average: float
    maximum: float
    covered_s: float


def server_ref(server: Server) -> WorkloadRef:
    return WorkloadRef(kind=INSTANCE_KIND, namespace=server.region, name=server.id)


def group_ref(group: ServerGroup) -> WorkloadRef:
    return WorkloadRef(kind=GROUP_KIND, namespace=group.region, name=group.name)


class CloudProvider(Protocol):
    """What the inventory source, the actions and chat need from one cloud provider."""

    @property
    def name(self) -> str: ...
    @property
    def regions(self) -> Sequence[str]: ...
    @property
    def endpoint_url(self) -> str | None: ...

    def servers(self, region: str) -> list[Server]: ...
    def server(self, region: str, server_id: str) -> Server: ...
    def groups(self, region: str) -> list[ServerGroup]: ...
    def group(self, region: str, name: str) -> ServerGroup: ...
    def stop(self, region: str, server_id: str) -> str: ...
    def start(self, region: str, server_id: str) -> str: ...
    def reboot(self, region: str, server_id: str) -> None: ...
    def set_capacity(self, region: str, name: str, desired: int) -> None: ...
    def usage(self, region: str, resource: str, ident: str, metric: str, window: timedelta,
              now: datetime) -> Usage | None: ...
