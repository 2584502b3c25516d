"""A recording HTTP server: the shared core of every local stand-in for a SaaS API.

Each receiver is a real `ThreadingHTTPServer` on 127.0.0.1, port 0 (a free port), so tests run in
parallel without clashing and the real client libraries talk HTTP to it exactly as they would to the
service. Every request is recorded in a thread-safe list; `wait_for` lets a test or the demo block until
the expected number of requests arrived instead of sleeping. `fail_next` makes the next N requests fail
with a status code, to exercise retries and fallbacks in the callers.
"""

from __future__ import annotations

import json
import ssl
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

from tagent.sandbox.receivers.tls import SelfSignedCert, make_self_signed_cert


@dataclass(frozen=True)
class RecordedRequest:
    """One request as received: what the client library actually sent over the wire."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    status: int = 200  # what the receiver answered

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, str]:
        """The body as an application/x-www-form-urlencoded mapping (last value wins)."""
        return {k: v[-1] for k, v in urllib.parse.parse_qs(self.text, keep_blank_values=True).items()}


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of_json(cls, data: Any, status: int = 200) -> Reply:
        return cls(status=status, body=json.dumps(data).encode())


Handler = Callable[[RecordedRequest], Reply]


class RecordingServer:
    """Serve `handle(request) -> Reply` on 127.0.0.1 and record every request. Use as a context manager."""

    def __init__(self, *, tls: bool = False, cert_dir: Path | None = None) -> None:
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._requests: list[RecordedRequest] = []
        self._failures: list[tuple[int, str]] = []
        self._tls = tls
        self._cert_dir = cert_dir
        self._cert: SelfSignedCert | None = None
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- to override ------------------------------------------------------------------------------
    def handle(self, request: RecordedRequest) -> Reply:
        return Reply(status=200, body=b"ok", content_type="text/plain")

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self) -> Self:
        owner = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                owner._dispatch(self)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

            def log_message(self, format: str, *args: Any) -> None:  # quiet: the record is the log
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        if self._tls:
            self._cert = make_self_signed_cert(self._cert_dir)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(str(self._cert.cert), str(self._cert.key))
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=type(self).__name__, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._cert is not None:
            self._cert.remove()
            self._cert = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- addresses --------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"{'https' if self._tls else 'http'}://127.0.0.1:{self.port}"

    # -- recording --------------------------------------------------------------------------------
    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()

    def fail_next(self, count: int, status: int = 500, path_prefix: str = "") -> None:
        """Answer the next `count` requests (under `path_prefix`) with `status`, to test retries."""
        with self._lock:
            self._failures.extend([(status, path_prefix)] * count)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[RecordedRequest]:
        """Block until at least `count` requests arrived; raise TimeoutError with what did arrive."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self._requests) >= count, timeout=timeout):
                raise TimeoutError(f"{type(self).__name__}: expected {count} requests within {timeout}s, "
                                   f"got {len(self._requests)}")
            return list(self._requests)

    def _dispatch(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        split = urllib.parse.urlsplit(h.path)
        request = RecordedRequest(
            method=h.command, path=split.path, body=body, headers={k.lower(): v for k, v in h.headers.items()},
            query=urllib.parse.parse_qs(split.query, keep_blank_values=True),
        )
        forced = None
        with self._lock:
            for i, (status, prefix) in enumerate(self._failures):
                if request.path.startswith(prefix):
                    forced = status
                    del self._failures[i]
                    break
        if forced is not None:
            reply = Reply.of_json({"error": "injected failure", "status": forced}, status=forced)
        else:
            try:
                reply = self.handle(request)
            except Exception as exc:  # noqa: BLE001 - a receiver bug must show up as a 500, not a hang
                reply = Reply.of_json({"error": f"receiver error: {exc}"}, status=500)
        with self._arrived:
            self._requests.append(RecordedRequest(**{**request.__dict__, "status": reply.status}))
            self._arrived.notify_all()
        h.send_response(reply.status)
        h.send_header("Content-Type", reply.content_type)
        h.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            h.send_header(name, value)
        h.end_headers()
        h.wfile.write(reply.body)
