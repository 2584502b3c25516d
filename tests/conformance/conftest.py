"""The `cluster` fixture: each conformance test runs once on the emulator and once on the real control plane
(see cluster.py). The real server is the session's `real_k8s` (one control plane for the whole run, a fresh
namespace per test); the emulator is a fresh Sandbox per test. Without a built control plane the real half
is skipped with one line (a failure with CI=true), as tests/fixtures/realk8s.py decides."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client as k8s

from tagent.clients.kubernetes import KubeClient
from tagent.sandbox import Sandbox
from tests.conformance.cluster import Cluster, fresh_namespace

SERVERS = ("emulator", "real")


@pytest.fixture(params=SERVERS)
def cluster(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Cluster]:
    namespace = fresh_namespace()
    if request.param == "emulator":
        sandbox = Sandbox(speed=10).start()
        kubeconfig = sandbox.write_kubeconfig(tmp_path / "admin.kubeconfig")
        c = Cluster("emulator", kubeconfig, KubeClient.from_kubeconfig(kubeconfig), namespace, tmp_path, sandbox)
    else:
        real = request.getfixturevalue("real_k8s")
        kubeconfig = real.kubeconfig
        c = Cluster("real", kubeconfig, KubeClient.from_kubeconfig(kubeconfig), namespace, tmp_path, real=real)
    c.create_namespace(namespace)
    try:
        yield c
    finally:
        for cleanup in reversed(c.cleanups):
            cleanup()
        if c.sandbox is None:
            k8s.CoreV1Api(c.api).delete_namespace(namespace)
        c.kube.close()
        if c.sandbox is not None:
            c.sandbox.stop()
