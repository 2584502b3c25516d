"""`ControlPlane`: etcd, kube-apiserver, kube-controller-manager and kube-scheduler on 127.0.0.1.

    with ControlPlane() as cp:
        cp.kubeconfig        # admin kubeconfig (https URL, the CA, a bearer token in system:masters)
        cp.token_for("shop", "tagent")   # a ServiceAccount token from the TokenRequest API

kube-apiserver flags (kept minimal; each is here because the API server needs it or the tests rely on it):
  --etcd-servers                   the etcd started first (plain HTTP on loopback; nothing else can reach it)
  --bind-address, --secure-port    HTTPS on 127.0.0.1 only, on a free (or the requested) port; no insecure port
                                   exists any more in this release
  --advertise-address=127.0.0.1    otherwise it is guessed from the default route (absent on some CI machines)
  --endpoint-reconciler-type=none  the `kubernetes` Service's endpoints would be a loopback address, which the
                                   API refuses; nothing in-cluster needs to reach the API server here
  --tls-cert-file, --tls-private-key-file   the serving certificate of the throw-away CA (pki.py)
  --token-auth-file                static bearer tokens: the admin (system:masters), the controller manager
                                   (system:kube-controller-manager), the scheduler (system:kube-scheduler) and
                                   the simulated kubelet (an RBAC-bound user); still supported in v1.37
  --authorization-mode=Node,RBAC   as in production clusters: every identity gets only what RBAC grants it
  --service-account-issuer, --service-account-key-file, --service-account-signing-key-file
                                   ServiceAccount tokens: TokenRequest signs them, the authenticator verifies them
  --service-cluster-ip-range       the emulator's 10.96.0.0/12 (the `kubernetes` Service is 10.96.0.1)
The aggregation layer stays off in effect: no --requestheader-*/--proxy-client-* flags, so no APIService can
be proxied (metrics.k8s.io is emulator-only). The controller manager and the scheduler run with
--secure-port=0 (they serve nothing, so they need no port and no delegated authentication) and
--leader-elect=false (one instance each).
"""

from __future__ import annotations

import os
import secrets
import shutil
import ssl
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from tagent.errors import ConfigError
from tagent.sandbox import kubeconfig
from tagent.sandbox.real import binaries, pki
from tagent.sandbox.real.processes import Child, check_free, free_port

HOST = "127.0.0.1"
PREFIX = "tagent-k8s-"  # temporary state directories
OWNER = "owner.pid"  # in a state directory: the process that made it
KUBELET_USER = "tagent:sandbox-kubelet"
START_TIMEOUT = 120.0  # seconds for the whole control plane on a loaded 2-core machine


