"""Issue 14's storm guarantees on the real engine process: 1,000 Alertmanager alerts over 50 workloads, posted
to `tagent run`'s webhook as fast as it takes them, two alert rules per workload, a rate limit that lets only
some workloads act, notifications to a local chat receiver.

- one incident per workload: the second rule's alerts join it, re-detections are evidence;
- decisions the rate limit refused are recorded as such and take no cooldown; only workloads that acted
  are cooling down;
- one page per incident: in a storm the outbox sends a few one by one and a digest for the rest; nothing
  is said about cooldown refusals;
- every playbook that started finished, and the engine kept up (no dropped event).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import httpx
import pytest

from tagent.sandbox.receivers.webhook import WebhookReceiver
from tagent.sandbox.scenario import generated_scenario
from tagent.store import RunStatus, Store
from tests.incidents.procs import sandbox_up as sandbox_process
from tests.incidents.procs import started, tagent
from tests.waiting import wait_for

pytestmark = [pytest.mark.xdist_group("incidents-storm"), pytest.mark.timeout(600)]
WORKLOADS = 50
ALERTS = 1000
ACTING = 12  # the rate limit: mutations per hour
TOKEN = "storm-webhook-token"
RULES = """apiVersion: tagent.io/v1
kind: Rule
metadata: {name: crashloop-alert}
spec:
  severity: warning
  when: {alert: {alertname: KubePodCrashLooping}}
  then: {playbook: restart-workload}
  mode: auto
  cooldown: 10m
---
apiVersion: tagent.io/v1
kind: Rule
metadata: {name: restarts-alert}
spec:
  severity: warning
  when: {alert: {alertname: KubePodRestartsHigh}}
  then: {playbook: restart-workload}
  mode: auto
  cooldown: 10m
---
apiVersion: tagent.io/v1
kind: EscalationPolicy
metadata: {name: default}
spec:
  routes:
    - severity: [warning, critical]
      notify: [chat]
"""
PLAYBOOK = """apiVersion: tagent.io/v1
kind: Playbook
metadata: {name: restart-workload}
spec:
  steps:
    - name: restart
      action: kubernetes.rollout_restart
      with: {namespace: "{{ target.namespace }}", name: "{{ target.name }}"}
