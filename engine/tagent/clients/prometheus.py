"""A thin typed client for Prometheus's HTTP query API (`/api/v1/query`, `/api/v1/query_range`).

httpx rather than prometheus-api-client: one small surface, a transport seam for tests, and errors mapped
to the Tagent tree so callers know what to do next (a timeout or a 5xx is worth retrying later; a query
Prometheus rejects as bad is not).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from pydantic import SecretStr

from tagent.errors import PermanentError, TransientError


@dataclass(frozen=True)
class Sample:
    """One instant-vector element (or a scalar, with no labels)."""

    labels: dict[str, str]
    value: float
    timestamp: float


@dataclass(frozen=True)
class Series:
    """One range-vector series: (unix seconds, value) points, oldest first."""

    labels: dict[str, str]
    points: list[tuple[float, float]] = field(default_factory=list)


def _when(value: datetime | float | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return f"{value.timestamp():.3f}"
    return f"{float(value):.3f}"


def parse_number(raw: Any) -> float:
    """Prometheus sends sample values as strings ("1.5", "NaN", "+Inf")."""
    try:
        return float(raw)
    except (TypeError, ValueError):
        return math.nan


class PrometheusClient:
    """Query a Prometheus server. `transport` is the test seam (an httpx transport); `token` a bearer token."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 5.0,
        token: SecretStr | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"Authorization": f"Bearer {token.get_secret_value()}"} if token is not None else {}
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout, headers=headers, transport=transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> PrometheusClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def query(self, promql: str, at: datetime | float | None = None) -> list[Sample]:
        """Evaluate an instant query; a scalar result comes back as one label-less sample."""
        params = {"query": promql, "time": _when(at), "timeout": f"{max(1, int(self.timeout * 1000))}ms"}
        data = self._get("/api/v1/query", params)
        kind, result = data.get("resultType"), data.get("result")
        if kind == "vector" and isinstance(result, list):
            return [self._sample(item) for item in result]
        if kind in ("scalar", "string") and isinstance(result, list) and len(result) == 2:
            return [Sample(labels={}, value=parse_number(result[1]), timestamp=parse_number(result[0]))]
        if kind == "matrix" and isinstance(result, list):
            # a range selector as an instant query: keep each series' newest point
            out = []
            for series in self._series(result):
                if series.points:
                    ts, value = series.points[-1]
                    out.append(Sample(labels=series.labels, value=value, timestamp=ts))
            return out
        raise TransientError(f"prometheus: unexpected result type {kind!r} for {promql!r}")

    def query_range(
        self, promql: str, start: datetime | float, end: datetime | float, step: float
    ) -> list[Series]:
        """Evaluate a range query between `start` and `end` every `step` seconds."""
        if step <= 0:
            raise PermanentError("prometheus: query_range step must be > 0")
        params = {"query": promql, "start": _when(start), "end": _when(end), "step": f"{step:g}"}
        data = self._get("/api/v1/query_range", params)
        result = data.get("result")
        if data.get("resultType") != "matrix" or not isinstance(result, list):
            raise TransientError(f"prometheus: unexpected range result for {promql!r}")
        return self._series(result)

    def ready(self) -> bool:
        """Whether the server answers its readiness endpoint."""
        try:
            return self._http.get("/-/ready").status_code == 200
        except httpx.HTTPError:
            return False

    def _get(self, path: str, params: dict[str, str | None]) -> dict[str, Any]:
        clean = {k: v for k, v in params.items() if v is not None}
        try:
            response = self._http.get(path, params=clean)
        except httpx.TimeoutException as exc:
            raise TransientError(f"prometheus: {path} timed out after {self.timeout}s", delay=self.timeout) from exc
        except httpx.HTTPError as exc:
            raise TransientError(f"prometheus: {path} failed: {exc}") from exc
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            code = response.status_code
            if code >= 500 or code == 429:
                raise TransientError(f"prometheus: {path} answered HTTP {code}")
            raise (PermanentError if 400 <= code < 500 else TransientError)(
                f"prometheus: {path} answered HTTP {code} without a JSON body"
            )
        if body.get("status") != "success":
            message = f"prometheus: {body.get('errorType', 'error')}: {body.get('error', 'unknown error')}"
            if response.status_code in (400, 422) or body.get("errorType") in ("bad_data",):
                raise PermanentError(message)
            raise TransientError(message)
        data = body.get("data")
        if not isinstance(data, dict):
            raise TransientError(f"prometheus: {path} answered without data")
        return data

    @staticmethod
    def _sample(item: Any) -> Sample:
        if not isinstance(item, dict):
            raise TransientError("prometheus: malformed vector element")
        labels = item.get("metric") or {}
        pair = item.get("value") or [math.nan, math.nan]
        return Sample(labels={str(k): str(v) for k, v in labels.items()}, value=parse_number(pair[1]),
                      timestamp=parse_number(pair[0]))

    @staticmethod
    def _series(result: list[Any]) -> list[Series]:
        out = []
        for item in result:
            if not isinstance(item, dict):
                raise TransientError("prometheus: malformed matrix element")
            labels = {str(k): str(v) for k, v in (item.get("metric") or {}).items()}
            points = [(parse_number(p[0]), parse_number(p[1])) for p in item.get("values") or [] if len(p) == 2]
            out.append(Series(labels=labels, points=points))
        return out
