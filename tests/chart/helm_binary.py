"""The `helm` binary for the tests that run the README's commands literally.

Debian has no helm package and no PyPI package ships a Linux binary, but Helm is a Go module: with Go on the
machine (the real control plane needs it too) it is built once, like the control plane, into
`~/.cache/tagent/helm-<version>/bin/helm`. `python -m tests.chart.helm_binary` builds it and prints its path
(idempotent). The chart's other tests need no binary: they use Helm's Go SDK through helm-python-sdk.

Which binary: $TAGENT_HELM, else the cached build of HELM_VERSION, else built now when Go is present. Without
Go the tests that need it are skipped with one line, but with CI=true a missing binary is a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

HELM_VERSION = "v4.3.1"  # the Helm release the binary is built from (the SDK in helm-python-sdk is v4.2)
MODULE = "helm.sh/helm/v4/cmd/helm"
BUILD_TIMEOUT = 1800.0


def cache_dir() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "tagent" / f"helm-{HELM_VERSION}" / "bin"


def find() -> Path | None:
    given = os.environ.get("TAGENT_HELM")
    if given:
        return Path(given) if os.access(given, os.X_OK) else None
    built = cache_dir() / "helm"
    return built if os.access(built, os.X_OK) else None


def build(say: bool = False) -> Path:
    """`go install` the pinned Helm into the cache (a no-op when it is there); RuntimeError when it fails."""
    found = find()
    if found is not None:
        return found
    go = shutil.which("go")
    if go is None:
        raise RuntimeError("Go is not installed: cannot build helm")
    target = cache_dir()
    target.mkdir(parents=True, exist_ok=True)
    if say:
        print(f"building helm {HELM_VERSION} into {target} (first time only; a few minutes)", file=sys.stderr)
    env = {**os.environ, "GOBIN": str(target), "CGO_ENABLED": "0"}
    done = subprocess.run([go, "install", "-ldflags", "-s -w", f"{MODULE}@{HELM_VERSION}"], env=env,
                          capture_output=True, text=True, timeout=BUILD_TIMEOUT, check=False)
    if done.returncode != 0 or find() is None:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"building helm {HELM_VERSION} failed: {last}")
    return target / "helm"


if __name__ == "__main__":
    try:
        print(build(say=True))
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
