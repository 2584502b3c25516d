"""Issue 16: "explain incident <id>" and "why did <workload> crash?" explain THAT incident, from the store.

Through the chat service against the sandbox cluster (real Kubernetes client) with a real SQLite store, in
the team's zone (Asia/Kolkata, as the default escalation policy): the answer tells the incident's own
evidence and steps at their IST times, and its citations name the timeline entries it used.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tagent.chat.reply import ReplyStatus
from tagent.chat.service import ChatService
from tagent.clients.kubernetes import KubeClient
from tagent.model import Incident, IncidentStatus, Severity, TimelineEntry, WorkloadRef
from tagent.settings import Settings
from tagent.store import Store
from tests.chat.test_service import Clock

IST = ZoneInfo("Asia/Kolkata")


def crash(name: str, broke: datetime, message: str, *, resolved: bool = True) -> Incident:
    at = lambda s: broke + timedelta(seconds=s)  # noqa: E731
    timeline = [
        TimelineEntry(at=at(0), kind="event", summary=f"CrashLoopBackOff on {name}-1",
                      data={"reason": "CrashLoopBackOff", "message": message}),
        TimelineEntry(at=at(3), kind="decision", summary="playbook restart-workload (auto)"),
        TimelineEntry(at=at(5), kind="step", summary="restart ok",
                      data={"step": "restart", "action": "kubernetes.rollout_restart", "status": "ok"}),
    ]
    return Incident(fingerprint=f"crashloop-restart/Deployment/shop/{name}/{broke.isoformat()}",
                    rule="crashloop-restart", severity=Severity.critical,
                    target=WorkloadRef(namespace="shop", name=name),
                    opened_at=at(3), mitigated_at=at(8) if resolved else None, resolved_at=at(20) if resolved else None,
                    status=IncidentStatus.resolved if resolved else IncidentStatus.open, timeline=timeline)


@pytest.fixture
def chat(kubeconfig: Path, tmp_path: Path) -> Iterator[tuple[ChatService, Store]]:
    kube = KubeClient.from_kubeconfig(kubeconfig)
    store = Store.open(f"sqlite:///{tmp_path / 'chat.db'}")
    clock = Clock(datetime(2026, 11, 26, 4, 0, tzinfo=UTC))  # 9:30 AM IST
    try:
        yield ChatService.from_settings(Settings(data_dir=tmp_path), kube=kube, store=store, clock=clock,
                                        timezone=IST), store
    finally:
        store.close()
        kube.close()


@pytest.mark.parametrize("sandbox", [{}], indirect=True)
def test_explain_incident_by_id_tells_that_incident_grounded_in_ist(chat: tuple[ChatService, Store]) -> None:
    service, store = chat
    first = crash("payment-service", datetime(2026, 11, 25, 20, 45, tzinfo=UTC), "panic: nil map in charge()")
    second = crash("payment-service", datetime(2026, 11, 25, 22, 10, tzinfo=UTC), "OOM: heap exhausted")
    other = crash("checkout", datetime(2026, 11, 25, 21, 0, tzinfo=UTC), "db connection refused", resolved=False)
    for incident in (first, second, other):
        store.incidents.open(incident)
    store.postmortems.save(first.id, "# Post-mortem\n", at=first.opened_at, title="payment-service nil map")

    reply = service.ask(f"explain incident {first.id}", "alice")
    assert reply.status is ReplyStatus.answered, reply.answer
    assert reply.data["incident"]["id"] == first.id and [i["id"] for i in reply.data["incidents"]] == [first.id]
    assert "panic: nil map in charge()" in reply.answer and "OOM" not in reply.answer  # that one, not the latest
    assert "2:15 AM IST" in reply.answer  # 20:45 UTC is 2:15 AM in India
    assert "kubernetes.rollout_restart" in reply.answer and "payment-service nil map" in reply.answer
    assert "UTC" not in reply.answer
    cited = reply.data["citations"]
    assert {c["incident_id"] for c in cited} == {first.id}
    assert [c["kind"] for c in cited] == ["event", "decision", "step"]
    assert cited[0]["local"] == "2:15 AM IST" and cited[0]["summary"] == "CrashLoopBackOff on payment-service-1"
    assert all(f"[{n}]" in reply.answer for n in range(1, len(cited) + 1))

    by_prefix = service.ask(f"explain inc-{other.id[:10]}", "alice")  # a prefix is enough when it is unique
    assert by_prefix.data["incident"]["id"] == other.id and "db connection refused" in by_prefix.answer
    assert "needs a person" in by_prefix.answer

    missing = service.ask("explain incident 0123456789abcdef", "alice")
    assert missing.status is ReplyStatus.answered and "no incident 0123456789abcdef" in missing.answer
    assert missing.data["incidents"] == []


@pytest.mark.parametrize("sandbox", [{}], indirect=True)
def test_why_did_a_workload_crash_explains_its_latest_incident(chat: tuple[ChatService, Store]) -> None:
    service, store = chat
    older = crash("payment-service", datetime(2026, 11, 24, 20, 45, tzinfo=UTC), "panic: nil map in charge()")
    latest = crash("payment-service", datetime(2026, 11, 25, 22, 10, tzinfo=UTC), "OOM: heap exhausted")
    elsewhere = crash("checkout", datetime(2026, 11, 25, 23, 0, tzinfo=UTC), "db connection refused")
    for incident in (older, latest, elsewhere):
        store.incidents.open(incident)

    reply = service.ask("why did payment-service crash?", "alice")
    assert reply.status is ReplyStatus.answered, reply.answer
    assert reply.data["incident"]["id"] == latest.id
    assert "OOM: heap exhausted" in reply.answer and "3:40 AM IST" in reply.answer
    assert "nil map" not in reply.answer and "checkout" not in reply.answer

    before = service.ask("why did payment-service crash yesterday?", "alice")  # 25 Nov in IST
    assert before.data["incident"]["id"] == older.id and "nil map" in before.answer

    listing = service.ask("what happened last night?", "alice")  # the period list keeps working, in IST
    assert [i["id"] for i in listing.data["incidents"]] == [latest.id, elsewhere.id]
    assert "3:40 AM IST" in listing.answer
