"""A kubeconfig for the sandbox, and reading one back (server URL and token) for `tagent sandbox inject`."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import yaml

from tagent.errors import ConfigError

NAME = "tagent-sandbox"


def render(url: str, token: str, ca_pem: bytes | None = None, namespace: str = "default",
           name: str = NAME) -> dict[str, Any]:
    cluster: dict[str, Any] = {"server": url}
    if ca_pem:
        cluster["certificate-authority-data"] = base64.b64encode(ca_pem).decode()
    return {
        "apiVersion": "v1", "kind": "Config", "preferences": {},
        "clusters": [{"name": name, "cluster": cluster}],
        "users": [{"name": name, "user": {"token": token}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name, "namespace": namespace}}],
        "current-context": name,
    }


def write(path: Path, url: str, token: str, ca_pem: bytes | None = None, namespace: str = "default") -> Path:
    """Write the kubeconfig readable only by its owner (it holds the token), atomically: a reader polling
    for the file never sees it half written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        yaml.safe_dump(render(url, token, ca_pem, namespace), fh, sort_keys=False)
    os.replace(partial, path)
    return path


def read(path: Path) -> tuple[str, str, bytes | None]:
    """(server URL, bearer token, CA PEM) of the current context; ConfigError with a clear reason otherwise."""
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read kubeconfig {path}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"kubeconfig {path} is not valid YAML") from exc
    try:
        ctx_name = data["current-context"]
        ctx = next(c["context"] for c in data["contexts"] if c["name"] == ctx_name)
        cluster = next(c["cluster"] for c in data["clusters"] if c["name"] == ctx["cluster"])
        server = cluster["server"]
        user = next(u.get("user") or {} for u in data["users"] if u["name"] == ctx["user"])
    except (KeyError, TypeError, StopIteration) as exc:
        raise ConfigError(f"kubeconfig {path} has no usable current context") from exc
    token = user.get("token")
    if not token:
        raise ConfigError(f"kubeconfig {path}: the current user has no bearer token (is it a sandbox kubeconfig?)")
    ca = cluster.get("certificate-authority-data")
    return str(server), str(token), base64.b64decode(ca) if ca else None
