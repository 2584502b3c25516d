"""A scripted Kubernetes list/watch endpoint for the watch edge cases a healthy cluster never shows on
demand: garbage lines, unknown event types, bookmarks, a 410 in the stream or as the HTTP status.
The official client talks to it over HTTP like to any API server (test double; the happy path is tested
against the sandbox cluster)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlparse

from tests.serving import serve


def pod(name: str, rv: str, phase: str = "Running") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "shop", "resourceVersion": rv, "uid": f"uid-{name}",
                         "labels": {"app": "cart", "pod-template-hash": "6d9f7c8b4"},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "controller": True,
                                              "name": "cart-6d9f7c8b4", "uid": "rs-uid"}]},
            "spec": {"containers": [{"name": "app", "image": "python:3.12"}]},
            "status": {"phase": phase, "conditions": [{"type": "Ready", "status": "True"}], "containerStatuses": [
                {"name": "app", "ready": True, "restartCount": 0, "image": "python:3.12",
                 "state": {"running": {"startedAt": "2030-01-01T00:00:00Z"}}}]}}


def line(kind: str, obj: dict[str, Any]) -> str:
    return json.dumps({"type": kind, "object": obj})


GONE = line("ERROR", {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 410, "reason": "Expired",
                      "message": "too old resource version: 1 (20)"})


@dataclass
class Script:
    """`lists`: successive list answers (items, resourceVersion), the last one repeats; `watches`: successive
    watch answers, each a list of raw lines, or an int HTTP status to answer instead."""

    lists: list[tuple[list[dict[str, Any]], str]]
    watches: list[list[str] | int]
    logs: dict[str, list[bytes]] = field(default_factory=dict)  # pod name -> successive log answers
    requests: list[dict[str, str]] = field(default_factory=list)


@contextmanager
def watch_server(script: Script) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_: object) -> None:
            pass

        def _json(self, code: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            url = urlparse(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            script.requests.append({"path": url.path, **query})
            if "/replicasets/" in url.path:  # owners are not scripted: as if the ReplicaSet were deleted
                self._json(404, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 404,
                                 "reason": "NotFound", "message": "replicasets not found"})
                return
            if url.path.endswith("/log"):
                answers = script.logs.get(url.path.split("/")[-2], [b""])
                data = answers.pop(0) if len(answers) > 1 else answers[0]
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            if query.get("watch") != "true":
                items, rv = script.lists.pop(0) if len(script.lists) > 1 else script.lists[0]
                self._json(200, {"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": rv},
                                 "items": items})
                return
            answer = script.watches.pop(0) if script.watches else []
            if isinstance(answer, int):
                self._json(answer, {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": answer,
                                    "reason": "Expired", "message": "too old"})
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for text in answer:
                chunk = text.encode("utf-8", errors="surrogateescape") + b"\n"
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")

    with serve(Handler) as url:
        yield url
