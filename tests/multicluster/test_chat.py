"""Chat with two clusters: a named cluster is the only one acted on, and the confirmation names it; a workload
found in both clusters, with no cluster named, is a question listing them (nothing is prepared)."""

from __future__ import annotations

from pathlib import Path

from tagent.chat.reply import ReplyStatus, ResultStatus
from tagent.chat.service import ChatService
from tests.multicluster.conftest import Cluster, two_cluster_engine


def replicas(c: Cluster, name: str) -> int:
    return int(c.apps.read_namespaced_deployment(name, "shop").spec.replicas)


def test_scale_in_a_named_cluster_and_ask_which_one_otherwise(two_clusters: tuple[Cluster, Cluster],
                                                              tmp_path: Path) -> None:
    staging, prod = two_clusters
    engine = two_cluster_engine(staging, prod, tmp_path, home="staging", remote="prod")
    chat = engine.chat
    assert isinstance(chat, ChatService)
    try:
        before = {"staging": replicas(staging, "payment-service"), "prod": replicas(prod, "payment-service")}
        assert 4 not in before.values()

        unsure = chat.ask("scale payment-service to 4", user="asha")
        assert unsure.status is ReplyStatus.question and unsure.token is None
        assert unsure.reason == "ambiguous_cluster"
        assert "staging" in unsure.answer and "prod" in unsure.answer

        reply = chat.ask("scale payment-service in prod to 4", user="asha")
        assert reply.status is ReplyStatus.confirm and reply.token, reply.answer
        assert "prod" in reply.answer.splitlines()[0]
        assert reply.intent.target is not None and reply.intent.target.cluster == "prod"
        done = chat.confirm(reply.token, user="asha")
        assert done.status is ResultStatus.done, done.answer
        assert replicas(prod, "payment-service") == 4
        assert replicas(staging, "payment-service") == before["staging"]  # the other cluster is untouched

        for phrase in ("on cluster staging", "in the staging cluster"):
            again = chat.ask(f"scale payment-service {phrase} to 3", user="asha")
            assert again.status is ReplyStatus.confirm and "staging" in again.answer.splitlines()[0], again.answer
            assert again.intent.target is not None and again.intent.target.cluster == "staging"
        nowhere = chat.ask("scale payment-service on cluster qa to 3", user="asha")
        assert nowhere.status is ReplyStatus.question and nowhere.reason == "unknown_cluster"
        assert "staging" in nowhere.answer and "prod" in nowhere.answer

        audit = [a for a in engine.store.audit.list(limit=50) if a.action == "kubernetes.scale"]
        assert [(a.cluster, a.target_key) for a in audit] == [("prod", "prod:Deployment/shop/payment-service")]
    finally:
        engine.store.close()
