"""The aws.* actions against a real moto server: bounds and protection are refused before anything changes,
AWS's own errors come back as one clear line, and every printed AWS CLI command, run with the real `aws`
binary (Debian's awscli) against the same server, does what the action did."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest

from tagent.cloud.settings import AwsSettings
from tagent.model import StepStatus
from tests.cloud.motoserver import AWS_CLI, REGION, MotoAws
from tests.cloud.pack import wired


def test_group_is_scaled_within_its_bounds_and_refused_beyond_them(moto: MotoAws, tmp_path: Path) -> None:
    moto.group("web", minimum=1, maximum=4, desired=2)
    with wired(moto, tmp_path) as env:
        scale = env.registry["aws.asg_set_capacity"]
        ok = scale.run({"group": "web", "region": REGION, "desired": 4}, env.ctx())
        assert ok.status == StepStatus.ok and moto.desired("web") == 4, ok.detail
        assert ok.data["from_desired"] == 2 and "from 2 to 4" in ok.detail
        for beyond in (5, 0):
            refused = scale.run({"group": "web", "region": REGION, "desired": beyond}, env.ctx())
            assert refused.status == StepStatus.blocked, refused.detail
            assert f"{beyond} is outside web's bounds 1..4" in refused.detail
        assert moto.desired("web") == 4
        audit = [a for a in env.store.audit.list() if a.action == "aws.asg_set_capacity"]
        assert [a.result for a in audit] == ["ok"]  # the refusals reserved and changed nothing


def test_protected_instance_is_refused_whoever_asks(moto: MotoAws, tmp_path: Path) -> None:
    protected = moto.launch("db-1", tags={"tagent.io/protect": "yes"})
    with wired(moto, tmp_path) as env:
        for action in ("aws.ec2_stop", "aws.ec2_reboot"):
            result = env.registry[action].run({"instance_id": protected, "region": REGION}, env.ctx())
            assert result.status == StepStatus.blocked and "tagent.io/protect=yes" in result.detail
    assert moto.state(protected) == "running"


def test_group_member_is_not_stopped_alone(moto: MotoAws, tmp_path: Path) -> None:
    moto.group("workers", minimum=1, maximum=2, desired=1)
    [member] = [i["InstanceId"] for r in moto.client("ec2").describe_instances()["Reservations"]
                for i in r["Instances"]]
    with wired(moto, tmp_path) as env:
        result = env.registry["aws.ec2_stop"].run({"instance_id": member, "region": REGION}, env.ctx())
    assert result.status == StepStatus.blocked and "belongs to the Auto Scaling group workers" in result.detail
    assert moto.state(member) == "running"


def test_protected_account_and_group(moto: MotoAws, tmp_path: Path) -> None:
    plain = moto.launch("batch")
    moto.group("pay", minimum=1, maximum=4, desired=2, tags={"tagent.io/protect": "true"})
    account = moto.cloud().client(REGION).account()
    with wired(moto, tmp_path, protected_accounts=(account,)) as env:
        stop = env.registry["aws.ec2_stop"].run({"instance_id": plain, "region": REGION}, env.ctx())
        scale = env.registry["aws.asg_set_capacity"].run({"group": "pay", "region": REGION, "desired": 3}, env.ctx())
    assert stop.status == StepStatus.blocked and f"account {account} is protected" in stop.detail
    assert scale.status == StepStatus.blocked and "protected" in scale.detail
    assert moto.state(plain) == "running" and moto.desired("pay") == 2


def test_aws_errors_are_one_clear_line(moto: MotoAws, tmp_path: Path) -> None:
    with wired(moto, tmp_path) as env:
        missing = env.registry["aws.ec2_stop"].run({"instance_id": "i-0123456789abcdef0", "region": REGION},
                                                   env.ctx())
        elsewhere = env.registry["aws.ec2_stop"].run({"instance_id": "i-0123456789abcdef0", "region": "us-east-1"},
                                                     env.ctx())
        no_group = env.registry["aws.asg_set_capacity"].run({"group": "nope", "region": REGION, "desired": 1},
                                                            env.ctx())
    assert missing.status == StepStatus.failed and "InvalidInstanceID.NotFound" in missing.detail
    assert "\n" not in missing.detail and "Traceback" not in missing.detail
    assert elsewhere.status == StepStatus.failed and "'us-east-1' is not watched" in elsewhere.detail
    assert no_group.status == StepStatus.failed and "no Auto Scaling group nope" in no_group.detail


def test_unreachable_endpoint_is_transient(moto: MotoAws, tmp_path: Path) -> None:
    with wired(moto, tmp_path) as env:
        dead = env.variant(aws=moto.cloud(endpoint_url="http://127.0.0.1:9"))
        result = dead.registry["aws.ec2_stop"].run({"instance_id": "i-0123456789abcdef0", "region": REGION},
                                                   dead.ctx())
    assert result.status == StepStatus.failed and result.data.get("transient") is True
    assert "unreachable" in result.detail


def test_settings_refuse_bad_input_in_one_line() -> None:
    assert AwsSettings(regions="eu-west-1, us-east-1").regions == ("eu-west-1", "us-east-1")  # type: ignore[arg-type]
    assert not AwsSettings().enabled and AwsSettings(regions=(REGION,)).enabled
    flat = SimpleNamespace(aws_regions=["eu-west-1"], aws_endpoint_url=None, aws_prices={"t3.micro": 0.02},
                           aws_idle_schedule={"from": "20:00", "to": "06:00"})
    embedded = AwsSettings.from_settings(flat)  # the application settings carry them with the aws_ prefix
    assert embedded.regions == ("eu-west-1",) and embedded.endpoint_url is None
    assert embedded.prices["t3.micro"] == 0.02 and embedded.prices["m5.large"] == 0.096
    assert str(embedded.idle_schedule) == "20:00-06:00 UTC every day"
    with pytest.raises(ValueError, match="not an AWS region name: 'Europe'"):
        AwsSettings(regions=("Europe",))
    with pytest.raises(ValueError, match=r"hourly prices must be >= 0: t3\.micro"):
        AwsSettings(regions=(REGION,), prices={"t3.micro": -1})


Setup = Callable[[MotoAws], dict[str, object]]
Probe = Callable[[MotoAws, dict[str, object]], object]


def _instance(moto: MotoAws, stopped: bool = False) -> dict[str, object]:
    ident = moto.launch("parity")
    if stopped:
        moto.stop(ident)
    return {"instance_id": ident, "region": REGION}


def _group(moto: MotoAws) -> dict[str, object]:
    name = f"parity-{len(moto.client('autoscaling').describe_auto_scaling_groups()['AutoScalingGroups'])}"
    moto.group(name, minimum=1, maximum=5, desired=2)
    return {"group": name, "region": REGION, "desired": 3}


PARITY: list[tuple[str, Setup, Probe]] = [
    ("aws.ec2_stop", _instance, lambda m, p: m.state(str(p["instance_id"]))),
    ("aws.ec2_start", lambda m: _instance(m, stopped=True), lambda m, p: m.state(str(p["instance_id"]))),
    ("aws.ec2_reboot", _instance, lambda m, p: m.state(str(p["instance_id"]))),
    ("aws.asg_set_capacity", _group, lambda m, p: m.desired(str(p["group"]))),
]


@pytest.mark.skipif(not AWS_CLI.exists(), reason="Debian's awscli is not installed (apt-get install awscli)")
@pytest.mark.parametrize(("action", "setup", "probe"), PARITY, ids=[p[0] for p in PARITY])
def test_printed_cli_command_does_the_same(moto: MotoAws, tmp_path: Path, action: str, setup: Setup,
                                           probe: Probe) -> None:
    """The action on one resource, its printed command (from a dry-run, which changes nothing) with the real
    AWS CLI on a twin: both end in the same state."""
    with wired(moto, tmp_path) as env:
        acted, twin = setup(moto), setup(moto)
        before = probe(moto, twin)
        done = env.registry[action].run(acted, env.ctx())
        assert done.status == StepStatus.ok, done.detail
        dry = env.variant(dry_run=True).registry[action].run(twin, env.ctx())
    assert dry.status == StepStatus.dry_run and probe(moto, twin) == before
    assert dry.command.startswith("aws ") and f"--endpoint-url {moto.url}" in dry.command
    cli = moto.run_cli(dry.command)
    assert cli.returncode == 0, cli.stderr
    assert probe(moto, twin) == probe(moto, acted) != (before if action != "aws.ec2_reboot" else None)


class Journal:
    """The plan of an interrupted attempt, as the playbook journal keeps it (tagent.actions.PlanBook)."""

    def __init__(self, plan: dict[str, object] | None = None) -> None:
        self.plan = plan

    def recall(self) -> dict[str, object] | None:
        return self.plan

    def record(self, plan: dict[str, object]) -> None:
        self.plan = dict(plan)


def test_an_interrupted_stop_is_not_repeated_and_saves_once(moto: MotoAws, tmp_path: Path) -> None:
    worker = moto.launch("batch", instance_type="t3.large")
    params = {"instance_id": worker, "region": REGION}
    with wired(moto, tmp_path) as env:
        first = Journal()
        done = env.registry["aws.ec2_stop"].run(params, env.ctx(run_id="run-1", plans=first))
        assert done.status == StepStatus.ok and first.plan == {"from_state": "running", "instance_type": "t3.large",
                                                               "name": "batch"}
        # the engine died before journaling the outcome: the step runs again with attempt 2
        again = env.registry["aws.ec2_stop"].run(params, env.ctx(run_id="run-1", attempt=2, plans=first))
        assert again.status == StepStatus.ok and again.detail.startswith("already applied before the interruption")
        assert [(s.target.name, s.run_id) for s in env.store.savings.list()] == [(worker, "run-1")]

        moto.group("web", minimum=1, maximum=5, desired=2)
        scale = {"group": "web", "region": REGION, "desired": 3}
        journal = Journal()
        assert env.registry["aws.asg_set_capacity"].run(scale, env.ctx(plans=journal)).status == StepStatus.ok
        resumed = env.registry["aws.asg_set_capacity"].run(scale, env.ctx(attempt=2, plans=journal))
        assert resumed.detail == "already applied before the interruption: desired capacity already 3"
    assert moto.state(worker) in ("stopping", "stopped") and moto.desired("web") == 3
