"""Request body limits, checked before any route parses a body: size (413) and JSON nesting depth (400).

Python's json parser recurses once per nesting level, so a body of 100,000 `[` raises RecursionError deep in
a route (a 500, and a stack walk per request). `BodyLimits` is pure ASGI middleware: it reads the body once
(refusing at once a Content-Length over the limit, and a streamed body as soon as it passes it), scans it
for bracket depth outside JSON strings (a linear regex pass that stops at the first level too deep), then
replays it to the app. Form bodies (Twilio's callbacks) are only size-checked.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_BODY_BYTES = 4 * 1024 * 1024  # an Alertmanager group of a few thousand alerts fits
MAX_JSON_DEPTH = 32  # Alertmanager's payload nests 4 levels, the API's own bodies fewer
_TOKENS = re.compile(rb'[\[\]{}]|"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)  # brackets, and strings to skip
_FORMS = (b"application/x-www-form-urlencoded", b"multipart/form-data")


def json_depth_exceeds(body: bytes, limit: int) -> bool:
    """Whether `body` opens more than `limit` brackets at once, outside strings (stops as soon as it does)."""
    depth = 0
    for match in _TOKENS.finditer(body):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        elif token in (b"]", b"}"):
            depth -= 1
    return False


class BodyLimits:
    """ASGI middleware answering 413 past `max_bytes` and 400 past `max_depth` levels of JSON nesting."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES, max_depth: int = MAX_JSON_DEPTH,
                 refused: Callable[[str, str], None] | None = None, own_limits: tuple[str, ...] = ()) -> None:
        """`refused(path, why)` is told of every refusal (the app counts and logs it as bad input). Bodies of the
        `own_limits` paths pass through untouched: their route limits them itself (the OTLP receiver: binary and
        gzip bodies, larger limits)."""
        self.app = app
        self.own_limits = frozenset(own_limits)
        self.max_bytes = max_bytes
        self.max_depth = max_depth
        self.refused = refused

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in self.own_limits:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or ())
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, send, 413, self._too_large())
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away: let the app see it
                await self.app(scope, _replay(b"".join(chunks), receive, first=message), send)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(scope, send, 413, self._too_large())
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        form = headers.get(b"content-type", b"").lower().startswith(_FORMS)
        if body and not form and json_depth_exceeds(body, self.max_depth):
            await self._refuse(scope, send, 400, f"the body nests deeper than {self.max_depth} levels")
            return
        await self.app(scope, _replay(body, receive), send)

    def _too_large(self) -> str:
        return f"the body is larger than {self.max_bytes} bytes"

    async def _refuse(self, scope: Scope, send: Send, code: int, detail: str) -> None:
        if self.refused is not None:
            self.refused(str(scope.get("path", "")), detail)
        content = json.dumps({"detail": detail}).encode()
        await send({"type": "http.response.start", "status": code,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(content)).encode()), (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": content})


def _replay(body: bytes, receive: Receive, first: Message | None = None) -> Receive:
    """A `receive` that hands out the body already read (or the message that ended reading), then defers."""
    pending: list[Message] = [first] if first is not None else [
        {"type": "http.request", "body": body, "more_body": False}]

    async def again() -> Message:
        if pending:
            return pending.pop()
        return await receive()

    return again
