"""A thin client for Grafana Tempo's HTTP query API (the query-frontend, port 3200).

    GET /api/search?q=<TraceQL>&start=<unix s>&end=<unix s>&limit=<n>&minDuration=<250ms>&spss=<n>
        -> {"traces": [{"traceID", "rootServiceName", "rootTraceName", "startTimeUnixNano", "durationMs",
                        "spanSet": {"spans": [{"spanID", "startTimeUnixNano", "durationNanos", ...}],
                                    "matched": n}, "spanSets": [...], "serviceStats": {svc: {"spanCount",
                        "errorCount"}}}], "metrics": {...}}
    GET /api/traces/<traceID> -> OTLP JSON: {"batches": [ResourceSpans...]} (Tempo 2; ids in base64)

Errors map to the Tagent tree (TransientError: retry later; PermanentError: a bad query or 404 elsewhere).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
from pydantic import SecretStr

from tagent.errors import PermanentError, TransientError


def traceql_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class TempoClient:
    """`tenant` sets X-Scope-OrgID (multi-tenant Tempo); `transport` is the test seam."""

    def __init__(self, base_url: str, *, timeout: float = 10.0, token: SecretStr | None = None,
                 tenant: str | None = None, transport: httpx.BaseTransport | None = None) -> None:
        headers: dict[str, str] = {}
        if token is not None:
            headers["Authorization"] = f"Bearer {token.get_secret_value()}"
        if tenant:
            headers["X-Scope-OrgID"] = tenant
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, headers=headers, transport=transport)

    def close(self) -> None:
        self._http.close()

    def search(self, query: str, start: datetime, end: datetime, *, limit: int = 20,
               min_duration_ms: float | None = None, spans_per_set: int | None = None) -> list[dict[str, Any]]:
        """Traces matching a TraceQL query in [start, end] (Tempo's resolution is one second)."""
        params: dict[str, str] = {"q": query, "start": str(int(start.timestamp())),
                                  "end": str(int(end.timestamp()) + 1), "limit": str(limit)}
        if min_duration_ms is not None:
            params["minDuration"] = f"{min_duration_ms:g}ms"
        if spans_per_set is not None:
            params["spss"] = str(spans_per_set)
        body = self._get("/api/search", params)
        found = body.get("traces") if isinstance(body, dict) else None
        if found is None:
            return []
        if not isinstance(found, list):
            raise TransientError("tempo: /api/search answered without a list of traces")
        return [t for t in found if isinstance(t, dict)]

    def trace(self, trace_id: str) -> dict[str, Any] | None:
        """One trace as OTLP JSON ({"batches": [...]} or {"trace": {"resourceSpans": [...]}}); None when unknown."""
        body = self._get(f"/api/traces/{trace_id}", {}, missing_ok=True)
        return body if isinstance(body, dict) else None

    def _get(self, path: str, params: dict[str, str], *, missing_ok: bool = False) -> Any:
        try:
            response = self._http.get(path, params=params, headers={"Accept": "application/json"})
        except httpx.TimeoutException as exc:
            raise TransientError(f"tempo: {path} timed out after {self.timeout}s", delay=self.timeout) from exc
        except httpx.HTTPError as exc:
            raise TransientError(f"tempo: {path} failed: {exc}") from exc
        code = response.status_code
        if code == 404 and missing_ok:
            return None
        if code >= 500 or code == 429:
            raise TransientError(f"tempo: {path} answered HTTP {code}")
        if code >= 400:
            raise PermanentError(f"tempo: {path} answered HTTP {code}: {response.text[:200]}")
        try:
            return response.json()
        except ValueError as exc:
            raise TransientError(f"tempo: {path} answered something that is not JSON") from exc
