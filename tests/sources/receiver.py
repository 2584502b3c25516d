"""A local HTTP receiver that records JSON POST bodies (where Alertmanager's webhook fires in tests)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.serving import serve


@contextmanager
def json_receiver() -> Iterator[tuple[str, list[Any]]]:
    """Yields (url, bodies); each POST's decoded JSON body is appended to `bodies`."""
    bodies: list[Any] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: object) -> None:
            pass

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            bodies.append(json.loads(raw))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    with serve(Handler) as url:
        yield f"{url}/hook", bodies