"""


def _alerts(names: list[str], start: int, count: int) -> dict[str, object]:
    alerts = []
    for n in range(start, start + count):
        name = names[n % len(names)]
        alertname = "KubePodCrashLooping" if (n // len(names)) % 2 == 0 else "KubePodRestartsHigh"
        alerts.append({"status": "firing", "labels": {"alertname": alertname, "namespace": "team-0",
                                                       "deployment": name, "n": str(n)}})
    return {"version": "4", "status": "firing", "receiver": "tagent", "groupKey": "storm", "alerts": alerts}


def test_a_storm_of_alerts_gives_one_incident_and_one_page_per_workload(tmp_path: Path) -> None:
    scenario = generated_scenario(WORKLOADS, replicas=1, per_namespace=WORKLOADS)
    names = [w.name for w in scenario.spec.workloads]
    (tmp_path / "pack" / "rules").mkdir(parents=True)
    (tmp_path / "pack" / "playbooks").mkdir()
    (tmp_path / "pack" / "rules" / "storm.yaml").write_text(RULES)
    (tmp_path / "pack" / "playbooks" / "restart.yaml").write_text(PLAYBOOK)
    db = tmp_path / "tagent.db"
    with WebhookReceiver() as chat, sandbox_process(scenario, tmp_path) as kubeconfig:
        extra = {"TAGENT_DATA_DIR": str(tmp_path / "data"), "TAGENT_WEBHOOK_TOKEN": TOKEN,
                 "TAGENT_API_TOKEN": "storm-api-token", "TAGENT_NOTIFY_URLS": json.dumps({"chat": chat.json_url()}),
                 "TAGENT_NOTIFY_MIN_INTERVAL": "0", "TAGENT_RATE_LIMIT_GLOBAL_PER_HOUR": str(ACTING),
                 "TAGENT_RATE_LIMIT_NAMESPACE_PER_HOUR": "1000", "TAGENT_BLAST_RADIUS_WORKLOADS_PER_WINDOW": "1000",
                 "TAGENT_METRICS_INTERVAL": "60"}
        cmd = tagent("run", "--kubeconfig", str(kubeconfig), "--rules", str(tmp_path / "pack"), "--db",
                     f"sqlite:///{db}", "--port", "0")
        with started(cmd, tmp_path / "engine.log", extra) as engine:
            port = engine.wait_line(r"Uvicorn running on http://127\.0\.0\.1:(\d+)", 90).group(1)
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30,
                              headers={"Authorization": f"Bearer {TOKEN}"}) as api:
                for start in range(0, ALERTS, 100):
                    answer = api.post("/api/alerts/alertmanager", json=_alerts(names, start, 100))
                    assert answer.status_code == 200 and answer.json() == {"accepted": 100}, answer.text
            store = Store.open(f"sqlite:///{db}")
            try:
                wait_for(lambda: len(store.decisions.list(limit=5000)) >= ALERTS, 120, "every alert decided")
                wait_for(lambda: all(r.status != RunStatus.running for r in store.runs.list(limit=1000)), 60,
                         "the playbooks to finish")
                wait_for(lambda: not store.lifecycle.pending_outbox(), 60, "the outbox to be sent")
                _check(store, chat, names, engine.text())
            finally:
                store.close()


def _check(store: Store, chat: WebhookReceiver, names: list[str], log: str) -> None:
    incidents = store.incidents.list(limit=1000)
    per_workload = Counter(i.target.name for i in incidents)
    assert set(per_workload) == set(names) and set(per_workload.values()) == {1}, per_workload
    records = store.decisions.list(limit=5000)
    assert len(records) == ALERTS, "every alert is a decision, recorded"
    reasons = Counter(r.verdict.reason for r in records if r.verdict is not None)
    assert reasons["ok"] == ACTING, reasons  # the rate limit let exactly this many act
    assert reasons["rate_limit_global"] >= WORKLOADS - ACTING, reasons  # the rest: refused as rate-limited
    assert reasons["joined_incident"] > 0 and reasons["cooldown"] > 0, reasons
    acted = {r.decision.target.key for r in records if r.verdict is not None and r.verdict.allowed}
    cooling = {(c.rule, c.target_key) for c in store.cooldowns.active(incidents[0].opened_at)}
    assert {key for _, key in cooling} == acted, "only workloads that acted are cooling down"
    runs = store.runs.list(limit=1000)
    assert len(runs) == ACTING and all(r.status == RunStatus.succeeded for r in runs), runs
    # distinct messages: a receiver slow to answer under load makes apprise post again (delivery is
    # at-least-once); what is checked here is what Tagent decided to send
    messages = list({(m.title, m.text): m for m in chat.messages()}.values())
    mentions = Counter(n for m in messages for n in names if f"team-0/{n}:" in m.text or f"team-0/{n}:" in m.title)
    about = {n: [m.title for m in messages if f"team-0/{n}:" in m.text or f"team-0/{n}:" in m.title] for n in names}
    assert max(mentions.values()) <= 2, {n: about[n] for n in names if mentions[n] > 2}  # opened, resolved
    assert all(mentions[n] == 1 for n in names if f"Deployment/team-0/{n}" not in acted), mentions
    assert any("more incidents opened" in m.title for m in messages), [m.title for m in messages]
    sends = {i.target.name: len(store.notifications.list(incident_id=i.id)) for i in incidents}
    assert max(sends.values()) <= 2, sends  # what Tagent sent itself: at most opened + resolved per incident
    assert not any("cooldown" in m.text for m in messages), "cooldown refusals tell nobody"
    assert "event queue full" not in log and "Traceback" not in log, log[-3000:]
