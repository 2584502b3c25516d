"""A thin client for the Jaeger query service's HTTP API (the one its UI uses, port 16686).

    GET /api/traces?service=<name>&start=<unix µs>&end=<unix µs>&limit=<n>&minDuration=<250ms>&tags=<JSON>
    GET /api/traces/<traceID>
        -> {"data": [{"traceID", "spans": [{"traceID", "spanID", "operationName", "references": [{"refType":
            "CHILD_OF", "traceID", "spanID"}], "startTime" (µs), "duration" (µs), "tags": [{"key", "type",
            "value"}], "processID"}], "processes": {"p1": {"serviceName", "tags": [...]}}}], "errors": null}

Errors map to the Tagent tree (TransientError: retry later; PermanentError: a bad request).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import httpx
from pydantic import SecretStr

from tagent.errors import PermanentError, TransientError


def _us(when: datetime) -> str:
    return str(int(when.timestamp() * 1_000_000))


class JaegerClient:
    """`transport` is the test seam."""

    def __init__(self, base_url: str, *, timeout: float = 10.0, token: SecretStr | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        headers = {"Authorization": f"Bearer {token.get_secret_value()}"} if token is not None else {}
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, headers=headers, transport=transport)

    def close(self) -> None:
        self._http.close()

    def find_traces(self, service: str, start: datetime, end: datetime, *, limit: int = 20,
                    min_duration_ms: float | None = None, tags: dict[str, str] | None = None) -> list[dict[str, Any]]:
        """Whole traces with a span of `service` in [start, end]."""
        params = {"service": service, "start": _us(start), "end": _us(end), "limit": str(limit)}
        if min_duration_ms is not None:
            params["minDuration"] = f"{min_duration_ms:g}ms"
        if tags:
            params["tags"] = json.dumps(tags)
        return self._data("/api/traces", params) or []

    def trace(self, trace_id: str) -> dict[str, Any] | None:
        found = self._data(f"/api/traces/{trace_id}", {}, missing_ok=True)
        return found[0] if found else None

    def _data(self, path: str, params: dict[str, str], *, missing_ok: bool = False) -> list[dict[str, Any]] | None:
        try:
            response = self._http.get(path, params=params)
        except httpx.TimeoutException as exc:
            raise TransientError(f"jaeger: {path} timed out after {self.timeout}s", delay=self.timeout) from exc
        except httpx.HTTPError as exc:
            raise TransientError(f"jaeger: {path} failed: {exc}") from exc
        code = response.status_code
        if code == 404 and missing_ok:
            return None
        if code >= 500 or code == 429:
            raise TransientError(f"jaeger: {path} answered HTTP {code}")
        try:
            body = response.json()
        except ValueError as exc:
            raise TransientError(f"jaeger: {path} answered something that is not JSON (HTTP {code})") from exc
        errors = body.get("errors") if isinstance(body, dict) else None
        if code >= 400 or errors:
            first = errors[0].get("msg", "") if isinstance(errors, list) and errors and isinstance(
                errors[0], dict) else ""
            if code == 404 and missing_ok:
                return None
            raise PermanentError(f"jaeger: {path} answered HTTP {code}: {first or response.text[:200]}")
        data = body.get("data") if isinstance(body, dict) else None
        if data is None:
            return []
        if not isinstance(data, list):
            raise TransientError(f"jaeger: {path} answered without a data list")
        return [t for t in data if isinstance(t, dict)]