class ControlPlane:
    """The four processes, their state directory (certificates, etcd data, kubeconfigs, logs) and tokens."""

    def __init__(self, port: int = 0, state_dir: Path | None = None, bin_dir: Path | None = None) -> None:
        self.bin = binaries.require(bin_dir)
        self._own_dir = state_dir is None
        if self._own_dir:
            _sweep_stale()
        self.dir = Path(state_dir) if state_dir else Path(tempfile.mkdtemp(prefix=PREFIX))
        (self.dir / OWNER).write_text(str(os.getpid()))
        self.requested_port = port
        self.port = 0
        self.children: list[Child] = []
        self.admin_token = secrets.token_urlsafe(24)
        self.kubelet_token = secrets.token_urlsafe(24)
        self.started_in = 0.0

    # -- addresses and credentials -------------------------------------------------------------------
    @property
    def server(self) -> str:
        return f"https://{HOST}:{self.port}"

    @property
    def kubeconfig(self) -> Path:
        return self.dir / "admin.kubeconfig"

    @property
    def ca_pem(self) -> bytes:
        return (self.dir / "pki" / "ca.crt").read_bytes()

    def write_kubeconfig(self, path: Path, token: str | None = None, namespace: str = "default") -> Path:
        """A kubeconfig for kubectl and the Python client (mode 0600); `token` defaults to the admin's."""
        return kubeconfig.write(Path(path), self.server, token or self.admin_token, self.ca_pem, namespace)

    def token_for(self, namespace: str, service_account: str, seconds: int = 3600) -> str:
        """A token of an existing ServiceAccount, minted by the API server (TokenRequest)."""
        body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                "spec": {"expirationSeconds": seconds}}
        answer = self.api("POST", f"/api/v1/namespaces/{namespace}/serviceaccounts/{service_account}/token", body)
        return str(answer["status"]["token"])

    # -- life cycle ----------------------------------------------------------------------------------
    def start(self) -> ControlPlane:
        began = time.monotonic()
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        self.started_in = time.monotonic() - began
        return self

    def _start(self) -> None:
        if self.requested_port:
            check_free(self.requested_port, "kube-apiserver --port")
        self.port = self.requested_port or free_port()
        keys = pki.make(self.dir / "pki")
        (self.dir / "logs").mkdir(parents=True, exist_ok=True)
        client, peer = free_port(), free_port()
        etcd_url = f"http://{HOST}:{client}"
        self._spawn("etcd", ["--name", "tagent", "--data-dir", str(self.dir / "etcd"),
                             "--listen-client-urls", etcd_url, "--advertise-client-urls", etcd_url,
                             "--listen-peer-urls", f"http://{HOST}:{peer}",
                             "--initial-advertise-peer-urls", f"http://{HOST}:{peer}",
                             "--initial-cluster", f"tagent=http://{HOST}:{peer}",
                             "--unsafe-no-fsync", "--log-level", "warn"])
        self._wait("etcd", lambda: _etcd_healthy(etcd_url), 30)
        tokens = self.dir / "tokens.csv"
        self.kcm_token, self.scheduler_token = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        tokens.write_text(f'{self.admin_token},tagent-admin,uid-admin,"system:masters"\n'
                          f"{self.kcm_token},system:kube-controller-manager,uid-kcm\n"
                          f"{self.scheduler_token},system:kube-scheduler,uid-scheduler\n"
                          f"{self.kubelet_token},{KUBELET_USER},uid-kubelet\n")
        tokens.chmod(0o600)
        self._spawn("kube-apiserver", [
            f"--etcd-servers={etcd_url}", f"--bind-address={HOST}", f"--secure-port={self.port}",
            f"--advertise-address={HOST}", "--endpoint-reconciler-type=none",
            f"--tls-cert-file={keys.server_crt}", f"--tls-private-key-file={keys.server_key}",
            f"--token-auth-file={tokens}", "--authorization-mode=Node,RBAC",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={keys.sa_pub}", f"--service-account-signing-key-file={keys.sa_key}",
            "--service-cluster-ip-range=10.96.0.0/12"])
        self._wait("kube-apiserver", self._ready, 90)
        self.write_kubeconfig(self.kubeconfig)
        kcm = self.write_kubeconfig(self.dir / "controller-manager.kubeconfig", self.kcm_token)
        sched = self.write_kubeconfig(self.dir / "scheduler.kubeconfig", self.scheduler_token)
        self._spawn("kube-controller-manager", [
            f"--kubeconfig={kcm}", "--secure-port=0", "--leader-elect=false", "--use-service-account-credentials",
            f"--service-account-private-key-file={keys.sa_key}", f"--root-ca-file={keys.ca_crt}"])
        self._spawn("kube-scheduler", [f"--kubeconfig={sched}", "--secure-port=0", "--leader-elect=false"])
        # the controller manager works once its ServiceAccount controller made `default` in `default`
        default_sa = "/api/v1/namespaces/default/serviceaccounts/default"
        self._wait("kube-controller-manager", lambda: self._exists(default_sa), 60)

    def stop(self) -> None:
        """SIGTERM every process group (newest first), then remove a state directory this object made."""
        for child in reversed(self.children):
            # the API server stops listening at once, then waits ~10 s on open watches before it exits; it keeps
            # no state of its own (etcd does, and gets its SIGTERM after it), so 2 s of grace is enough
            child.stop(timeout=2.0 if child.name == "kube-apiserver" else 10.0)
        self.children.clear()
        if self._own_dir and self.dir.exists():
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> ControlPlane:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def alive(self) -> bool:
        return bool(self.children) and all(c.alive() for c in self.children)

    def rss(self) -> dict[str, int]:
        """Resident memory of each process, in bytes."""
        return {c.name: c.rss_bytes() for c in self.children}

    # -- helpers -------------------------------------------------------------------------------------
    def _spawn(self, name: str, args: list[str]) -> None:
        self.children.append(Child(name, [str(self.bin / name), *args], self.dir / "logs" / f"{name}.log"))

    def _wait(self, name: str, ready: Callable[[], bool], timeout: float) -> None:
        child = next(c for c in self.children if c.name == name)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not child.alive():
                raise ConfigError(_why_exited(child))
            try:
                if ready():
                    return
            except (OSError, ValueError, httpx.HTTPError):
                pass
            time.sleep(0.2)
        raise ConfigError(f"{name} did not become ready within {timeout:.0f} s (log: {child.log})")

    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cadata=self.ca_pem.decode())

    def _request(self, method: str, path: str, body: object | None = None) -> httpx.Response:
        return httpx.request(method, self.server + path, json=body, verify=self._context(), timeout=10,
                             headers={"Authorization": f"Bearer {self.admin_token}"})

    def api(self, method: str, path: str, body: object | None = None) -> dict[str, Any]:
        """One admin request; ConfigError (one line) when the API server refuses it."""
        resp = self._request(method, path, body)
        if resp.status_code >= 400:
            raise ConfigError(f"{method} {path}: HTTP {resp.status_code}: {resp.text[:200]}")
        answer: dict[str, Any] = resp.json()
        return answer

    def _ready(self) -> bool:
        return self._request("GET", "/readyz").status_code == 200

    def _exists(self, path: str) -> bool:
        return self._request("GET", path).status_code == 200


def _sweep_stale() -> None:
    """Remove state directories of earlier runs whose process is gone (killed with SIGKILL, it could not)."""
    for d in Path(tempfile.gettempdir()).glob(PREFIX + "*"):
        try:
            pid = int((d / OWNER).read_text())
        except (OSError, ValueError):
            continue
        if not Path(f"/proc/{pid}").exists():
            shutil.rmtree(d, ignore_errors=True)


def _etcd_healthy(url: str) -> bool:
    return bool(httpx.get(f"{url}/health", timeout=2).json().get("health") == "true")


def _why_exited(child: Child) -> str:
    """One line: a port conflict said plainly, otherwise the last error line of the log."""
    tail = child.tail(40)
    if "address already in use" in tail:
        line = next(x for x in tail.splitlines() if "address already in use" in x)
        return f"{child.name} exited: a port is already in use ({line.strip()[-160:]})"
    errors = [x for x in tail.splitlines() if "error" in x.lower() or x.startswith(("E", "F"))]
    return f"{child.name} exited with code {child.proc.returncode}: {(errors or tail.splitlines() or [''])[-1][:300]}"

