"""Issue 16: every chat answer tells a time in the team's zone: the wake-up's "scaled down at ..." included
(sandbox cluster, real store, the chat service in Asia/Kolkata)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tagent.chat.reply import ReplyStatus, ResultStatus
from tagent.chat.service import ChatService
from tagent.clients.kubernetes import KubeClient
from tagent.debrief.localtime import stamp
from tagent.settings import Settings
from tagent.store import Store
from tests.api.conftest import wait_for
from tests.chat.test_explain import IST


@pytest.fixture
def chat(kubeconfig: Path, tmp_path: Path) -> Iterator[tuple[ChatService, KubeClient, Store]]:
    kube = KubeClient.from_kubeconfig(kubeconfig)
    store = Store.open(f"sqlite:///{tmp_path / 'wake.db'}")
    try:
        yield ChatService.from_settings(Settings(data_dir=tmp_path), kube=kube, store=store, timezone=IST), kube, store
    finally:
        store.close()
        kube.close()


def test_wake_up_tells_when_it_was_scaled_down_in_the_teams_zone(
        chat: tuple[ChatService, KubeClient, Store]) -> None:
    service, kube, store = chat
    reply = service.ask("scale frontend down to 2", "alice")
    assert reply.status is ReplyStatus.confirm and reply.token, reply
    assert service.confirm(reply.token, "alice").status is ResultStatus.done
    assert wait_for(lambda: kube.get_deployment("shop", "frontend").replicas == 2)
    [saving] = [s for s in store.savings.list() if s.target.name == "frontend"]

    back = service.ask("bring the frontend back", "alice")
    assert back.status is ReplyStatus.confirm, back
    local = f"{saving.started_at.astimezone(IST):%Y-%m-%d} {stamp(saving.started_at, IST)}"
    assert f"at {local} (this ends that saving)" in back.answer and "UTC" not in back.answer, back.answer
    assert service.confirm(back.token or "", "alice").status is ResultStatus.done
