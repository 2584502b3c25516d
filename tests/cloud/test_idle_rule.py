"""Issue 17, against a real moto server: the default rule stops an idle EC2 instance (inventory source ->
CloudWatch -> detect engine -> playbook -> aws.ec2_stop) and records the saving; protected, busy, young and
out-of-schedule instances are left alone; an Auto Scaling group at max with high CPU is notified."""

from __future__ import annotations

from pathlib import Path

import pytest

from tagent.model import Event, StepStatus
from tagent.playbooks.runner import RunStatus
from tagent.sources.cloud import PROTECTED_LABEL, SCHEDULE_LABEL, CloudSource, cloud_queries
from tests.cloud.motoserver import REGION, MotoAws
from tests.cloud.pack import decide, default_pack, run_decision, schedule_around_now, wired

HOUR = [2.0, 1.5, 3.0, 2.2, 1.0, 2.5, 4.0, 1.2, 2.0, 3.1, 2.4, 1.9]  # 5-minute averages, all below 5 %


def _instance_ids(moto: MotoAws) -> list[str]:
    return [i["InstanceId"] for r in moto.client("ec2").describe_instances()["Reservations"] for i in r["Instances"]]


def _poll(moto: MotoAws, **settings: object) -> tuple[list[Event], CloudSource]:
    pack = default_pack()
    events: list[Event] = []
    cloud = moto.cloud(**settings)
    source = CloudSource(cloud, cloud.settings, cloud_queries(pack.rules.values()), events.append)
    source.poll_once()
    return events, source


def test_idle_instance_is_stopped_and_the_saving_recorded(moto: MotoAws, tmp_path: Path) -> None:
    idle = moto.launch("batch-worker", instance_type="m5.large")
    busy = moto.launch("web-1")
    protected = moto.launch("db-1", tags={"tagent.io/protect": "true"})
    young = moto.launch("new-1")
    moto.group("workers", minimum=1, maximum=2, desired=1)  # its member would be replaced if stopped
    [member] = [i for i in _instance_ids(moto) if i not in (idle, busy, protected, young)]
    for instance, values in ((idle, HOUR), (busy, [55.0] * 12), (protected, HOUR), (young, HOUR[:2]),
                             (member, HOUR)):
        moto.put_cpu(("InstanceId", instance), values)

    pack = default_pack()
    with wired(moto, tmp_path) as env:
        events: list[Event] = []
        source = CloudSource(env.deps.aws, env.deps.aws.settings, cloud_queries(pack.rules.values()), events.append)
        assert source.poll_once() == 4
        # ten minutes of data is no idle hour; the workers group has no group metrics at all
        assert source.stats["insufficient_data"] == 2
        assert {s.id for s in source.servers} == {idle, busy, protected, young, member}
        by_id = {e.target.name: e for e in events}
        assert by_id[idle].values["value"] == pytest.approx(sum(HOUR) / len(HOUR))
        assert by_id[protected].labels[PROTECTED_LABEL] == "true" and by_id[idle].labels[PROTECTED_LABEL] == "false"

        decisions = decide(pack, events)
        assert [(d.rule, d.target.name) for d in decisions] == [("idle-instance-stop", idle)]
        outcome = run_decision(env, pack, decisions[0], by_id[idle])
        assert outcome.status == RunStatus.succeeded, outcome.detail

        assert moto.state(idle) in ("stopping", "stopped")
        assert {moto.state(i) for i in (busy, protected, young, member)} == {"running"}
        stop = outcome.steps[0].result
        assert stop.status == StepStatus.ok and stop.data["hourly_saving"] == 0.096 and stop.data["currency"] == "USD"
        assert stop.command.startswith(f"aws ec2 stop-instances --instance-ids {idle} --region {REGION}")
        savings = env.store.savings.list()
        assert [(s.target.key, s.from_replicas, s.to_replicas) for s in savings] == [
            (f"Instance/{REGION}/{idle}", 1, 0)]
        assert "m5.large at 0.096 USD/h" in savings[0].reason and savings[0].ended_at is None
        audit = [a for a in env.store.audit.list() if a.action == "aws.ec2_stop"]
        assert len(audit) == 1 and audit[0].result == "ok" and audit[0].command == stop.command
        assert any(idle in m.text and "stopped" in m.text for m in env.hooks.messages())


def test_outside_the_schedule_nothing_is_stopped(moto: MotoAws) -> None:
    idle = moto.launch("batch-worker")
    moto.put_cpu(("InstanceId", idle), HOUR)
    events, _ = _poll(moto, idle_schedule=schedule_around_now(open_now=False))
    assert [e.labels[SCHEDULE_LABEL] for e in events] == ["closed"]
    assert decide(default_pack(), events) == []


def test_protected_region_marks_every_instance(moto: MotoAws) -> None:
    idle = moto.launch("batch-worker")
    moto.put_cpu(("InstanceId", idle), HOUR)
    events, _ = _poll(moto, idle_schedule=schedule_around_now(), protected_regions=(REGION,))
    assert [e.labels[PROTECTED_LABEL] for e in events] == ["true"]
    assert decide(default_pack(), events) == []


def test_group_at_max_with_high_cpu_is_notified(moto: MotoAws, tmp_path: Path) -> None:
    moto.group("web", minimum=1, maximum=3, desired=3)
    moto.group("api", minimum=1, maximum=6, desired=3)
    for name in ("web", "api"):
        moto.put_cpu(("AutoScalingGroupName", name), [91.0, 88.0, 95.0])
    events, _ = _poll(moto)
    pack = default_pack()
    decisions = decide(pack, events)
    assert [(d.rule, d.target.key) for d in decisions] == [("asg-at-max-notify", f"ServerGroup/{REGION}/web")]
    with wired(moto, tmp_path) as env:
        outcome = run_decision(env, pack, decisions[0], next(e for e in events if e.target.name == "web"))
        assert outcome.status == RunStatus.succeeded, outcome.detail
        assert [s.action for s in outcome.steps] == ["notify.send"]
        [message] = env.hooks.messages()
        assert "web in eu-west-1 is at its max size" in message.text and "= 91.33" in message.text
    assert moto.desired("web") == 3
