from datetime import UTC, datetime, timedelta

from tagent.debrief.postmortem import durations, render_postmortem
from tagent.model import Incident, IncidentStatus, Severity, TimelineEntry, WorkloadRef

T0 = datetime(2026, 11, 26, 2, 0, 0, tzinfo=UTC)


def incident() -> Incident:
    at = lambda s: T0 + timedelta(seconds=s)  # noqa: E731
    return Incident(
        fingerprint="crashloop-restart/Deployment/shop/payment-service",
        rule="crashloop-restart",
        target=WorkloadRef(namespace="shop", name="payment-service"),
        status=IncidentStatus.resolved,
        severity=Severity.critical,
        rules_version="abc1234",
        opened_at=at(3),
        mitigated_at=at(8),
        resolved_at=at(20),
        timeline=[
            TimelineEntry(at=at(0), kind="event", summary="CrashLoopBackOff on payment-service-1",
                          data={"reason": "CrashLoopBackOff", "values": {"restarts": 4},
                                "message": "back-off restarting container password=hunter2"}),
            TimelineEntry(at=at(3), kind="decision", summary="playbook restart-workload (auto)"),
            TimelineEntry(at=at(5), kind="step", summary="restart ok",
                          data={"step": "restart", "action": "kubernetes.rollout_restart", "status": "ok",
                                "command": "kubectl rollout restart deployment/payment-service -n shop"}),
            TimelineEntry(at=at(20), kind="status", summary="resolved: workload healthy"),
        ],
    )


def test_durations_count_from_when_it_broke() -> None:
    d = durations(incident())
    assert d == {"time_to_detect_s": 3.0, "time_to_acknowledge_s": None, "time_to_mitigate_s": 8.0,
                 "time_to_resolve_s": 20.0}


def test_postmortem_has_the_facts_and_redacts() -> None:
    md = render_postmortem(incident(), redact=lambda s: s.replace("hunter2", "****"))
    assert md.startswith("# Post-mortem: crashloop-restart on shop/payment-service")
    assert "`abc1234`" in md
    assert "| detected | 2026-11-26 02:00:03 UTC | 3 s |" in md
    assert "| resolved | 2026-11-26 02:00:20 UTC | 20 s |" in md
    assert "`kubectl rollout restart deployment/payment-service -n shop`" in md
    assert "hunter2" not in md and "password=****" in md
    assert "Nobody acknowledged" in md


def test_every_list_of_moments_is_in_time_order() -> None:
    """Issue 14: post-mortem timelines were not in time order (the rule's match came after evidence seen
    later; entries recorded late, or in another time zone, kept their place)."""
    import re
    from datetime import timezone

    case = incident()
    plus2 = timezone(timedelta(hours=2))
    late = [TimelineEntry(at=(T0 + timedelta(seconds=s)).astimezone(plus2), kind=kind, summary=summary)
            for s, kind, summary in ((1, "event", "BackOff again"), (9, "event", "probe failed"),
                                     (2, "notification", "paged on-call"), (4, "ack", "acknowledged by ana"))]
    case.timeline = [case.timeline[-1], *late, *case.timeline[:-1]]  # stored out of order
    md = render_postmortem(case)
    stamp = re.compile(r"^- (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC")
    for section in md.split("\n## ")[1:]:
        times = [m.group(1) for line in section.splitlines() if (m := stamp.match(line))]
        assert times == sorted(times), section
    happened = md.split("## What happened")[1].split("##")[0]
    assert happened.index("02:00:01 UTC: BackOff again") < happened.index("02:00:03 UTC: rule") \
        < happened.index("02:00:09 UTC: probe failed")
    timeline = md.split("## Timeline")[1].split("##")[0]
    assert [line.split("] ")[1] for line in timeline.strip().splitlines()] == [
        "CrashLoopBackOff on payment-service-1", "BackOff again", "paged on-call", "playbook restart-workload (auto)",
        "acknowledged by ana", "restart ok", "probe failed", "resolved: workload healthy"]


def test_postmortem_times_are_the_teams_local_time_with_its_zone() -> None:
    """Issue 16: every post-mortem time shows local time with its zone (the escalation policy's)."""
    from zoneinfo import ZoneInfo

    md = render_postmortem(incident(), tz=ZoneInfo("Asia/Kolkata"))
    assert "| broke | 2026-11-26 07:30:00 IST | 0 s |" in md  # 02:00 UTC is 07:30 in India
    assert "| detected | 2026-11-26 07:30:03 IST | 3 s |" in md
    assert "| 2026-11-26 07:30:05 IST | restart |" in md  # the step table too
    assert "- 2026-11-26 07:30:20 IST [status] resolved: workload healthy" in md
    assert "UTC" not in md
    winter = render_postmortem(incident(), tz=ZoneInfo("Europe/Berlin"))
    assert "| broke | 2026-11-26 03:00:00 CET | 0 s |" in winter
