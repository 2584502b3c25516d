"""The cloud inventory source against moto (changes reported once, failures counted, never raised), the idle
schedule, and the `cloud` rule condition (validated and compiled like the other kinds)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tagent.cloud.base import Server, ServerGroup
from tagent.cloud.settings import Schedule
from tagent.detect import Detector
from tagent.errors import ValidationError
from tagent.model import Event, EventSource, WorkloadRef
from tagent.model.policy import condition_key
from tagent.policy.validate import load_ruleset
from tagent.sources.cloud import CloudQuery, CloudSource
from tests.cloud.motoserver import REGION, MotoAws


def test_inventory_changes_are_reported_once(moto: MotoAws) -> None:
    seen: list[tuple[list[Server], list[ServerGroup]]] = []
    web = moto.launch("web-1", instance_type="t3.small")
    moto.group("api", minimum=1, maximum=3, desired=1)
    cloud = moto.cloud()
    source = CloudSource(cloud, cloud.settings, [], lambda e: None, on_change=lambda s, g: seen.append((s, g)))
    source.poll_once()
    source.poll_once()
    assert len(seen) == 1
    servers, groups = seen[0]
    mine = next(s for s in servers if s.id == web)
    assert (mine.state, mine.type, mine.tags["Name"], mine.region) == ("running", "t3.small", "web-1", REGION)
    assert mine.launched_at is not None and mine.launched_at.tzinfo is not None
    assert [(g.name, g.desired, g.minimum, g.maximum, len(g.members)) for g in groups] == [("api", 1, 1, 3, 1)]
    assert any(s.group == "api" for s in servers)  # the group's member knows its group
    assert source.cpu == {}  # no datapoints yet
    moto.put_cpu(("InstanceId", web), [30.0, 50.0])
    source.poll_once()
    assert source.cpu == {web: 40.0} and len(seen) == 1  # CPU is not an inventory change
    moto.stop(web)
    source.poll_once()
    assert len(seen) == 2 and next(s for s in seen[1][0] if s.id == web).state == "stopped"


def test_unreachable_cloud_is_counted_not_raised(moto: MotoAws) -> None:
    cloud = moto.cloud(endpoint_url="http://127.0.0.1:9")
    source = CloudSource(cloud, cloud.settings, [CloudQuery("r#0", "instance", "CPUUtilization", "average", 3600)],
                         lambda e: None)
    assert source.poll_once() == 0
    assert source.stats["cloud_unreachable"] == 1 and source.servers == []


def test_schedule_windows() -> None:
    night = Schedule(**{"from": "19:00", "to": "07:00", "days": ("mon", "tue", "wed", "thu", "fri")})
    friday_night, saturday_early = datetime(2026, 12, 4, 23, 0, tzinfo=UTC), datetime(2026, 12, 5, 6, 0, tzinfo=UTC)
    saturday_night, monday_noon = datetime(2026, 12, 5, 23, 0, tzinfo=UTC), datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    assert night.open_at(friday_night) and night.open_at(saturday_early)  # Friday's night ends on Saturday
    assert not night.open_at(saturday_night) and not night.open_at(monday_noon)
    paris = Schedule(**{"from": "09:00", "to": "10:00", "timezone": "Europe/Paris"})
    assert paris.open_at(datetime(2026, 12, 7, 8, 30, tzinfo=UTC)) and not paris.open_at(
        datetime(2026, 12, 7, 9, 30, tzinfo=UTC))
    with pytest.raises(ValueError, match="unknown timezone 'Mars/Olympus'"):
        Schedule(timezone="Mars/Olympus")


RULE = """apiVersion: tagent.io/v1
kind: Rule
metadata: {name: idle}
spec:
  match: {kinds: [Instance]}
  when:
    cloud: %s
  mode: notify
"""


@pytest.mark.parametrize(("cond", "problem"), [
    ('{resource: vm, op: "<", value: 5}', "spec.when.cloud.resource"),
    ('{resource: instance, op: "<", value: 5, over: 1m}', "spec.when.cloud.over"),
    ('{resource: instance, op: "~", value: 5}', "spec.when.cloud.op"),
    ('{resource: instance, op: "<", value: 5, metric: "CPU Utilization"}', "spec.when.cloud.metric"),
    ('{resource: instance, op: "<", value: 5, windo: 1h}', "spec.when.cloud.windo: unknown field"),
])
def test_cloud_condition_is_validated(tmp_path: Path, cond: str, problem: str) -> None:
    path = tmp_path / "rule.yaml"
    path.write_text(RULE % cond)
    with pytest.raises(ValidationError) as err:
        load_ruleset([path], relative_to=tmp_path, promtool=None)
    assert problem in str(err.value) and str(err.value).count("\n") == 0


def test_cloud_condition_matches_its_own_events_only(tmp_path: Path) -> None:
    path = tmp_path / "rule.yaml"
    path.write_text(RULE % '{resource: instance, op: "<", value: 5, over: 1h}')
    rules = list(load_ruleset([path], relative_to=tmp_path, promtool=None).rules.values())
    detector = Detector(rules, "v1")
    ref = WorkloadRef(kind="Instance", namespace=REGION, name="i-0123456789abcdef0")

    def event(value: float, reason: str = condition_key("idle", 0), kind: str = "Instance") -> Event:
        return Event(source=EventSource("cloud"), kind="CloudMetric", reason=reason,
                     target=ref.model_copy(update={"kind": kind}), values={"value": value})

    try:
        assert detector.process(event(7.0)) == []
        assert detector.process(event(3.0, reason="other#0")) == []
        assert detector.process(event(3.0, kind="ServerGroup")) == []
        [decision] = detector.process(event(3.0))
        assert decision.rule == "idle" and decision.target == ref
    finally:
        detector.close()
