"""The action catalog is data; one table-driven contract checks every action the same way."""

from __future__ import annotations

import re
import shutil
import string
import subprocess

import pytest

from tagent.actions import CATALOG, Action
from tagent.policy.templates import check_template
from tagent.policy.values import check_value, is_template

# The closed set of shared/design/RULES.md, "Playbook".
DOCUMENTED = {"kubernetes.rollout_restart", "kubernetes.delete_pod", "kubernetes.evict_pod", "kubernetes.rollout_undo",
              "kubernetes.scale", "kubernetes.wait_healthy", "redis.flushdb", "http.request", "prometheus.verify",
              "notify.send", "notify.page", "approval.request", "wait",
              "kubernetes.delete_deployment",  # RULES.md: "the catalog may grow"; chat deletes need it
              "aws.ec2_stop", "aws.ec2_start", "aws.ec2_reboot", "aws.asg_set_capacity"}  # issue 17: cloud servers
MUTATING = {"kubernetes.rollout_restart", "kubernetes.delete_pod", "kubernetes.evict_pod", "kubernetes.rollout_undo",
            "kubernetes.scale", "redis.flushdb", "http.request", "kubernetes.delete_deployment",
            "aws.ec2_stop", "aws.ec2_start", "aws.ec2_reboot", "aws.asg_set_capacity"}


def test_catalog_holds_exactly_the_documented_actions() -> None:
    assert set(CATALOG) == DOCUMENTED
    assert {name for name, a in CATALOG.items() if a.mutates} == MUTATING
    with pytest.raises(TypeError):
        CATALOG["x"] = CATALOG["wait"]  # type: ignore[index]


@pytest.mark.parametrize("action", list(CATALOG.values()), ids=list(CATALOG))
def test_every_action_follows_the_contract(action: Action) -> None:
    names = [p.name for p in action.params]
    assert len(names) == len(set(names)), "parameter names are unique"
    assert action.description and all(p.description for p in action.params)
    for param in action.params:
        if param.default is None:
            continue
        if is_template(param.default):
            assert check_template(param.default) is None, param.name
        else:
            assert check_value(param.default, param.type, minimum=param.minimum, maximum=param.maximum,
                               choices=param.choices or None) is None, param.name
        assert not param.required, f"{param.name}: a required parameter has no default"
    for group in action.exactly_one:
        assert set(group) <= set(names)
        assert not any(action.param(n).required for n in group)  # type: ignore[union-attr]
    placeholders = {f for _, f, _, _ in string.Formatter().parse(action.command) if f}
    assert placeholders <= set(names), f"command uses unknown fields {placeholders - set(names)}"
    rendered = action.render_command({n: f"<{n}>" for n in names})
    assert "{" not in rendered and all(f"<{n}>" in rendered for n in placeholders)


def test_render_command_uses_given_values_over_defaults() -> None:
    restart = CATALOG["kubernetes.rollout_restart"]
    assert restart.render_command({"kind": "Deployment", "name": "api", "namespace": "shop"}) == (
        "kubectl rollout restart Deployment/api -n shop")
    assert CATALOG["kubernetes.delete_pod"].render_command({"pod": "api-1", "namespace": "shop"}) == (
        "kubectl delete pod api-1 -n shop --grace-period=30")
    assert CATALOG["wait"].render_command({"duration": "30s"}) == "sleep 30s"


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl not installed")
@pytest.mark.parametrize("name", sorted(n for n in CATALOG if n.startswith("kubernetes.")))
def test_kubectl_equivalents_are_real_kubectl_commands_and_flags(name: str) -> None:
    words = CATALOG[name].command.split()
    assert words[0] == "kubectl"
    sub = []
    for word in words[1:]:
        if word.startswith("-") or "{" in word:
            break
        sub.append(word)
    help_text = subprocess.run(["kubectl", *sub, "--help"], capture_output=True, text=True, timeout=30).stdout
    assert help_text.startswith(("Restart", "Roll", "Delete", "Create", "Set", "Show", "Watch")), help_text[:200]
    for flag in re.findall(r"(--[a-z-]+)", CATALOG[name].command):
        assert flag in help_text, f"kubectl {' '.join(sub)} has no {flag}"
