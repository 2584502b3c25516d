"""Where the built control plane is: `scripts/control-plane.sh` builds it into
`~/.cache/tagent/k8s-<version>/bin` (the version is pinned in tools/k8s/go.mod, and only there)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tagent.errors import ConfigError

COMMANDS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler")
SCRIPT = Path(__file__).resolve().parents[4] / "scripts" / "control-plane.sh"  # in a source checkout


def cache_root() -> Path:
    if os.environ.get("TAGENT_K8S_CACHE"):
        return Path(os.environ["TAGENT_K8S_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tagent"


def complete(directory: Path) -> bool:
    return all(os.access(directory / c, os.X_OK) for c in COMMANDS)


def find() -> Path | None:
    """The bin directory of the control plane: $TAGENT_K8S_BIN, else what the checkout's script reports
    (the build of the pinned version), else the newest complete build in the cache; None when not built."""
    given = os.environ.get("TAGENT_K8S_BIN")
    if given:
        return Path(given) if complete(Path(given)) else None
    if SCRIPT.exists() and shutil.which("bash"):
        done = subprocess.run(["bash", str(SCRIPT), "--path"], capture_output=True, text=True, timeout=30, check=False)
        if done.returncode == 0 and done.stdout.strip():
            return Path(done.stdout.strip().splitlines()[-1])
        return None
    builds = sorted((d / "bin" for d in cache_root().glob("k8s-v*") if complete(d / "bin")),
                    key=lambda p: [int(x) if x.isdigit() else 0 for x in p.parent.name[5:].split(".")])
    return builds[-1] if builds else None


def require(bin_dir: Path | None = None) -> Path:
    found = bin_dir if bin_dir is not None else find()
    if found is None or not complete(found):
        where = f" in {found}" if found is not None else ""
        raise ConfigError(f"the real control plane is not built{where}: run scripts/control-plane.sh "
                          "(needs Go; `make test` does it)")
    return found
