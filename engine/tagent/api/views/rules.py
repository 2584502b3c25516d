"""The active rules version as data, its history, and the dry-run of a rule on sample events.

The dry-run is `tagent.detect.dryrun.dry_run` (the same code as `tagent test-rule`): a throw-away Detector,
nothing executed, nothing stored. `sample_events` writes events that satisfy a rule's conditions, so the
dashboard can offer a ready-to-edit example for any rule.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pydantic

from tagent.app.engine import Engine
from tagent.cloud.base import GROUP_KIND, INSTANCE_KIND
from tagent.detect.dryrun import dry_run, parse_events
from tagent.errors import ValidationError
from tagent.model import WorkloadRef, utcnow
from tagent.model.policy import Condition, Rule, condition_key
from tagent.policy.documents import build
from tagent.policy.loader import parse_text
from tagent.policy.ruleset import RuleSet
from tagent.store.records import RuleVersionRecord

POD_STATES = {"CrashLoopBackOff", "OOMKilled", "ImagePullBackOff", "ErrImagePull", "PodNotReady"}
ROLLOUTS = {"RolloutStarted", "RolloutFinished", "RolloutStalled"}


def _masked(location: str) -> str:
    """A Git URL without the user-info part (a token may be written there)."""
    return re.sub(r"//[^/@]+@", "//***@", location)


def _version(r: RuleVersionRecord) -> dict[str, Any]:
    return r.model_dump(mode="json")


def _doc(ruleset: RuleSet, kind: str, name: str, model: pydantic.BaseModel) -> dict[str, Any]:
    return {"name": name, "origin": ruleset.origins.get((kind, name), ""),
            "spec": model.model_dump(mode="json", by_alias=True, exclude_none=True)["spec"]}


def rules_view(engine: Engine) -> dict[str, Any]:
    active = engine.rules.current()
    rs = active.ruleset if active is not None else engine.ruleset
    rules = [{**_doc(rs, "Rule", r.name, r), "enabled": r.spec.enabled, "severity": r.spec.severity.value,
              "mode": r.spec.mode.value, "playbook": r.spec.then.playbook, "description": r.spec.description,
              "conditions": [c.key for c in r.spec.when.conditions]} for r in rs.rules.values()]
    books = [{**_doc(rs, "Playbook", b.name, b), "description": b.spec.description,
              "steps": [s.action for s in b.spec.steps]} for b in rs.playbooks.values()]
    policies = [_doc(rs, "EscalationPolicy", p.name, p) for p in rs.policies.values()]
    rejected = engine.store.rules.last_rejected()
    return {
        "active": None if active is None else {"sha": active.version.version, "author": active.version.author,
                                               "activated_at": active.version.activated_at},
        "source": {"location": _masked(engine.settings.rules), "branch": engine.settings.rules_branch,
                   "git": engine.rules.is_git},
        "rules": rules, "playbooks": books, "policies": policies,
        "history": [_version(r) for r in engine.store.rules.history(50)],
        "last_rejected": _version(rejected) if rejected is not None else None,
    }


def _event_for(rule: Rule, cond: Condition, index: int, namespace: str) -> dict[str, Any]:
    target = {"kind": "Deployment", "namespace": namespace, "name": "sample-app"}
    if cond.kubernetes is not None:
        reason = cond.kubernetes.reason
        kind = "PodState" if reason in POD_STATES else "Rollout" if reason in ROLLOUTS else "K8sEvent"
        if reason in {"NodeNotReady", "NodeReady"}:
            kind, target = "Node", {"kind": "Node", "namespace": "", "name": "node-a"}
        labels = {"type": cond.kubernetes.type} if cond.kubernetes.type else {}
        return {"source": "kubernetes", "kind": kind, "reason": reason, "target": target, "labels": labels}
    if cond.metrics is not None:
        value = _beyond(cond.metrics.op, cond.metrics.value)
        return {"source": "metrics", "kind": "Metric", "reason": cond.metrics.name, "target": target,
                "values": {"value": value}}
    if cond.prometheus is not None:
        return {"source": "prometheus", "kind": "PromQuery", "reason": condition_key(rule.name, index),
                "target": target, "values": {"value": _beyond(cond.prometheus.op, cond.prometheus.value)}}
    if cond.logs is not None:
        wanted = int(re.sub(r"\D", "", cond.logs.count) or 0)
        return {"source": "logs", "kind": "LogPattern", "reason": condition_key(rule.name, index), "target": target,
                "values": {"count": float(wanted + 1), "window_s": cond.logs.window}}
    if cond.cloud is not None:  # an instance or group of a region, labelled as the rule's selector wants
        instance = cond.cloud.resource == "instance"
        region = namespace if namespace != "default" else "eu-west-1"
        ref = {"kind": INSTANCE_KIND if instance else GROUP_KIND, "namespace": region,
               "name": "i-0123456789abcdef0" if instance else "sample-group"}
        return {"source": "cloud", "kind": "CloudMetric", "reason": condition_key(rule.name, index), "target": ref,
                "labels": dict(rule.spec.match.selector or {}),
                "values": {"value": _beyond(cond.cloud.op, cond.cloud.value)}}
    if cond.traces is not None:  # a trace sample (detect.dryrun.TraceSample): the service's RED numbers
        service = cond.traces.service or f"{namespace}/{target['name']}"
        return {"traces": {"service": service, "labels": dict(rule.spec.match.selector or {}),
                           cond.traces.metric: max(_beyond(cond.traces.op, cond.traces.value), 0.0),
                           "requests": float(cond.traces.min_requests)}}
    assert cond.alert is not None
    return {"source": "alert", "kind": "Alert", "reason": cond.alert.alertname, "target": target,
            "labels": {"alertname": cond.alert.alertname, **cond.alert.labels}}


def _beyond(op: str, value: float) -> float:
    step = max(abs(value) * 0.5, 1.0)
    return value + step if ">" in op else value - step if "<" in op else value


def sample_events(rule: Rule) -> list[dict[str, Any]]:
    """Events (oldest first, JSON-ready) that make `rule` fire: one per condition, each one repeated after
    its `for:` window when it has one."""
    namespace = (rule.spec.match.namespaces or ["default"])[0]
    start = utcnow()
    out: list[dict[str, Any]] = []
    for index, cond in enumerate(rule.spec.when.conditions):
        event = _event_for(rule, cond, index, namespace)
        timed = cond.metrics or cond.prometheus or cond.traces
        hold = timed.for_ if timed is not None else 0.0
        out.append({**event, "observed_at": (start + timedelta(seconds=len(out))).isoformat()})
        if hold:
            later = start + timedelta(seconds=len(out) + hold)
            out.append({**event, "observed_at": later.isoformat()})
            start = later
    return out


def _rules_from_text(text: str) -> list[Rule]:
    docs, problems = parse_text(text, "request")
    rules: list[Rule] = []
    for source in docs:
        loaded, found = build(source)
        problems += found
        if loaded is not None and isinstance(loaded.model, Rule):
            rules.append(loaded.model)
    if problems:
        raise ValidationError(str(problems[0]), [str(p) for p in problems])
    if not rules:
        raise ValidationError("rule: no Rule document in the text (give a rule name or a Rule YAML document)")
    return rules


def resolve_rules(engine: Engine, rule: str) -> list[Rule]:
    """`rule` is the name of an active rule, or the YAML text of one or more Rule documents."""
    found = engine.ruleset.rules.get(rule.strip())
    if found is not None:
        return [found]
    if "\n" not in rule.strip() and ":" not in rule:
        raise ValidationError(f"rule: no active rule named {rule.strip()!r}")
    return _rules_from_text(rule)


def dry_run_rule(engine: Engine, rule: str, raw_events: Any) -> dict[str, Any]:
    """Dry-run: does the rule fire on the events, which playbook and steps would run, what the guard says."""
    rules = resolve_rules(engine, rule)
    events = parse_events(raw_events)
    result = dry_run(rules, events, engine.ruleset.playbooks, engine.settings.protected_namespaces)
    window = engine.guard.maintenance_window()
    for decision in result["decisions"]:
        cooldown = engine.store.cooldowns.get(decision["rule"], WorkloadRef.model_validate(decision["target"]).key)
        decision["guard"] = {
            "cooldown_until": cooldown.until if cooldown and cooldown.until > engine.clock() else None,
            "maintenance_window": window.text if window is not None else None,
            "dry_run": engine.settings.dry_run,
        }
    return {**result, "fires": result["fired"]}

