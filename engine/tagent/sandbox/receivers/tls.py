"""A throw-away self-signed certificate for 127.0.0.1, made with the `openssl` binary.

Some apprise plugins (Microsoft Teams Workflows) always speak https, so their local stand-in must too;
clients reach it with certificate verification off (`?verify=no` in the apprise URL). The key never
leaves the temporary directory and is deleted when the receiver stops.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class SelfSignedCert:
    directory: Path
    cert: Path
    key: Path
    owned: bool

    def remove(self) -> None:
        if self.owned:
            shutil.rmtree(self.directory, ignore_errors=True)
        else:
            self.cert.unlink(missing_ok=True)
            self.key.unlink(missing_ok=True)


def make_self_signed_cert(directory: Path | None = None) -> SelfSignedCert:
    """An EC P-256 certificate valid one day for IP 127.0.0.1 and localhost."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("a TLS receiver needs the openssl binary (apt-get install openssl)")
    owned = directory is None
    where = Path(tempfile.mkdtemp(prefix="tagent-tls-")) if directory is None else directory
    where.mkdir(parents=True, exist_ok=True)
    cert, key = where / "receiver.crt", where / "receiver.key"
    result = subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        capture_output=True, text=True, timeout=30, check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"openssl could not make a certificate: {result.stderr.strip()[:200]}")
    return SelfSignedCert(directory=where, cert=cert, key=key, owned=owned)
