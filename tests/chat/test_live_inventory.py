"""The parser against the inventory as the real Kubernetes client lists it from the sandbox cluster,
so the data-built inventory of the other tests cannot drift from what the cluster reports."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tagent.chat.parser import Parser
from tagent.clients.kubernetes.client import KubeClient
from tagent.model.inventory import NodeInfo, WorkloadInfo
from tagent.sandbox import Sandbox
from tests.chat.accuracy import PHRASINGS, check


@pytest.fixture(scope="module")
def inventory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[list[WorkloadInfo], list[NodeInfo]]]:
    path: Path = tmp_path_factory.mktemp("kube") / "kubeconfig"
    with Sandbox() as sandbox:
        client = KubeClient.from_kubeconfig(sandbox.write_kubeconfig(path))
        yield client.list_workloads(), client.list_nodes()


def test_seed_examples_against_the_live_inventory(inventory: tuple[list[WorkloadInfo], list[NodeInfo]]) -> None:
    parser = Parser(*inventory)
    assert parser.parse("How many servers are running right now?").command == "kubectl get nodes"
    scale = parser.parse("Scale the payment-service to 10 replicas.")
    assert scale.command == "kubectl scale deployment/payment-service -n shop --replicas=10"
    assert scale.summary == "scale shop/payment-service from 2 to 10 replicas"
    delete = parser.parse("Delete the test environment deployment.")
    assert delete.command == "kubectl delete deployment/test-env -n test" and delete.requires_confirmation
    assert parser.parse("restart the database").command == "kubectl rollout restart statefulset/postgres -n shop"


def test_phrasing_set_accuracy_against_the_live_inventory(inventory: tuple[list[WorkloadInfo], list[NodeInfo]]) -> None:
    parser = Parser(*inventory)
    cases = yaml.safe_load(PHRASINGS.read_text(encoding="utf-8"))
    failures = [c["text"] for c in cases if check(c, parser.parse(str(c["text"])))]
    assert 1 - len(failures) / len(cases) >= 0.95, failures
