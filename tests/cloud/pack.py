"""The default pack with the cloud rules, a schedule around now, and a real action wiring (store, guard,
notifier) pointed at a moto server: what the engine would run, built from its parts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from tagent.cloud.settings import Schedule
from tagent.detect import Detector
from tagent.model import Decision, Event, utcnow
from tagent.playbooks.runner import PlaybookRunner, RunOutcome
from tagent.policy.ruleset import RuleSet
from tagent.policy.validate import load_ruleset
from tagent.sandbox import Sandbox
from tests.actions.harness import Env, environment
from tests.cloud.motoserver import MotoAws

REPO = Path(__file__).resolve().parents[2]
CLOUD_RULES = ("idle-instance-stop.yaml", "asg-at-max-notify.yaml")


def default_pack() -> RuleSet:
    pack = load_ruleset([REPO / "rules", REPO / "playbooks"], relative_to=REPO, promtool=None)
    assert {Path(n).stem for n in CLOUD_RULES} <= set(pack.rules), "the cloud rules belong to the default pack"
    return pack


def schedule_around_now(open_now: bool = True) -> Schedule:
    """An idle-stop schedule that holds now (or one that does not)."""
    now = utcnow()
    if open_now:
        start, end = now - timedelta(hours=1), now + timedelta(hours=1)
    else:
        start, end = now + timedelta(hours=1), now + timedelta(hours=3)
    return Schedule(**{"from": start.strftime("%H:%M"), "to": end.strftime("%H:%M")})


@contextmanager
def wired(moto: MotoAws, tmp_path: Path, **aws: Any) -> Iterator[Env]:
    """Store, guard, notifier (a local Slack-format receiver) and the catalog with AWS pointed at moto."""
    aws.setdefault("idle_schedule", schedule_around_now())
    with Sandbox(speed=30) as sandbox, environment(sandbox, tmp_path) as env:
        yield env.variant(aws=moto.cloud(**aws))


def decide(pack: RuleSet, events: list[Event]) -> list[Decision]:
    detector = Detector(list(pack.rules.values()), "cloud-test")
    try:
        return [d for e in events for d in detector.process(e)]
    finally:
        detector.close()


def run_decision(env: Env, pack: RuleSet, decision: Decision, event: Event) -> RunOutcome:
    playbook = pack.playbook_for(decision.rule)
    assert playbook is not None, decision.rule
    runner = PlaybookRunner(env.store, env.registry, retry_backoff=0.01)
    run = runner.create(playbook.spec, playbook=playbook.name, origin=decision, target=decision.target, event=event,
                        params=decision.params, routes=["slack-oncall"])
    return runner.execute(run.id)
