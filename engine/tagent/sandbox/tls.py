"""A throw-away CA and server certificate for the sandbox, made with the `openssl` command once per process.

kubectl (client-go) sends a bearer token only over TLS, so the sandbox answers HTTPS on the same port as
plain HTTP; the kubeconfig names the https URL and carries the CA, so both kubectl and the Python client
verify the server properly instead of skipping verification.
"""

from __future__ import annotations

import atexit
import shutil
import ssl
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from tagent.errors import ConfigError

_lock = threading.Lock()
_cache: dict[str, Bundle] = {}
_dirs: list[tempfile.TemporaryDirectory[str]] = []


@dataclass(frozen=True)
class Bundle:
    ca_pem: bytes
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(self.cert_file, self.key_file)
        return ctx


def _run(args: list[str], cwd: Path) -> None:
    done = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=30, check=False)
    if done.returncode != 0:
        raise ConfigError(f"openssl failed making the sandbox certificate: {done.stderr.strip()[:300]}")


def bundle(host: str = "127.0.0.1") -> Bundle:
    """The CA and a server certificate valid for `host` (and localhost), cached for the process."""
    with _lock:
        if host in _cache:
            return _cache[host]
        if shutil.which("openssl") is None:
            raise ConfigError("the sandbox needs the `openssl` command to make its TLS certificate "
                              "(Debian: apt-get install openssl)")
        tmp = tempfile.TemporaryDirectory(prefix="tagent-sandbox-tls-")
        _dirs.append(tmp)
        d = Path(tmp.name)
        curve = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        _run(["req", "-x509", *curve, "-keyout", "ca.key", "-out", "ca.crt", "-days", "3650",
              "-subj", "/CN=tagent-sandbox-ca", "-addext", "basicConstraints=critical,CA:TRUE",
              "-addext", "keyUsage=critical,keyCertSign,cRLSign"], d)
        _run(["req", *curve, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=tagent-sandbox"], d)
        san = f"IP:{host}" if host.replace(".", "").isdigit() else f"DNS:{host}"
        (d / "ext.cnf").write_text(f"subjectAltName={san},DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                                   "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
                                   "authorityKeyIdentifier=keyid\nsubjectKeyIdentifier=hash\n")
        _run(["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
              "-out", "server.crt", "-days", "3650", "-extfile", "ext.cnf"], d)
        made = Bundle((d / "ca.crt").read_bytes(), d / "server.crt", d / "server.key")
        _cache[host] = made
        return made


@atexit.register
def _cleanup() -> None:
    for tmp in _dirs:
        tmp.cleanup()
