"""A thin typed client for Grafana Loki's HTTP query API.

There is no working Loki client on PyPI, so this speaks the documented API directly:
`GET /loki/api/v1/query` (instant; a metric query answers a `vector`) and `GET /loki/api/v1/query_range`
(a log query answers `streams`, a metric query a `matrix`). Timestamps go out as Unix nanoseconds.
`count_over_time` builds the LogQL Tagent needs for log-pattern rules. Errors map to the Tagent tree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from pydantic import SecretStr

from tagent.clients.prometheus import Sample, Series, parse_number
from tagent.errors import PermanentError, TransientError

_LABEL = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class LogLine:
    labels: dict[str, str]
    timestamp_ns: int
    line: str


@dataclass(frozen=True)
class LokiResult:
    """One answer: exactly one of the lists is filled, by `result_type` (streams | vector | matrix)."""

    result_type: str
    lines: list[LogLine]
    samples: list[Sample]
    series: list[Series]


def _ns(value: datetime | float | None) -> str | None:
    if value is None:
        return None
    seconds = value.timestamp() if isinstance(value, datetime) else float(value)
    return str(int(seconds * 1_000_000_000))


def logql_string(text: str) -> str:
    """Quote `text` as a LogQL string literal: backticks (raw) when possible, else escaped double quotes."""
    if "`" not in text:
        return f"`{text}`"
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def count_over_time_query(selector: str, pattern: str, window_s: float, by: tuple[str, ...]) -> str:
    """`sum by (<by>) (count_over_time(<selector> |~ <pattern> [<window>s]))`: matches per group in the window."""
    for name in by:
        if not _LABEL.match(name):
            raise PermanentError(f"loki: invalid label name {name!r}")
    window = max(1, int(window_s))
    inner = f"count_over_time({selector} |~ {logql_string(pattern)} [{window}s])"
    return f"sum by ({', '.join(by)}) ({inner})" if by else f"sum({inner})"


class LokiClient:
    """Query Loki. `tenant` sets `X-Scope-OrgID` (multi-tenant Loki); `transport` is the test seam."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 10.0,
        token: SecretStr | None = None,
        tenant: str | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
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

    def __enter__(self) -> LokiClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def query(self, logql: str, at: datetime | float | None = None, limit: int = 100) -> LokiResult:
        """Instant query (metric queries answer a vector; log queries answer streams)."""
        return self._get("/loki/api/v1/query", {"query": logql, "time": _ns(at), "limit": str(limit)})

    def query_range(
        self,
        logql: str,
        start: datetime | float,
        end: datetime | float,
        *,
        step: float | None = None,
        limit: int = 1000,
        direction: str = "backward",
    ) -> LokiResult:
        """Range query: log lines (streams) or, for a metric query, one series per label set (matrix)."""
        if direction not in ("forward", "backward"):
            raise PermanentError(f"loki: direction must be forward or backward, not {direction!r}")
        params = {"query": logql, "start": _ns(start), "end": _ns(end), "limit": str(limit), "direction": direction,
                  "step": f"{step:g}" if step is not None else None}
        return self._get("/loki/api/v1/query_range", params)

    def count_over_time(
        self,
        selector: str,
        pattern: str,
        window_s: float,
        *,
        by: tuple[str, ...] = ("namespace", "pod"),
        at: datetime | float | None = None,
    ) -> list[Sample]:
        """How many lines matching the regex `pattern` each group logged in the last `window_s` seconds."""
        result = self.query(count_over_time_query(selector, pattern, window_s, by), at=at)
        if result.result_type != "vector":
            raise TransientError(f"loki: count_over_time answered {result.result_type!r}, expected a vector")
        return result.samples

    def _get(self, path: str, params: dict[str, str | None]) -> LokiResult:
        clean = {k: v for k, v in params.items() if v is not None}
        try:
            response = self._http.get(path, params=clean)
        except httpx.TimeoutException as exc:
            raise TransientError(f"loki: {path} timed out after {self.timeout}s", delay=self.timeout) from exc
        except httpx.HTTPError as exc:
            raise TransientError(f"loki: {path} failed: {exc}") from exc
        code = response.status_code
        if code != 200:
            detail = response.text.strip().splitlines()[0][:300] if response.text.strip() else ""
            message = f"loki: {path} answered HTTP {code}: {detail}"
            if code == 429 or code >= 500:
                raise TransientError(message)
            raise PermanentError(message)
        try:
            body = response.json()
        except ValueError as exc:
            raise TransientError(f"loki: {path} answered malformed JSON") from exc
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(body, dict) or body.get("status") != "success" or not isinstance(data, dict):
            raise TransientError(f"loki: {path} answered an unexpected body")
        return _parse(data)


def _labels(raw: Any) -> dict[str, str]:
    return {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}


def _parse(data: dict[str, Any]) -> LokiResult:
    kind = str(data.get("resultType", ""))
    result = data.get("result")
    if not isinstance(result, list):
        raise TransientError("loki: result is not a list")
    lines: list[LogLine] = []
    samples: list[Sample] = []
    series: list[Series] = []
    try:
        if kind == "streams":
            for stream in result:
                labels = _labels(stream.get("stream"))
                lines.extend(LogLine(labels=labels, timestamp_ns=int(ts), line=str(text))
                             for ts, text, *_ in stream.get("values") or [])
        elif kind == "vector":
            for item in result:
                ts, value = item["value"]
                samples.append(Sample(labels=_labels(item.get("metric")), value=parse_number(value),
                                      timestamp=parse_number(ts)))
        elif kind == "matrix":
            for item in result:
                points = [(parse_number(ts), parse_number(v)) for ts, v in item.get("values") or []]
                series.append(Series(labels=_labels(item.get("metric")), points=points))
        else:
            raise TransientError(f"loki: unknown resultType {kind!r}")
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise TransientError(f"loki: malformed {kind} result: {exc}") from exc
    return LokiResult(result_type=kind, lines=lines, samples=samples, series=series)
