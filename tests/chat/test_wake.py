"""'Wake up' / 'bring back' restores the count from before Tagent scaled a workload down (the savings ledger),
through the usual confirmation, and ends that saving; without a record it asks (sandbox cluster, real store)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tagent.chat.reply import ReplyStatus, ResultStatus
from tagent.chat.service import ChatService
from tagent.clients.kubernetes import KubeClient
from tagent.settings import Settings
from tagent.store import Store
from tests.api.conftest import wait_for


@pytest.fixture
def chat(kubeconfig: Path, tmp_path: Path) -> Iterator[tuple[ChatService, KubeClient, Store]]:
    kube = KubeClient.from_kubeconfig(kubeconfig)
    store = Store.open(f"sqlite:///{tmp_path / 'wake.db'}")
    try:
        yield ChatService.from_settings(Settings(data_dir=tmp_path), kube=kube, store=store), kube, store
    finally:
        store.close()
        kube.close()


def _run(service: ChatService, text: str) -> None:
    reply = service.ask(text, "alice")
    assert reply.status is ReplyStatus.confirm and reply.token, reply
    assert service.confirm(reply.token, "alice").status is ResultStatus.done


def test_wake_up_restores_the_count_from_before_the_scale_down_and_ends_the_saving(
        chat: tuple[ChatService, KubeClient, Store]) -> None:
    service, kube, store = chat
    assert kube.get_deployment("shop", "frontend").replicas == 3
    _run(service, "scale frontend down to 2")  # one pod of three: within the blast radius
    assert wait_for(lambda: kube.get_deployment("shop", "frontend").replicas == 2)
    [saving] = [s for s in store.savings.list() if s.target.name == "frontend"]
    assert saving.from_replicas == 3 and saving.ended_at is None

    reply = service.ask("bring the frontend back", "alice")
    assert reply.status is ReplyStatus.confirm, reply
    assert reply.intent.params.replicas == 3
    assert reply.intent.command == "kubectl scale deployment/frontend -n shop --replicas=3"
    assert "back to its count from before" in reply.answer and "from 2 to 3" in reply.answer
    assert service.confirm(reply.token or "", "alice").status is ResultStatus.done
    assert wait_for(lambda: kube.get_deployment("shop", "frontend").replicas == 3)
    [closed] = [s for s in store.savings.list() if s.target.name == "frontend"]
    assert closed.ended_at is not None


def test_wake_up_without_a_record_asks_and_runs_nothing(chat: tuple[ChatService, KubeClient, Store]) -> None:
    service, kube, _ = chat
    reply = service.ask("wake up checkout", "alice")
    assert reply.status is ReplyStatus.question and reply.token is None
    assert reply.reason == "restore_replicas" and "no open record" in reply.answer and "runs 2 now" in reply.answer
    explicit = service.ask("wake up checkout with 4 pods", "alice")
    assert explicit.status is ReplyStatus.confirm and explicit.intent.params.replicas == 4
    assert kube.get_deployment("shop", "checkout").replicas == 2
