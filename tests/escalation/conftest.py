"""The whole incident flow on real parts: sandbox cluster (speed 30), the default rule pack, SQLite, the
guard, apprise to local Slack and Teams receivers, Twilio's REST API on a local receiver, and a clock that
the test moves (a seam, not a mock: every part reads time from it)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from tagent.actions import ActionDeps, build_registry
from tagent.escalation import Escalation
from tagent.guard import Guard
from tagent.incidents import IncidentService, Knobs, TickReport, incident_service
from tagent.llm import Redactor
from tagent.notify import Notifier
from tagent.policy import RuleSet, load_ruleset
from tagent.sandbox import Sandbox
from tagent.sandbox.receivers import WebhookReceiver
from tests.actions.harness import Env, environment

ROOT = Path(__file__).resolve().parents[2]
NIGHT = datetime(2026, 11, 26, 20, 30, tzinfo=UTC)  # 02:00 in Asia/Kolkata: inside the default night window
DAY = datetime(2026, 11, 26, 6, 30, tzinfo=UTC)  # 12:00 in Asia/Kolkata


class Clock:
    """Time as the test says; `advance` moves it."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


@pytest.fixture(scope="session")
def default_pack() -> RuleSet:
    return load_ruleset([ROOT / "rules", ROOT / "playbooks"], promtool=None)


@dataclass
class Flow:
    env: Env
    teams: WebhookReceiver
    clock: Clock
    manager: IncidentService
    ruleset: RuleSet

    def sent(self) -> None:
        """Do what the outbox holds now (notifications and calls go out after the transaction, in a thread)."""
        self.manager.outbox.drain()

    def tick(self, seconds: float) -> TickReport:
        report = self.manager.tick(self.clock.advance(seconds))
        self.sent()
        return report


def make_flow(env: Env, teams: WebhookReceiver, ruleset: RuleSet, start: datetime, *,
              settings_update: dict[str, Any] | None = None, **kw: Any) -> Flow:
    clock = Clock(start)
    urls = {**env.settings.notify_urls, "teams-sre": SecretStr(teams.teams_url())}
    settings = env.settings.model_copy(update={"notify_urls": urls, **(settings_update or {})})
    notifier = Notifier.from_settings(settings, attempts=2, backoff=0.01)
    env.extra["notifier"] = notifier
    guard = Guard(env.store, settings, clock=clock)
    deps = ActionDeps(**{**{k: getattr(env.deps, k) for k in ActionDeps.__dataclass_fields__},
                         "guard": guard, "clock": clock, "notifier": notifier})
    escalation = Escalation(env.store, notifier=notifier, caller=env.deps.caller, phones=settings.phones,
                            dashboard_url=settings.dashboard_url, redact=Redactor(settings.secret_values()),
                            call_backoff=0.01, retry_base=30.0)
    manager = incident_service(env.store, guard, build_registry(deps), lambda: ruleset, escalation=escalation,
                               clock=clock, secrets=settings.secret_values(), knobs=Knobs(**kw))
    return Flow(env, teams, clock, manager, ruleset)


@pytest.fixture
def flow(request: pytest.FixtureRequest, tmp_path: Path, default_pack: RuleSet) -> Iterator[Flow]:
    options: dict[str, Any] = dict(getattr(request, "param", None) or {})
    start = options.pop("start", NIGHT)
    with Sandbox(speed=30) as sandbox, environment(sandbox, tmp_path) as env, \
            WebhookReceiver(tls=True, cert_dir=tmp_path / "tls") as teams:
        f = make_flow(env, teams, options.pop("ruleset", default_pack), start,
                      settings_update=options.pop("settings", None), **options)
        try:
            yield f
        finally:
            f.manager.close()
            env.extra["notifier"].close()
