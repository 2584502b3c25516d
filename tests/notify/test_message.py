"""The notification text: what happened, on what, what Tagent did or proposes, the dashboard link."""

from __future__ import annotations

from tagent.model.core import Incident, IncidentStatus, Severity, TimelineEntry, WorkloadRef
from tagent.notify import NotifyKind, build_message, incident_link


def incident(**changes: object) -> Incident:
    base = Incident(
        id="inc-1", fingerprint="crashloop-restart/Deployment/shop/payment-service", rule="crashloop-restart",
        target=WorkloadRef(namespace="shop", name="payment-service"), severity=Severity.critical,
        timeline=[
            TimelineEntry(kind="event", summary="pod payment-service-7d9 CrashLoopBackOff (token=abc123)"),
            TimelineEntry(kind="step", summary="restart", data={"step": "restart", "status": "ok"}),
        ])
    return base.model_copy(update=changes)


def test_message_says_what_where_what_was_done_and_links() -> None:
    msg = build_message(incident(), "http://dash:8501/", redact=lambda s: s.replace("abc123", "[REDACTED]"))
    assert msg.title == "[CRITICAL] crashloop-restart on shop/payment-service: open"
    assert msg.kind == NotifyKind.failure
    lines = msg.body.splitlines()
    assert lines[0] == "What happened: pod payment-service-7d9 CrashLoopBackOff (token=[REDACTED])"
    assert lines[1] == "On: Deployment shop/payment-service"
    assert lines[2] == "Tagent did: restart (ok)"
    assert lines[-1] == "Incident: http://dash:8501/?incident=inc-1" == f"Incident: {msg.incident_url}"
    assert "abc123" not in msg.body


def test_message_for_a_proposal_and_for_a_resolution() -> None:
    proposal = build_message(incident(timeline=[], status=IncidentStatus.awaiting_ack), "http://d",
                             proposes="roll back checkout to revision 41 (press 2 on the call)")
    assert "What happened: rule crashloop-restart matched" in proposal.body
    assert "Tagent proposes: roll back checkout to revision 41 (press 2 on the call)" in proposal.body
    assert "Tagent did" not in proposal.body and proposal.title.endswith("waiting for a person")
    resolved = build_message(incident(status=IncidentStatus.resolved), "http://d", did="restarted the deployment")
    assert resolved.kind == NotifyKind.success and "Tagent did: restarted the deployment" in resolved.body
    assert incident_link("http://d/", "a b") == "http://d/?incident=a%20b"
