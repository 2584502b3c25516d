""""What happened last night?" in chat, on the engine the composition root builds: the team's night (the
escalation policy's Asia/Kolkata) on the engine's clock, not the UTC night of the server."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tagent.app.build import build_engine
from tagent.app.engine import Engine
from tagent.model import IncidentStatus
from tagent.settings import Settings
from tests.debrief.nightdata import NOW, add, at

REPO = Path(__file__).resolve().parents[2]


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def engine(tmp_path: Path, kubeconfig: Path) -> Iterator[Engine]:
    pack = tmp_path / "pack"
    for part in ("rules", "playbooks"):
        shutil.copytree(REPO / part, pack / part)
    built = build_engine(Settings(data_dir=tmp_path / "data", kubeconfig=kubeconfig, rules=str(pack)),
                         clock=Clock())
    try:
        yield built
    finally:
        built.store.close()
        built.kube.close()


def test_last_night_is_the_teams_night(engine: Engine) -> None:
    store = engine.store
    late = add(store, "checkout", "bad-deploy-rollback", IncidentStatus.resolved, at(23, 0, day=1),
               "kubernetes.rollout_undo")  # 17:30 UTC: before a UTC "last night" even starts
    deep = add(store, "payment-service", "crashloop-restart", IncidentStatus.resolved, at(2, 15),
               "kubernetes.rollout_restart")
    add(store, "cart", "high-cpu-scale-up", IncidentStatus.resolved, at(19, 0, day=1), "kubernetes.scale")
    assert engine.chat is not None
    reply = engine.chat.ask("what happened last night?", "alice")
    assert [i["id"] for i in reply.data["incidents"]] == [late.id, deep.id]
    assert reply.answer.startswith("2 incidents last night (2026-12-01 20:00 IST to 2026-12-02 07:30 IST):")
    assert "\n- 11:00 PM IST critical bad-deploy-rollback on shop/checkout: resolved" in reply.answer
    assert "\n- 2:15 AM IST critical crashloop-restart on shop/payment-service: resolved" in reply.answer
    assert "cart" not in reply.answer


def test_the_engine_clock_decides_what_last_night_is(engine: Engine) -> None:
    add(engine.store, "payment-service", "crashloop-restart", IncidentStatus.resolved, at(2, 15),
        "kubernetes.rollout_restart")
    clock = engine.clock
    assert isinstance(clock, Clock)
    clock.now = NOW + timedelta(days=1)  # the next morning: that night is "yesterday", not last night
    assert engine.chat is not None
    assert engine.chat.ask("what happened last night?", "alice").answer.startswith("No incidents last night")
