"""The throw-away PKI of one real control plane, made with the `openssl` command into its state directory.

- `ca.crt`/`ca.key`: a CA that signs the API server's serving certificate; kubeconfigs carry it, so clients
  verify the server; the controller manager hands it to pods as the root CA (`--root-ca-file`).
- `apiserver.crt`/`apiserver.key`: the serving certificate, valid for 127.0.0.1 and localhost.
- `sa.key`/`sa.pub`: the service-account key pair: the API server signs (TokenRequest) and verifies tokens
  with it, the controller manager signs legacy token Secrets with the private half.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tagent.errors import ConfigError

CURVE = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


@dataclass(frozen=True)
class Pki:
    ca_crt: Path
    ca_key: Path
    server_crt: Path
    server_key: Path
    sa_key: Path
    sa_pub: Path

    @property
    def ca_pem(self) -> bytes:
        return self.ca_crt.read_bytes()


def _openssl(args: list[str], cwd: Path) -> None:
    done = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False)
    if done.returncode != 0:
        raise ConfigError(f"openssl {args[0]} failed: {done.stderr.strip().splitlines()[-1:] or done.returncode}")


def make(directory: Path) -> Pki:
    """Create (or reuse, when complete) the certificates and keys under `directory`."""
    d = Path(directory)
    pki = Pki(d / "ca.crt", d / "ca.key", d / "apiserver.crt", d / "apiserver.key", d / "sa.key", d / "sa.pub")
    if all(p.exists() for p in (pki.ca_crt, pki.ca_key, pki.server_crt, pki.server_key, pki.sa_key, pki.sa_pub)):
        return pki
    if shutil.which("openssl") is None:
        raise ConfigError("the real control plane needs the `openssl` command for its certificates "
                          "(Debian: apt-get install openssl)")
    d.mkdir(parents=True, exist_ok=True)
    _openssl(["req", "-x509", *CURVE, "-keyout", "ca.key", "-out", "ca.crt", "-days", "3650",
              "-subj", "/CN=tagent-real-control-plane-ca", "-addext", "basicConstraints=critical,CA:TRUE",
              "-addext", "keyUsage=critical,keyCertSign,cRLSign"], d)
    _openssl(["req", *CURVE, "-keyout", "apiserver.key", "-out", "apiserver.csr", "-subj", "/CN=kube-apiserver"], d)
    (d / "ext.cnf").write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,"
        "DNS:kubernetes.default.svc,IP:10.96.0.1\nbasicConstraints=CA:FALSE\n"
        "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n"
        "authorityKeyIdentifier=keyid\nsubjectKeyIdentifier=hash\n")
    _openssl(["x509", "-req", "-in", "apiserver.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
              "-out", "apiserver.crt", "-days", "3650", "-extfile", "ext.cnf"], d)
    _openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "sa.key"], d)
    _openssl(["pkey", "-in", "sa.key", "-pubout", "-out", "sa.pub"], d)
    for key in (pki.ca_key, pki.server_key, pki.sa_key):
        key.chmod(0o600)
    return pki
