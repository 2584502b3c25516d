"""Local stand-ins for D-ID's Talks API and HeyGen's video API: the documented requests and answers.

Each is a BaseHTTPRequestHandler class made by a factory, with its behaviour as arguments (how many
polls before done, how many 5xx first, a refusal, a talk that errors, a slow answer) and a `seen` list of
(method, path, headers, body) so tests check what the adapter actually sent. Serve with tests/serving.py.
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any


@dataclass
class Behaviour:
    video: bytes
    key: str = "test-key"
    polls_before_done: int = 2
    server_errors_first: int = 0  # 503s before the first success of every kind of request
    refuse_status: int | None = None  # e.g. 402: no credits
    fail_render: bool = False  # the job itself ends in error
    never_done: bool = False
    slow_s: float = 0.0  # each answer waits this long
    seen: list[tuple[str, str, dict[str, str], Any]] = field(default_factory=list)
    polls: int = 0
    errors_sent: int = 0


class _Base(BaseHTTPRequestHandler):
    b: Behaviour

    def log_message(self, *_: Any) -> None:
        pass

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        return json.loads(raw) if raw else None

    def _send(self, code: int, body: Any, ctype: str = "application/json") -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the adapter gave up waiting
            self.wfile.write(data)

    def _gate(self, method: str) -> bool:
        """Record the request; answer 503 while server errors are due. True when the request goes on."""
        self.b.seen.append((method, self.path, dict(self.headers), self._body() if method == "POST" else None))
        if self.b.slow_s:
            time.sleep(self.b.slow_s)
        if self.b.errors_sent < self.b.server_errors_first:
            self.b.errors_sent += 1
            self._send(503, {"message": "busy"})
            return False
        return True


def did(b: Behaviour) -> type[BaseHTTPRequestHandler]:
    class DID(_Base):
        def do_POST(self) -> None:
            if not self._gate("POST"):
                return
            body = self.b.seen[-1][3]
            if self.headers.get("Authorization") != f"Basic {self.b.key}":
                self._send(401, {"kind": "AuthorizationError", "description": "user unauthorized"})
            elif self.b.refuse_status:
                self._send(self.b.refuse_status, {"kind": "InsufficientCreditsError",
                                                  "description": "not enough credits"})
            elif self.path != "/talks" or not body.get("source_url") or body["script"].get("type") != "text" \
                    or not body["script"].get("input"):
                self._send(400, {"kind": "ValidationError", "description": "invalid talk"})
            else:
                self._send(201, {"id": "tlk_night", "created_at": "2026-12-02T02:00:00Z", "status": "created"})

        def do_GET(self) -> None:
            if not self._gate("GET"):
                return
            if self.path == "/results/tlk_night.mp4":
                self._send(200, self.b.video, "video/mp4")
            elif self.path == "/talks/tlk_night":
                self.b.polls += 1
                if self.b.fail_render:
                    self._send(200, {"id": "tlk_night", "status": "error",
                                     "error": {"kind": "FaceError", "description": "no face found"}})
                elif self.b.never_done or self.b.polls <= self.b.polls_before_done:
                    self._send(200, {"id": "tlk_night", "status": "started"})
                else:
                    host = self.headers.get("Host")
                    self._send(200, {"id": "tlk_night", "status": "done", "duration": 7,
                                     "result_url": f"http://{host}/results/tlk_night.mp4"})
            else:
                self._send(404, {"kind": "NotFoundError", "description": "no such talk"})

    DID.b = b
    return DID


def heygen(b: Behaviour) -> type[BaseHTTPRequestHandler]:
    class HeyGen(_Base):
        def do_POST(self) -> None:
            if not self._gate("POST"):
                return
            body = self.b.seen[-1][3]
            if self.headers.get("X-Api-Key") != self.b.key:
                self._send(401, {"error": {"code": "401028", "message": "Unauthorized"}, "data": None})
            elif self.b.refuse_status:
                self._send(self.b.refuse_status, {"error": {"code": "quota_exceeded",
                                                            "message": "Insufficient credit"}, "data": None})
            elif self.path != "/v2/video/generate" or not body["video_inputs"][0]["voice"].get("input_text") \
                    or not body["video_inputs"][0]["character"].get("avatar_id"):
                self._send(400, {"error": {"code": "invalid_parameter", "message": "bad input"}, "data": None})
            else:
                self._send(200, {"error": None, "data": {"video_id": "vid_night"}})

        def do_GET(self) -> None:
            if not self._gate("GET"):
                return
            if self.path == "/files/vid_night.mp4":
                self._send(200, self.b.video, "video/mp4")
                return
            if self.path != "/v1/video_status.get?video_id=vid_night":
                self._send(404, {"code": 40004, "message": "not found", "data": None})
                return
            self.b.polls += 1
            data: dict[str, Any]
            if self.b.fail_render:
                data = {"status": "failed", "video_url": None,
                        "error": {"code": 40119, "message": "avatar not found", "detail": "avatar_id"}}
            elif self.b.never_done or self.b.polls <= self.b.polls_before_done:
                data = {"status": "processing" if self.b.polls > 1 else "pending", "video_url": None, "error": None}
            else:
                data = {"status": "completed", "duration": 7.2, "error": None,
                        "video_url": f"http://{self.headers.get('Host')}/files/vid_night.mp4"}
            self._send(200, {"code": 100, "message": "Success", "data": {"id": "vid_night", **data}})

    HeyGen.b = b
    return HeyGen
