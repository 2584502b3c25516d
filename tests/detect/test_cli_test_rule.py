"""`tagent test-rule`: the contract (exit codes, one-line errors, JSON on stdout) through a real subprocess; the
rest in-process through the same typer app (the CLI takes seconds to import on a busy machine)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner, Result

from tagent.cli.main import app

RULE = """\
apiVersion: tagent.io/v1
kind: Rule
metadata: {name: crashloop-restart}
spec:
  severity: critical
  when:
    kubernetes: {reason: CrashLoopBackOff}
  then:
    playbook: restart-workload
    params: {reason: "{{ event.reason }} ({{ event.values.restarts | int }} restarts)"}
"""
PLAYBOOK = """\
apiVersion: tagent.io/v1
kind: Playbook
metadata: {name: restart-workload}
spec:
  steps:
    - name: restart
      action: kubernetes.rollout_restart
      with: {namespace: "{{ target.namespace }}", name: "{{ target.name }}", why: "{{ params.reason }}"}
    - action: kubernetes.wait_healthy
"""
CRASH_EVENT = {"source": "kubernetes", "kind": "PodState", "reason": "CrashLoopBackOff",
               "target": {"namespace": "shop", "name": "cart"}, "values": {"restarts": 4}}


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tagent", "test-rule", *args], capture_output=True, text=True,
                          timeout=120)


def run_here(*args: str) -> Result:
    return CliRunner().invoke(app, ["test-rule", *args])


def files(tmp_path: Path, rule: str = RULE, event: object = CRASH_EVENT, suffix: str = ".json") -> tuple[str, str]:
    (tmp_path / "rules").mkdir(parents=True)
    (tmp_path / "playbooks").mkdir()
    (tmp_path / "playbooks" / "restart.yaml").write_text(PLAYBOOK)
    rule_file = tmp_path / "rules" / "rule.yaml"
    rule_file.write_text(rule)
    event_file = tmp_path / f"event{suffix}"
    event_file.write_text(json.dumps(event) if not isinstance(event, str) else event)
    return str(rule_file), str(event_file)


def test_fires_with_params_and_steps(tmp_path: Path) -> None:
    rule_file, event_file = files(tmp_path)
    out = run(rule_file, "--event", event_file, "--output", "json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["fired"] is True
    [d] = result["decisions"]
    assert d["rule"] == "crashloop-restart" and d["playbook"] == "restart-workload"
    assert d["params"] == {"reason": "CrashLoopBackOff (4 restarts)"}
    assert d["playbook_found"] is True
    assert d["guard"] == {"allowed": True, "mode": "act", "reason": "ok", "detail": ""}
    assert d["steps"] == [
        {"name": "restart", "action": "kubernetes.rollout_restart",
         "with": {"namespace": "shop", "name": "cart", "why": "CrashLoopBackOff (4 restarts)"}},
        {"name": "step-2", "action": "kubernetes.wait_healthy", "with": {}},
    ]


def test_text_output(tmp_path: Path) -> None:
    rule_file, event_file = files(tmp_path)
    out = run_here(rule_file, "--event", event_file)
    assert out.exit_code == 0
    assert "FIRES  crashloop-restart on Deployment shop/cart" in out.stdout
    assert "kubernetes.rollout_restart" in out.stdout


def test_does_not_fire_exits_3(tmp_path: Path) -> None:
    rule_file, event_file = files(tmp_path, event={**CRASH_EVENT, "reason": "OOMKilled"})
    out = run(rule_file, "--event", event_file, "-o", "json")
    assert out.returncode == 3
    assert json.loads(out.stdout)["fired"] is False


def test_event_list_drives_a_for_window(tmp_path: Path) -> None:
    rule = RULE.replace("kubernetes: {reason: CrashLoopBackOff}",
                        'metrics: {name: cpu_utilization, op: ">", value: 0.8, for: 2m}').replace(
                        "({{ event.values.restarts | int }} restarts)", "")
    samples = [{"source": "metrics", "kind": "Metric", "reason": "cpu_utilization", "values": {"value": 0.9},
                "target": {"namespace": "shop", "name": "cart"}, "observed_at": f"2024-01-01T00:0{m}:00Z"}
               for m in range(3)]
    rule_file, event_file = files(tmp_path, rule=rule, event=samples[:2])
    assert run_here(rule_file, "--event", event_file).exit_code == 3
    Path(event_file).write_text(json.dumps(samples))
    out = run_here(rule_file, "--event", event_file, "-o", "json")
    assert out.exit_code == 0
    assert [d["event_index"] for d in json.loads(out.stdout)["decisions"]] == [2]


def test_bad_rule_file_is_one_line_with_its_line_number(tmp_path: Path) -> None:
    rule_file, event_file = files(tmp_path, rule=RULE.replace("severity: critical", "severty: critical"))
    out = run(rule_file, "--event", event_file)
    assert out.returncode == 1
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
    assert "rule.yaml:5:" in out.stderr and "unknown field" in out.stderr


def test_bad_event_file_is_one_line(tmp_path: Path) -> None:
    rule_file, event_file = files(tmp_path, event="source: kubernetes\nkind: [unclosed\n", suffix=".yaml")
    out = run(rule_file, "--event", event_file)
    assert out.returncode == 1 and out.stderr.startswith("error: ") and out.stderr.count("\n") == 1
    rule_file2, event_file2 = files(tmp_path / "x", event={"source": "nowhere", "kind": "X", "target": {"name": "a"}})
    here = run_here(rule_file2, "--event", event_file2)
    assert here.exit_code == 1 and "source" in here.stderr and here.stderr.count("\n") == 1


def test_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    out = run(str(tmp_path / "nope.yaml"), "--event", str(tmp_path / "nope.json"))
    assert out.returncode == 2 and "Traceback" not in out.stderr


def test_guard_verdict_for_a_protected_namespace(tmp_path: Path) -> None:
    """The rule names kube-system explicitly, so it matches; the guard still refuses to act there."""
    rule = RULE.replace("  severity: critical\n", "  severity: critical\n  match: {namespaces: [kube-system]}\n")
    event = {**CRASH_EVENT, "target": {"namespace": "kube-system", "name": "coredns"}}
    rule_file, event_file = files(tmp_path, rule=rule, event=event)
    out = run_here(rule_file, "--event", event_file, "-o", "json")
    assert out.exit_code == 0, out.stderr
    [d] = json.loads(out.stdout)["decisions"]
    assert d["guard"]["allowed"] is False and d["guard"]["reason"] == "protected_namespace"
