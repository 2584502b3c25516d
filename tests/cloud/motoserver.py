"""A real moto server process (`moto_server`, from moto[server]) on a free loopback port, and helpers that
set up EC2 instances, Auto Scaling groups and CloudWatch datapoints in it with plain boto3, the way a user's
account would look. The AWS CLI (Debian's awscli, /usr/bin/aws) is run against the same server."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import httpx

from tagent.cloud.aws import AwsCloud
from tagent.cloud.settings import AwsSettings
from tagent.model import utcnow

REGION = "eu-west-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
AWS_CLI = Path("/usr/bin/aws")  # Debian's awscli; a pyenv shim named `aws` may shadow it on PATH


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def moto_server() -> Iterator[str]:
    """Start `moto_server`; yields its URL; the process group is gone when the block ends."""
    binary = Path(sys.executable).with_name("moto_server")
    if not binary.exists():
        found = shutil.which("moto_server")
        if found is None:
            raise RuntimeError("moto_server is not installed: pip install 'moto[server]'")
        binary = Path(found)
    port = _free_port()
    proc = subprocess.Popen([str(binary), "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                raise RuntimeError(f"moto_server exited with {proc.returncode}: {err[-500:]}")
            try:
                if httpx.get(f"{url}/moto-api/data.json", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("moto_server did not answer within 60 s")
            time.sleep(0.2)
        yield url
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        if proc.stderr is not None:
            proc.stderr.close()


@dataclass
class MotoAws:
    """An AWS account in a moto server: what the user has, set up through boto3."""

    url: str
    region: str = REGION

    def session(self) -> boto3.session.Session:
        return boto3.session.Session(aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                                     aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"])

    def client(self, service: str) -> Any:
        return self.session().client(service, region_name=self.region, endpoint_url=self.url)

    def settings(self, **overrides: Any) -> AwsSettings:
        return AwsSettings(**{"regions": (self.region,), "endpoint_url": self.url, **overrides})

    def cloud(self, **overrides: Any) -> AwsCloud:
        return AwsCloud(self.settings(**overrides), session=self.session())

    def reset(self) -> None:
        httpx.post(f"{self.url}/moto-api/reset", timeout=10).raise_for_status()

    def image(self) -> str:
        return str(self.client("ec2").describe_images(Owners=["amazon"])["Images"][0]["ImageId"])

    def launch(self, name: str, *, instance_type: str = "t3.micro", tags: Mapping[str, str] | None = None) -> str:
        all_tags = [{"Key": "Name", "Value": name}, *({"Key": k, "Value": v} for k, v in (tags or {}).items())]
        got = self.client("ec2").run_instances(
            ImageId=self.image(), MinCount=1, MaxCount=1, InstanceType=instance_type,
            TagSpecifications=[{"ResourceType": "instance", "Tags": all_tags}])
        return str(got["Instances"][0]["InstanceId"])

    def state(self, instance_id: str) -> str:
        got = self.client("ec2").describe_instances(InstanceIds=[instance_id])
        return str(got["Reservations"][0]["Instances"][0]["State"]["Name"])

    def stop(self, instance_id: str) -> None:
        self.client("ec2").stop_instances(InstanceIds=[instance_id])

    def put_cpu(self, dimension: tuple[str, str], values: Sequence[float], *, now: datetime | None = None,
                every: timedelta = timedelta(minutes=5)) -> None:
        """CPUUtilization datapoints ending now, oldest first, one per `every`."""
        end = now or utcnow()
        n = len(values)
        data = [{"MetricName": "CPUUtilization", "Dimensions": [{"Name": dimension[0], "Value": dimension[1]}],
                 "Timestamp": end - every * (n - 1 - i) - timedelta(seconds=30), "Value": v, "Unit": "Percent"}
                for i, v in enumerate(values)]
        self.client("cloudwatch").put_metric_data(Namespace="AWS/EC2", MetricData=data)

    def group(self, name: str, *, minimum: int, maximum: int, desired: int,
              tags: Mapping[str, str] | None = None) -> None:
        asg = self.client("autoscaling")
        config = f"{name}-config"
        asg.create_launch_configuration(LaunchConfigurationName=config, ImageId=self.image(),
                                        InstanceType="t3.micro")
        asg.create_auto_scaling_group(
            AutoScalingGroupName=name, LaunchConfigurationName=config, MinSize=minimum, MaxSize=maximum,
            DesiredCapacity=desired, AvailabilityZones=[f"{self.region}a"],
            Tags=[{"Key": k, "Value": v, "PropagateAtLaunch": False, "ResourceId": name,
                   "ResourceType": "auto-scaling-group"} for k, v in (tags or {}).items()])

    def desired(self, name: str) -> int:
        got = self.client("autoscaling").describe_auto_scaling_groups(AutoScalingGroupNames=[name])
        return int(got["AutoScalingGroups"][0]["DesiredCapacity"])

    def run_cli(self, command: str) -> subprocess.CompletedProcess[str]:
        """Run a printed AWS CLI command as a user would, with the real `aws` binary."""
        args = shlex.split(command)
        assert args[0] == "aws", command
        env = {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp"), **CREDENTIALS,
               "AWS_DEFAULT_REGION": self.region, "AWS_PAGER": ""}
        return subprocess.run([str(AWS_CLI), *args[1:], "--output", "json"], env=env, capture_output=True,
                              text=True, timeout=120)
