"""The `bad-image` fault on the emulator: the new version's pods wait in ErrImagePull/ImagePullBackOff while
the old ones keep serving; `kubectl rollout undo` (the image-pull-rollback rule's cure) ends it."""

from __future__ import annotations

from typing import Any

import pytest

from tagent.sandbox import Sandbox, kinds
from tests.fixtures.sandbox import Kubectl
from tests.waiting import wait_for


def _cart(sandbox: Sandbox) -> list[dict[str, Any]]:
    return [p for p in sandbox.store.list(kinds.PODS, "shop")[0] if p["metadata"]["name"].startswith("cart-")]


def _waiting(pod: dict[str, Any]) -> str:
    for cs in pod.get("status", {}).get("containerStatuses") or []:
        return str((cs.get("state") or {}).get("waiting", {}).get("reason", ""))
    return ""


@pytest.mark.parametrize("sandbox", [{"speed": 10}], indirect=True)
def test_bad_image_waits_in_image_pull_back_off_until_rolled_back(sandbox: Sandbox, kubectl: Kubectl) -> None:
    before = {p["spec"]["containers"][0]["image"] for p in _cart(sandbox)}
    sandbox.inject("bad-image", "shop", "cart")
    image = kubectl("get", "deploy/cart", "-n", "shop", "-o", "jsonpath={.spec.template.spec.containers[0].image}")
    assert image.stdout == "golang:1.22-does-not-exist"
    seen = wait_for(lambda: {_waiting(p) for p in _cart(sandbox)} >= {"ErrImagePull"} or None, 15,
                    "a new cart pod in ErrImagePull", interval=0.02)
    assert seen
    stuck = wait_for(lambda: [p for p in _cart(sandbox) if _waiting(p) == "ImagePullBackOff"], 15,
                     "a new cart pod in ImagePullBackOff")
    assert all(p["status"]["phase"] == "Pending" for p in stuck)
    serving = [p for p in _cart(sandbox) if p["spec"]["containers"][0]["image"] in before]
    assert serving and all(p["status"]["phase"] == "Running" for p in serving), "the old version keeps running"
    events = kubectl("get", "events", "-n", "shop", "-o", "jsonpath={.items[*].message}").stdout
    assert 'Failed to pull image "golang:1.22-does-not-exist"' in events
    kubectl("rollout", "undo", "deploy/cart", "-n", "shop")
    kubectl("rollout", "status", "deploy/cart", "-n", "shop", "--timeout=60s", timeout=90)
    pods = _cart(sandbox)
    assert {p["spec"]["containers"][0]["image"] for p in pods} == before
    assert not [p for p in pods if _waiting(p)], "no pod waits after the rollback"


@pytest.mark.parametrize("sandbox", [{"speed": 10}], indirect=True)
def test_a_statefulset_crash_loop_crashes_its_pods(sandbox: Sandbox) -> None:
    """The fault is bound to the revision the pods carry (controller-revision-hash is NAME-HASH for a
    StatefulSet), as on the real controllers (tests/realcp/test_real_sandbox.py)."""
    fault = sandbox.inject("crashloop", "shop", "postgres")
    pod = sandbox.store.get(kinds.PODS, "shop", "postgres-0")
    assert fault["revision"] == pod["metadata"]["labels"]["controller-revision-hash"]
    wait_for(lambda: _waiting(sandbox.store.get(kinds.PODS, "shop", "postgres-0")) == "CrashLoopBackOff", 15,
             "postgres-0 in CrashLoopBackOff")
