"""Chat with servers (issue 17): the chat service over the sandbox cluster and a moto server. Lists and counts
running instances, stops one only after confirmation (through the catalog action, the guard and the audit),
finds instances by fuzzy Name, asks back on ambiguity, scales an Auto Scaling group within bounds, and leaves
Kubernetes requests to the Kubernetes chat."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tagent.chat.intent import TargetKind
from tagent.chat.reply import ReplyStatus, ResultStatus
from tagent.chat.servers import ServerChat
from tagent.chat.service import ChatService
from tagent.clients.kubernetes import KubeClient
from tagent.settings import Settings
from tagent.store import Store
from tests.cloud.motoserver import REGION, MotoAws


@dataclass
class Chat:
    service: ServerChat
    store: Store
    moto: MotoAws


@pytest.fixture
def chat(kubeconfig: Path, tmp_path: Path, moto: MotoAws) -> Iterator[Chat]:
    kube = KubeClient.from_kubeconfig(kubeconfig)
    store = Store.open(f"sqlite:///{tmp_path / 'chat.db'}")
    inner = ChatService.from_settings(Settings(data_dir=tmp_path), kube=kube, store=store,
                                      clock=lambda: datetime.now(UTC))
    try:
        yield Chat(ServerChat(inner, moto.cloud()), store, moto)
    finally:
        store.close()
        kube.close()


def test_lists_running_instances_and_stops_one_after_confirmation(chat: Chat) -> None:
    worker = chat.moto.launch("batch-worker", instance_type="m5.large")
    web = chat.moto.launch("web-1")
    old = chat.moto.launch("old-box")
    chat.moto.stop(old)

    listing = chat.service.ask("list the servers", "alice")
    assert listing.status is ReplyStatus.answered
    assert listing.answer.startswith(f"AWS: 2 running EC2 instances ({REGION}: 2).")
    assert f"batch-worker ({worker}): running, m5.large" in listing.answer
    assert f"old-box ({old}): stopped" in listing.answer

    reply = chat.service.ask("please stop the batch wroker instance", "alice")  # a typo, like workloads
    assert reply.status is ReplyStatus.confirm and reply.token, reply.answer
    assert reply.intent.target is not None and reply.intent.target.kind is TargetKind.instance
    assert reply.intent.target.name == worker
    assert f"aws ec2 stop-instances --instance-ids {worker} --region {REGION}" in reply.answer
    assert chat.moto.state(worker) == "running"  # nothing before the confirmation

    result = chat.service.confirm(reply.token or "", "alice")
    assert result.status is ResultStatus.done, result.answer
    assert chat.moto.state(worker) in ("stopping", "stopped") and chat.moto.state(web) == "running"
    again = chat.service.confirm(reply.token or "", "alice")
    assert again.status is ResultStatus.refused and again.reason == "used"

    started = chat.service.ask("start the old-box server", "alice")
    assert started.status is ReplyStatus.confirm and f"aws ec2 start-instances --instance-ids {old}" in started.answer
    assert chat.service.confirm(started.token or "", "alice").status is ResultStatus.done
    assert chat.moto.state(old) in ("pending", "running")

    rows = [r for r in reversed(chat.store.audit.list()) if old not in r.target_key]
    assert [(r.action, r.result) for r in rows] == [
        ("chat.request", "answered"), ("chat.request", "confirm"), ("aws.ec2_stop", "ok"), ("chat.confirm", "done"),
        ("chat.confirm", "refused")]
    assert rows[2].actor == "chat:alice" and rows[2].target_key == f"Instance/{REGION}/{worker}"
    assert [s.target.name for s in chat.store.savings.list()] == [worker]


def test_confirmation_is_for_the_asker_and_can_be_declined(chat: Chat) -> None:
    web = chat.moto.launch("web-1")
    reply = chat.service.ask(f"reboot {web}", "alice")
    assert reply.status is ReplyStatus.confirm and "aws ec2 reboot-instances" in reply.answer
    stolen = chat.service.confirm(reply.token or "", "mallory")
    assert stolen.status is ResultStatus.refused and stolen.reason == "other_user"
    other = chat.service.ask(f"reboot {web}", "alice")
    vouched = chat.service.confirm(other.token or "", "bob", approver=True)  # a channel's approver
    assert vouched.status is ResultStatus.done, vouched.answer
    declined = chat.service.decline(reply.token or "", "alice")
    assert declined.status is ResultStatus.declined
    assert chat.service.confirm(reply.token or "", "alice").status is ResultStatus.refused
    assert [r.actor for r in chat.store.audit.list() if r.action == "aws.ec2_reboot"] == ["chat:bob"]


def test_two_close_names_are_a_question(chat: Chat) -> None:
    chat.moto.launch("web-1")
    chat.moto.launch("web-2")
    reply = chat.service.ask("stop the web instance", "alice")
    assert reply.status is ReplyStatus.question and reply.token is None
    assert "web-1" in reply.answer and "web-2" in reply.answer
    assert chat.store.approvals.pending() == []


def test_the_issue_example_scales_the_web_asg(chat: Chat) -> None:
    chat.moto.group("web", minimum=2, maximum=8, desired=2)
    reply = chat.service.ask("scale the web ASG to 4", "alice")
    assert reply.status is ReplyStatus.confirm and reply.intent.target is not None, reply.answer
    assert (reply.intent.target.kind, reply.intent.target.name, reply.intent.params.replicas) == (
        TargetKind.server_group, "web", 4)
    assert chat.moto.desired("web") == 2
    assert chat.service.confirm(reply.token or "", "alice").status is ResultStatus.done
    assert chat.moto.desired("web") == 4


def test_group_scaled_within_bounds_and_refused_beyond(chat: Chat) -> None:
    chat.moto.group("web-asg", minimum=1, maximum=4, desired=2)
    reply = chat.service.ask("scale the web-asg auto scaling group to 4", "alice")
    assert reply.status is ReplyStatus.confirm, reply.answer
    assert "from 2 to 4 instances" in reply.answer and "--desired-capacity 4" in reply.answer
    assert chat.service.confirm(reply.token or "", "alice").status is ResultStatus.done
    assert chat.moto.desired("web-asg") == 4

    beyond = chat.service.ask("scale the web-asg asg to 9", "alice")
    result = chat.service.confirm(beyond.token or "", "alice")
    assert result.status is ResultStatus.refused and result.reason == "out_of_bounds", result.answer
    assert "outside web-asg's bounds 1..4" in result.answer and chat.moto.desired("web-asg") == 4


@pytest.mark.parametrize("sandbox", [{}], indirect=True)
def test_how_many_servers_counts_nodes_and_instances(chat: Chat) -> None:
    chat.moto.launch("web-1")
    chat.moto.launch("web-2")
    reply = chat.service.ask("How many servers are running right now?", "alice")
    assert reply.status is ReplyStatus.answered
    first, aws = reply.answer.splitlines()[0], reply.answer.splitlines()[-1]
    assert "node" in first.lower()
    assert aws == f"AWS: 2 running EC2 instances ({REGION}: 2)."
    assert reply.data["aws_running"] == {REGION: 2}


def test_kubernetes_requests_stay_kubernetes(chat: Chat) -> None:
    chat.moto.launch("payment-service")  # an instance with a workload's name
    reply = chat.service.ask("restart payment-service", "alice")
    assert reply.status is ReplyStatus.confirm
    assert reply.intent.target is not None and reply.intent.target.kind is TargetKind.deployment
    assert reply.intent.command == "kubectl rollout restart deployment/payment-service -n shop"
