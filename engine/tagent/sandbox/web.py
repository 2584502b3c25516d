"""Request and response values passed between the HTTP server and the API handlers."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from tagent.sandbox.apierrors import ApiError

JSON = "application/json"
TEXT = "text/plain; charset=utf-8"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: Mapping[str, str]  # lower-case names
    body: bytes = b""
    client_gone: Callable[[], bool] = lambda: False

    def json(self) -> Any:
        media = self.content_type.split(";")[0].strip().lower()
        if media and media != JSON and not media.endswith("+json") and self.method != "PATCH":
            raise ApiError(415, f"the sandbox accepts JSON request bodies only, not {media}", "UnsupportedMediaType")
        if not self.body:
            raise ApiError(400, "the request needs a JSON body")
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise ApiError(400, f"the request body is not valid JSON: {exc}") from exc

    def json_or_empty(self) -> Any:
        return self.json() if self.body.strip() else {}

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "") or ""

    def wants_table(self) -> bool:
        accept = self.headers.get("accept", "") or ""
        return any("as=Table" in part for part in accept.split(","))

    def flag(self, name: str) -> bool:
        return self.query.get(name, "").lower() in ("true", "1")

    def int_param(self, name: str) -> int | None:
        value = self.query.get(name)
        if value in (None, ""):
            return None
        try:
            return int(value)
        except ValueError as exc:
            raise ApiError(400, f"{name} must be an integer, not {value!r}") from exc


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = JSON
    stream: Iterator[bytes] | None = None
    headers: dict[str, str] = field(default_factory=dict)


def json_response(obj: Any, status: int = 200) -> Response:
    return Response(status, json.dumps(obj, separators=(",", ":")).encode())


def text_response(text: str, status: int = 200, content_type: str = TEXT) -> Response:
    return Response(status, text.encode(), content_type)


def error_response(err: ApiError) -> Response:
    return json_response(err.status(), err.code)
