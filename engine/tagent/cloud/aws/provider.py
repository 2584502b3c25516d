"""`AwsCloud`: the `CloudProvider` for AWS. EC2 instances are servers, Auto Scaling groups server groups,
CloudWatch `AWS/EC2` metrics their usage (per InstanceId or AutoScalingGroupName)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from tagent.clients.aws import AwsClient, Group, Instance, Session
from tagent.cloud.base import Server, ServerGroup, Usage
from tagent.cloud.settings import AwsSettings
from tagent.errors import ConfigError, PermanentError

NAMESPACE = "AWS/EC2"
_DIMENSION = {"instance": "InstanceId", "group": "AutoScalingGroupName"}
GROUP_TAG = "aws:autoscaling:groupName"


def cli_endpoint(endpoint_url: str | None) -> str:
    """The AWS CLI option that sends a printed command where Tagent sends its calls."""
    return f" --endpoint-url {endpoint_url}" if endpoint_url else ""


class AwsCloud:
    name = "aws"

    def __init__(self, settings: AwsSettings, *, session: Session | None = None,
                 timeout: float = 20.0) -> None:
        if not settings.regions:
            raise ConfigError("AWS is not configured: set TAGENT_AWS_REGIONS (for example eu-west-1)")
        self.settings = settings
        self._session, self._timeout = session, timeout
        self._clients: dict[str, AwsClient] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Any) -> AwsCloud | None:
        """AWS from the `aws_*` application settings; None while TAGENT_AWS_REGIONS is empty."""
        aws = AwsSettings.from_settings(settings)
        return cls(aws) if aws.enabled else None

    @property
    def regions(self) -> Sequence[str]:
        return self.settings.regions

    @property
    def endpoint_url(self) -> str | None:
        return self.settings.endpoint_url

    def client(self, region: str) -> AwsClient:
        if region not in self.settings.regions:
            raise PermanentError(f"region {region!r} is not watched (TAGENT_AWS_REGIONS: "
                                 f"{', '.join(self.settings.regions)})")
        with self._lock:
            if region not in self._clients:
                self._clients[region] = AwsClient(region, endpoint_url=self.settings.endpoint_url,
                                                  timeout=self._timeout, session=self._session)
            return self._clients[region]

    def _server(self, region: str, i: Instance) -> Server:
        return Server(provider=self.name, region=region, id=i.id, state=i.state, type=i.type, tags=dict(i.tags),
                      launched_at=i.launched_at, account=i.owner, group=i.tags.get(GROUP_TAG, ""))

    def _group(self, region: str, g: Group) -> ServerGroup:
        return ServerGroup(provider=self.name, region=region, name=g.name, desired=g.desired, minimum=g.minimum,
                           maximum=g.maximum, tags=dict(g.tags), members=g.instance_ids)

    def servers(self, region: str) -> list[Server]:
        return [self._server(region, i) for i in self.client(region).instances()]

    def server(self, region: str, server_id: str) -> Server:
        return self._server(region, self.client(region).instance(server_id))

    def groups(self, region: str) -> list[ServerGroup]:
        return [self._group(region, g) for g in self.client(region).groups()]

    def group(self, region: str, name: str) -> ServerGroup:
        return self._group(region, self.client(region).group(name))

    def stop(self, region: str, server_id: str) -> str:
        return self.client(region).stop(server_id)

    def start(self, region: str, server_id: str) -> str:
        return self.client(region).start(server_id)

    def reboot(self, region: str, server_id: str) -> None:
        self.client(region).reboot(server_id)

    def set_capacity(self, region: str, name: str, desired: int) -> None:
        self.client(region).set_desired_capacity(name, desired)

    def usage(self, region: str, resource: str, ident: str, metric: str, window: timedelta,
              now: datetime) -> Usage | None:
        dimension = _DIMENSION.get(resource)
        if dimension is None:
            raise PermanentError(f"unknown cloud resource {resource!r}: instance or group")
        stat = self.client(region).statistic(NAMESPACE, metric, (dimension, ident), window=window, now=now)
        return None if stat is None else Usage(stat.average, stat.maximum, stat.covered_s)
