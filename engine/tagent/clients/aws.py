"""A thin typed client for the three AWS APIs Tagent uses: EC2, EC2 Auto Scaling and CloudWatch (boto3).

One `AwsClient` per region. Credentials come from the standard boto3 chain (environment, shared files,
instance profile); `endpoint_url` points every call at another endpoint (moto's server in tests). Errors
are mapped onto the Tagent tree: throttling, 5xx and unreachable endpoints are `TransientError`, anything
AWS refuses (unknown instance, bad state, access denied) is `PermanentError` with AWS's own message.
Only this module imports boto3.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

import boto3
import botocore.config
import botocore.exceptions

from tagent.errors import PermanentError, TransientError

Session = boto3.session.Session  # for callers' annotations: only this module imports boto3

T = TypeVar("T")
_THROTTLING = {"Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException",
               "RequestThrottled", "ServiceUnavailable", "InternalError", "InternalFailure", "Unavailable"}


@dataclass(frozen=True)
class Instance:
    id: str
    state: str  # pending | running | stopping | stopped | shutting-down | terminated
    type: str
    tags: dict[str, str]
    launched_at: datetime | None
    zone: str = ""
    owner: str = ""  # the account id


@dataclass(frozen=True)
class Group:
    name: str
    desired: int
    minimum: int
    maximum: int
    tags: dict[str, str]
    instance_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Stat:
    """A statistic of one metric over a window: the mean of the period averages, the highest maximum, how
    many periods had data, and `covered_s`: from the start of the oldest datapoint's period to now."""

    average: float
    maximum: float
    periods: int
    covered_s: float
    points: tuple[tuple[datetime, float], ...] = field(default=())


def _tags(raw: Sequence[dict[str, Any]] | None) -> dict[str, str]:
    return {str(t.get("Key")): str(t.get("Value", "")) for t in raw or () if t.get("Key") is not None}


