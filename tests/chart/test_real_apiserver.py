"""The chart against a real kube-apiserver (the `real_k8s` control plane built from Go modules).

- Every manifest the chart renders, for the default values and the documented variants (read-only,
  PostgreSQL, ingress, ...), is sent with `kubectl apply --server-side --dry-run=server`: the API server
  itself checks the schema (strict field validation: an unknown field is an error), defaulting, admission
  and RBAC (creating a ClusterRole needs cluster-admin, which the admin kubeconfig has).
- The README's command runs literally with a real `helm` binary (tests/chart/helm_binary.py): lint clean,
  `helm install --dry-run=server`, then a real install, an upgrade that keeps the generated API token,
  the ServiceAccount's permissions as the API server resolves them (`kubectl auth can-i`), and uninstall.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.chart import helm_binary
from tests.chart.render import CHART, REPO, render
from tests.chart.value_sets import VALUE_SETS
from tests.fixtures.realk8s import REAL, RealK8s

pytestmark = REAL

DOCUMENTED = ("default", "read-only", "external-postgres", "ingress")


def kubectl(kubeconfig: Path, *args: str, stdin: str | None = None,
            check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["kubectl", f"--kubeconfig={kubeconfig}", *args], input=stdin, capture_output=True,
                          text=True, timeout=120, check=False)
    if check:
        assert done.returncode == 0, f"kubectl {' '.join(args)}: {done.stderr.strip()}"
    return done


@pytest.fixture
def namespace(real_k8s: RealK8s) -> Iterator[str]:
    """A namespace of its own (the chart's objects live in the release's namespace), deleted afterwards."""
    name = f"chart-{uuid.uuid4().hex[:8]}"
    kubectl(real_k8s.kubeconfig, "create", "namespace", name)
    yield name
    kubectl(real_k8s.kubeconfig, "delete", "namespace", name, "--wait=false", check=False)


def server_dry_run(kubeconfig: Path, objects: list[dict[str, Any]]) -> subprocess.CompletedProcess[str]:
    text = yaml.safe_dump_all(objects, sort_keys=False)
    return kubectl(kubeconfig, "apply", "--server-side", "--dry-run=server", "--field-manager=tagent-chart-test",
                   "--validate=strict", "-o", "json", "-f", "-", stdin=text, check=False)


@pytest.mark.parametrize("case", sorted(VALUE_SETS))
def test_every_rendered_manifest_passes_server_side_dry_run(case: str, real_k8s: RealK8s, namespace: str) -> None:
    objects = list(render(VALUE_SETS[case], namespace=namespace).objects)
    done = server_dry_run(real_k8s.kubeconfig, objects)
    assert done.returncode == 0, done.stderr
    answered = json.loads(done.stdout)
    items = answered["items"] if answered.get("kind") == "List" else [answered]
    sent = {(o["kind"], o["metadata"]["name"]) for o in objects}
    assert {(i["kind"], i["metadata"]["name"]) for i in items} == sent
    for item in items:
        # the server filled it in (defaults, uid): it was really processed, not just parsed by kubectl
        assert item["metadata"].get("uid"), item["metadata"]["name"]
    if case in DOCUMENTED:
        assert ("ClusterRole", "tagent") in sent and ("Deployment", "tagent-engine") in sent
    # a dry run created nothing
    assert not kubectl(real_k8s.kubeconfig, "get", "deployments", "-n", namespace, "-o", "name").stdout.strip()


def test_the_documented_variants_are_among_them() -> None:
    assert set(DOCUMENTED) <= set(VALUE_SETS)


def test_the_server_does_reject_a_broken_manifest(real_k8s: RealK8s, namespace: str) -> None:
    """Guard against a check that cannot fail: an unknown field and a wrong type are refused by the server."""
    deployment = render(namespace=namespace).deployment("engine")
    typo = json.loads(json.dumps(deployment))
    typo["spec"]["template"]["spec"]["containers"][0]["livenessprobe"] = {}
    done = server_dry_run(real_k8s.kubeconfig, [typo])
    assert done.returncode != 0 and "livenessprobe" in done.stderr
    role = json.loads(json.dumps(render(namespace=namespace).get("ClusterRole", "tagent")))
    role["rules"][0]["verbs"] = "get"
    done = server_dry_run(real_k8s.kubeconfig, [role])
    assert done.returncode != 0


# --- the README's command, with a real helm binary ------------------------------------------------------------

@pytest.fixture(scope="module")
def helm() -> Path:
    found = helm_binary.find()
    if found is not None:
        return found
    if shutil.which("go") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but no helm binary and no Go to build it (python -m tests.chart.helm_binary)")
        pytest.skip("no helm binary and no Go to build one (python -m tests.chart.helm_binary)")
    return helm_binary.build()


def run_helm(helm: Path, kubeconfig: Path | None, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HELM_CACHE_HOME": "/tmp/tagent-helm/cache", "HELM_CONFIG_HOME": "/tmp/tagent-helm/config",
           "HELM_DATA_HOME": "/tmp/tagent-helm/data"}
    kube = [f"--kubeconfig={kubeconfig}"] if kubeconfig is not None else []
    done = subprocess.run([str(helm), *args, *kube], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    if check:
        assert done.returncode == 0, f"helm {' '.join(args)}: {done.stderr.strip()}"
    return done


def readme_install_command() -> list[str]:
    """The install command as the README prints it (so the test runs what users copy)."""
    text = (REPO / "README.md").read_text()
    line = next(s.strip() for s in text.splitlines() if s.strip().startswith("helm install tagent "))
    words = line.split("#")[0].split()
    assert words[:4] == ["helm", "install", "tagent", "./charts/tagent"], line
    return words[1:]


def test_helm_lint_reports_no_warning(helm: Path) -> None:
    for strict in ([], ["--strict"]):
        done = run_helm(helm, None, "lint", str(CHART), *strict)
        assert "[WARNING]" not in done.stdout and "[ERROR]" not in done.stdout, done.stdout
        assert "1 chart(s) linted, 0 chart(s) failed" in done.stdout


def test_readme_command_server_dry_run(helm: Path, real_k8s: RealK8s) -> None:
    args = readme_install_command()
    assert args[args.index("--namespace") + 1] == "tagent" and "--create-namespace" in args
    done = run_helm(helm, real_k8s.kubeconfig, *args, "--dry-run=server")
    assert "kind: Deployment" in done.stdout and "name: tagent-engine" in done.stdout, done.stdout
    # nothing was installed
    assert run_helm(helm, real_k8s.kubeconfig, "list", "-A", "-q").stdout.strip() == ""


def _token(kubeconfig: Path) -> str:
    raw = kubectl(kubeconfig, "get", "secret", "tagent-api", "-n", "tagent", "-o",
                  "jsonpath={.data.api-token}").stdout
    return base64.b64decode(raw).decode()


def can_i(kubeconfig: Path, verb: str, resource: str, *where: str) -> str:
    done = kubectl(kubeconfig, "auth", "can-i", verb, resource, "--as=system:serviceaccount:tagent:tagent",
                   *where, check=False)
    return done.stdout.strip()


def test_readme_command_installs_upgrades_and_uninstalls(helm: Path, real_k8s: RealK8s) -> None:
    kubeconfig = real_k8s.kubeconfig
    args = readme_install_command()
    try:
        installed = run_helm(helm, kubeconfig, *args)
        assert "STATUS: deployed" in installed.stdout
        assert "get secret tagent-api" in installed.stdout  # the notes say where the API token is
        names = kubectl(kubeconfig, "get", "deployments,services,configmaps,secrets,serviceaccounts,"
                        "persistentvolumeclaims", "-n", "tagent", "-o", "name").stdout.split()
        for expected in ("deployment.apps/tagent-engine", "deployment.apps/tagent-dashboard",
                         "service/tagent-engine", "service/tagent-dashboard", "configmap/tagent-rules",
                         "secret/tagent-api", "serviceaccount/tagent", "persistentvolumeclaim/tagent-data"):
            assert expected in names
        token = _token(kubeconfig)
        assert len(token) == 48
        # an upgrade reads the installed token back (lookup) instead of drawing a new one
        run_helm(helm, kubeconfig, "upgrade", "tagent", "./charts/tagent", "--namespace", "tagent",
                 "--set", "readOnly=true")
        assert _token(kubeconfig) == token
        # the ServiceAccount's permissions, as the real API server resolves them
        assert can_i(kubeconfig, "get", "pods", "-n", "shop") == "yes"
        assert can_i(kubeconfig, "patch", "deployments.apps", "-n", "shop") == "no"  # readOnly now
        assert can_i(kubeconfig, "get", "secrets", "-n", "tagent") == "no"
        assert can_i(kubeconfig, "create", "pods", "--subresource=exec", "-n", "shop") == "no"
        run_helm(helm, kubeconfig, "upgrade", "tagent", "./charts/tagent", "--namespace", "tagent", "--reuse-values",
                 "--set", "readOnly=false")
        assert can_i(kubeconfig, "patch", "deployments.apps", "-n", "shop") == "yes"
        assert can_i(kubeconfig, "delete", "pods", "-n", "shop") == "yes"
        assert can_i(kubeconfig, "get", "secrets", "-n", "shop") == "no"
    finally:
        uninstalled = run_helm(helm, kubeconfig, "uninstall", "tagent", "--namespace", "tagent", "--wait",
                               check=False)
    assert uninstalled.returncode == 0, uninstalled.stderr
    left = kubectl(kubeconfig, "get", "deployments,secrets,configmaps,persistentvolumeclaims", "-n", "tagent",
                   "-o", "name").stdout.split()
    # the data claim is kept on purpose (helm.sh/resource-policy: keep); nothing else of the release is left
    assert [n for n in left if "tagent" in n and not n.startswith("configmap/kube-root-ca")] == \
        ["persistentvolumeclaim/tagent-data"]
    assert kubectl(kubeconfig, "get", "clusterrole", "tagent", check=False).returncode != 0
    kubectl(kubeconfig, "delete", "namespace", "tagent", "--wait=false")
