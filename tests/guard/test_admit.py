"""Decision-level verdicts: namespaces, cooldowns, notify mode, maintenance, dry-run, GitOps; all recorded."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tagent.errors import ConfigError, GuardRefusal
from tagent.guard import Guard, Reason, VerdictMode
from tagent.model import Mode, WorkloadRef
from tagent.store import Store
from tests.guard.helpers import SHA, decision, ref, settings, workload
from tests.store.conftest import FakeClock


def test_plain_decision_is_admitted_and_recorded(store: Store, clock: FakeClock) -> None:
    guard = Guard(store, settings(), clock)
    d = decision()
    verdict = guard.admit(d, workload())
    assert verdict.allowed and verdict.may_mutate and verdict.mode == VerdictMode.act and verdict.reason == Reason.ok
    assert verdict.verdict_id is not None and verdict.rules_version == SHA and verdict.at == clock.now
    (rec,) = store.decisions.list()
    assert rec.decision == d
    assert rec.verdict is not None and rec.verdict.allowed and rec.verdict.rules_version == SHA
    assert rec.verdict.reason == "ok" and rec.verdict.mode == "act" and rec.verdict.action is None


@pytest.mark.parametrize("namespace, reason", [("kube-system", Reason.protected_namespace),
                                               ("tagent", Reason.protected_namespace),
                                               ("legacy", Reason.excluded_namespace)])
def test_protected_and_excluded_namespaces_are_refused(store: Store, clock: FakeClock, namespace: str,
                                                       reason: Reason) -> None:
    guard = Guard(store, settings(excluded_namespaces=["legacy"]), clock)
    verdict = guard.admit(decision(ref("coredns", namespace)))
    assert not verdict.allowed and verdict.reason == reason and verdict.mode == VerdictMode.refused
    assert namespace in verdict.detail
    with pytest.raises(GuardRefusal, match=reason.value):
        verdict.raise_if_refused()
    (rec,) = store.decisions.list()
    assert rec.verdict is not None and rec.verdict.reason == reason.value and not rec.verdict.allowed
    assert store.cooldowns.active(clock.now) == []  # a refusal here starts no cooldown


def test_cooldown_per_rule_and_target(store: Store, clock: FakeClock) -> None:
    guard = Guard(store, settings(), clock)
    assert guard.admit(decision(), cooldown=600).allowed
    clock.advance(599)
    again = guard.admit(decision(), cooldown=600)
    assert not again.allowed and again.reason == Reason.cooldown and "in 1s" in again.detail
    assert guard.admit(decision(ref("web"))).allowed  # another target
    assert guard.admit(decision(rule="oom-restart")).allowed  # another rule
    clock.advance(1)
    assert guard.admit(decision(), cooldown=600).allowed
    reasons = [r.verdict.reason for r in store.decisions.list() if r.verdict]
    assert sorted(reasons) == ["cooldown", "ok", "ok", "ok", "ok"]


def test_notify_mode_is_notify_only(store: Store, clock: FakeClock) -> None:
    verdict = Guard(store, settings(), clock).admit(decision(mode=Mode.notify))
    assert verdict.allowed and verdict.mode == VerdictMode.notify_only and verdict.reason == Reason.notify_mode
    assert not verdict.may_mutate


def test_maintenance_window_turns_decisions_into_notifications(store: Store) -> None:
    clock = FakeClock(datetime(2026, 3, 7, 2, 30, tzinfo=UTC))  # a Saturday, 02:30 UTC
    guard = Guard(store, settings(maintenance_windows=["Sat 02:00-04:00 UTC"]), clock)
    verdict = guard.admit(decision())
    assert verdict.allowed and verdict.mode == VerdictMode.notify_only
    assert verdict.reason == Reason.maintenance_window and "Sat 02:00-04:00 UTC" in verdict.detail
    auto = guard.check_action(decision(), "kubernetes.rollout_restart", mutates=True, target=ref())
    assert not auto.allowed and auto.reason == Reason.maintenance_window
    human = guard.check_action("chat:alice", "kubernetes.rollout_restart", mutates=True, target=ref("web"))
    assert human.allowed and human.may_mutate  # people may still act during maintenance
    clock.now = datetime(2026, 3, 7, 4, 0, tzinfo=UTC)
    assert guard.maintenance_window() is None
    assert guard.admit(decision(ref("db"))).mode == VerdictMode.act


def test_dry_run_decides_and_records_but_never_mutates(store: Store, clock: FakeClock) -> None:
    guard = Guard(store, settings(dry_run=True), clock)
    verdict = guard.admit(decision())
    assert verdict.allowed and verdict.mode == VerdictMode.dry_run and not verdict.may_mutate
    assert not guard.admit(decision()).allowed  # the cooldown still applies: one dry-run decision per cooldown
    act = guard.check_action(decision(), "kubernetes.rollout_restart", mutates=True, target=ref(), pods_total=4)
    assert act.allowed and act.mode == VerdictMode.dry_run and act.action_id is None and not act.may_mutate
    assert store.actions.list() == []  # nothing reserved: a dry run uses up no rate limit


@pytest.mark.parametrize("labels, annotations, owner", [
    ({"argocd.argoproj.io/instance": "shop"}, {}, "Argo CD application shop"),
    ({}, {"argocd.argoproj.io/tracking-id": "shop-app:apps/Deployment:shop/api"}, "Argo CD application shop-app"),
    ({"kustomize.toolkit.fluxcd.io/name": "apps"}, {}, "Flux kustomization apps"),
    ({"helm.toolkit.fluxcd.io/name": "api"}, {}, "Flux helm release api"),
])
def test_gitops_owned_workloads_get_a_change_request(store: Store, clock: FakeClock, labels: dict[str, str],
                                                     annotations: dict[str, str], owner: str) -> None:
    guard = Guard(store, settings(), clock)
    w = workload(labels=labels, annotations=annotations)
    verdict = guard.admit(decision(), w)
    assert verdict.allowed and verdict.mode == VerdictMode.change_request and verdict.reason == Reason.gitops_owned
    assert owner in verdict.detail and not verdict.may_mutate
    patch = guard.check_action(decision(), "kubernetes.scale", mutates=True, target=w.ref, workload=w)
    assert not patch.allowed and patch.mode == VerdictMode.change_request and patch.reason == Reason.gitops_owned


def test_unrelated_labels_are_not_gitops(store: Store, clock: FakeClock) -> None:
    w = workload(labels={"app.kubernetes.io/instance": "api", "app": "api"})
    assert Guard(store, settings(), clock).admit(decision(), w).mode == VerdictMode.act


def test_bad_maintenance_window_fails_at_construction(store: Store) -> None:
    with pytest.raises(ConfigError, match="maintenance window 'Sunday-ish'"):
        Guard(store, settings(maintenance_windows=["Sunday-ish"]))


def test_naive_clock_is_rejected(store: Store) -> None:
    guard = Guard(store, settings(), lambda: datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        guard.admit(decision(WorkloadRef(namespace="shop", name="x")))