class AwsClient:
    """EC2, Auto Scaling and CloudWatch of one region."""

    def __init__(self, region: str, *, endpoint_url: str | None = None, timeout: float = 20.0,
                 session: boto3.session.Session | None = None) -> None:
        if not region.strip():
            raise PermanentError("an AWS region is required")
        self.region = region.strip()
        self.endpoint_url = endpoint_url or None
        config = botocore.config.Config(connect_timeout=timeout, read_timeout=timeout,
                                        retries={"max_attempts": 2, "mode": "standard"})
        self._session = session or boto3.session.Session()
        self._lock = threading.Lock()
        self._clients: dict[str, Any] = {}
        self._config = config

    def _client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                self._clients[service] = self._session.client(service, region_name=self.region,
                                                              endpoint_url=self.endpoint_url, config=self._config)
            return self._clients[service]

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        where = f"AWS {what} in {self.region}"
        try:
            return fn()
        except botocore.exceptions.ClientError as exc:
            err = exc.response.get("Error", {})
            code, message = str(err.get("Code", "")), str(err.get("Message", "")) or str(exc)
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
            text = f"{where} failed: {code}: {message}"
            if code in _THROTTLING or status == 429 or status >= 500:
                raise TransientError(text, delay=10.0) from exc
            raise PermanentError(text) from exc
        except botocore.exceptions.NoCredentialsError as exc:
            raise PermanentError(f"{where} failed: no AWS credentials found (standard boto3 chain)") from exc
        except (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ConnectTimeoutError,
                botocore.exceptions.ReadTimeoutError, botocore.exceptions.ConnectionClosedError) as exc:
            raise TransientError(f"{where} unreachable: {exc}", delay=10.0) from exc
        except botocore.exceptions.BotoCoreError as exc:
            raise PermanentError(f"{where} failed: {exc}") from exc

    # -- EC2 ------------------------------------------------------------------------------------------------
    def instances(self, ids: Sequence[str] = ()) -> list[Instance]:
        """Every instance (but terminated ones) of the region, or the given ones."""
        def pages() -> Iterator[dict[str, Any]]:
            kw: dict[str, Any] = {"InstanceIds": list(ids)} if ids else {}
            yield from self._client("ec2").get_paginator("describe_instances").paginate(**kw)

        out = []
        for page in self._call("DescribeInstances", lambda: list(pages())):
            for reservation in page.get("Reservations", []):
                owner = str(reservation.get("OwnerId", ""))
                for raw in reservation.get("Instances", []):
                    state = str((raw.get("State") or {}).get("Name", "unknown"))
                    if state == "terminated" and not ids:
                        continue
                    out.append(Instance(id=str(raw["InstanceId"]), state=state, type=str(raw.get("InstanceType", "")),
                                        tags=_tags(raw.get("Tags")), launched_at=raw.get("LaunchTime"),
                                        zone=str((raw.get("Placement") or {}).get("AvailabilityZone", "")),
                                        owner=owner))
        return sorted(out, key=lambda i: i.id)

    def instance(self, instance_id: str) -> Instance:
        found = self.instances([instance_id])
        if not found:
            raise PermanentError(f"AWS DescribeInstances in {self.region}: no instance {instance_id}")
        return found[0]

    def stop(self, instance_id: str) -> str:
        """Stop one instance; its previous state."""
        got = self._call("StopInstances", lambda: self._client("ec2").stop_instances(InstanceIds=[instance_id]))
        return str(got["StoppingInstances"][0]["PreviousState"]["Name"])

    def start(self, instance_id: str) -> str:
        got = self._call("StartInstances", lambda: self._client("ec2").start_instances(InstanceIds=[instance_id]))
        return str(got["StartingInstances"][0]["PreviousState"]["Name"])

    def reboot(self, instance_id: str) -> None:
        self._call("RebootInstances", lambda: self._client("ec2").reboot_instances(InstanceIds=[instance_id]))

    # -- Auto Scaling -------------------------------------------------------------------------------------------
    def groups(self, names: Sequence[str] = ()) -> list[Group]:
        def pages() -> Iterator[dict[str, Any]]:
            kw: dict[str, Any] = {"AutoScalingGroupNames": list(names)} if names else {}
            yield from self._client("autoscaling").get_paginator("describe_auto_scaling_groups").paginate(**kw)

        out = []
        for page in self._call("DescribeAutoScalingGroups", lambda: list(pages())):
            for raw in page.get("AutoScalingGroups", []):
                out.append(Group(name=str(raw["AutoScalingGroupName"]), desired=int(raw["DesiredCapacity"]),
                                 minimum=int(raw["MinSize"]), maximum=int(raw["MaxSize"]), tags=_tags(raw.get("Tags")),
                                 instance_ids=tuple(str(i["InstanceId"]) for i in raw.get("Instances", []))))
        return sorted(out, key=lambda g: g.name)

    def group(self, name: str) -> Group:
        found = self.groups([name])
        if not found:
            raise PermanentError(f"AWS DescribeAutoScalingGroups in {self.region}: no Auto Scaling group {name}")
        return found[0]

    def set_desired_capacity(self, name: str, desired: int) -> None:
        self._call("SetDesiredCapacity", lambda: self._client("autoscaling").set_desired_capacity(
            AutoScalingGroupName=name, DesiredCapacity=desired, HonorCooldown=False))

    # -- CloudWatch -------------------------------------------------------------------------------------------
    def statistic(self, namespace: str, metric: str, dimension: tuple[str, str], *, window: timedelta,
                  now: datetime, period: int = 300) -> Stat | None:
        """Average and maximum of `metric` over the last `window` (5-minute periods); None without data."""
        got = self._call("GetMetricStatistics", lambda: self._client("cloudwatch").get_metric_statistics(
            Namespace=namespace, MetricName=metric, Dimensions=[{"Name": dimension[0], "Value": dimension[1]}],
            StartTime=now - window, EndTime=now, Period=period, Statistics=["Average", "Maximum"]))
        points = sorted((p["Timestamp"], float(p["Average"]), float(p.get("Maximum", p["Average"])))
                        for p in got.get("Datapoints", []) if "Average" in p)
        if not points:
            return None
        covered = (now - points[0][0]).total_seconds() + period  # a datapoint stands for its whole period
        return Stat(average=sum(p[1] for p in points) / len(points), maximum=max(p[2] for p in points),
                    periods=len(points), covered_s=min(covered, window.total_seconds()),
                    points=tuple((p[0], p[1]) for p in points))

    def put_metric(self, namespace: str, metric: str, dimension: tuple[str, str],
                   points: Sequence[tuple[datetime, float]], unit: str = "Percent") -> None:
        """Write datapoints (how tests and the demo feed CloudWatch; Tagent itself only reads)."""
        data = [{"MetricName": metric, "Dimensions": [{"Name": dimension[0], "Value": dimension[1]}],
                 "Timestamp": at, "Value": value, "Unit": unit} for at, value in points]
        for i in range(0, len(data), 500):
            chunk = data[i:i + 500]
            self._call("PutMetricData", lambda c=chunk: self._client("cloudwatch").put_metric_data(  # type: ignore[misc]
                Namespace=namespace, MetricData=c))

    def account(self) -> str:
        got = self._call("GetCallerIdentity", lambda: self._client("sts").get_caller_identity())
        return str(got.get("Account", ""))
