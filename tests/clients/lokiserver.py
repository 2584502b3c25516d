"""A local server implementing the documented Loki query API over an in-memory log store (test double).

It evaluates a real LogQL subset, so a wrong query from the client gives a wrong (or 400) answer:
stream selectors `{a="b", c=~"re", d!="x", e!~"re"}`, line filters `|=`, `!=`, `|~`, `!~` (double-quoted or
backtick strings), `count_over_time(<log query> [<n>s|m|h])`, wrapped optionally in `sum(...)` or
`sum by (l1, l2) (...)`. Answers follow https://grafana.com/docs/loki/latest/reference/loki-http-api/.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlparse

from tests.serving import serve

_STRING = r'(?:"(?:[^"\\]|\\.)*"|`[^`]*`)'
_MATCHER = re.compile(rf"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*({_STRING})\s*,?")
_FILTER = re.compile(rf"\s*(\|=|!=|\|~|!~)\s*({_STRING})")
_METRIC = re.compile(r"^count_over_time\((.*)\[(\d+)([smh])\]\s*\)$", re.S)
_SUM = re.compile(r"^sum(?:\s+by\s*\(([^)]*)\))?\s*\((.*)\)$", re.S)


class LogQLError(ValueError):
    pass


def _unquote(text: str) -> str:
    return text[1:-1] if text.startswith("`") else json.loads(text)


@dataclass
class Entry:
    labels: dict[str, str]
    ts_ns: int
    line: str


@dataclass
class LokiStore:
    entries: list[Entry] = field(default_factory=list)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def push(self, labels: dict[str, str], line: str, at: float | None = None) -> None:
        with self.lock:
            self.entries.append(Entry(labels, int((time.time() if at is None else at) * 1e9), line))


def _log_query(text: str) -> Callable[[Entry], bool]:
    text = text.strip()
    if not text.startswith("{") or "}" not in text:
        raise LogQLError("parse error : queries require at least one regexp or equality matcher")
    close = text.index("}")
    selector, rest = text[1:close], text[close + 1 :]
    matchers = []
    pos = 0
    while pos < len(selector.strip()):
        m = _MATCHER.match(selector, pos)
        if not m:
            raise LogQLError(f"parse error at col {pos + 2}: bad matcher")
        matchers.append((m.group(1), m.group(2), _unquote(m.group(3))))
        pos = m.end()
    if not any((op == "=" and v) or (op == "=~" and not re.fullmatch(v, "")) for _, op, v in matchers):
        raise LogQLError("parse error : queries require at least one regexp or equality matcher that does not "
                         "have an empty-compatible value")
    filters = []
    pos = 0
    while rest[pos:].strip():
        m = _FILTER.match(rest, pos)
        if not m:
            raise LogQLError(f"parse error at col {close + pos + 2}: syntax error: unexpected {rest[pos:].strip()!r}")
        filters.append((m.group(1), _unquote(m.group(2))))
        pos = m.end()

    def keep(entry: Entry) -> bool:
        for name, op, value in matchers:
            have = entry.labels.get(name, "")
            ok = {"=": have == value, "!=": have != value, "=~": bool(re.fullmatch(value, have)),
                  "!~": not re.fullmatch(value, have)}[op]
            if not ok:
                return False
        for op, value in filters:
            ok = {"|=": value in entry.line, "!=": value not in entry.line,
                  "|~": re.search(value, entry.line) is not None, "!~": re.search(value, entry.line) is None}[op]
            if not ok:
                return False
        return True

    return keep


@dataclass
class Metric:
    keep: Callable[[Entry], bool]
    window_ns: int
    by: list[str] | None  # None: no aggregation (one series per stream)


def parse(query: str) -> Metric | Callable[[Entry], bool]:
    query = query.strip()
    by: list[str] | None = None
    summed = _SUM.match(query)
    if summed:
        by = [b.strip() for b in (summed.group(1) or "").split(",") if b.strip()]
        query = summed.group(2).strip()
    metric = _METRIC.match(query)
    if metric:
        unit = {"s": 1, "m": 60, "h": 3600}[metric.group(3)]
        return Metric(_log_query(metric.group(1)), int(metric.group(2)) * unit * 1_000_000_000, by)
    if summed:
        raise LogQLError("parse error : sum needs a range aggregation")
    return _log_query(query)


def _evaluate(store: LokiStore, metric: Metric, at_ns: int) -> dict[tuple[tuple[str, str], ...], int]:
    groups: dict[tuple[tuple[str, str], ...], int] = {}
    for entry in store.entries:
        if at_ns - metric.window_ns < entry.ts_ns <= at_ns and metric.keep(entry):
            labels = entry.labels if metric.by is None else {k: entry.labels.get(k, "") for k in metric.by}
            key = tuple(sorted((k, v) for k, v in labels.items() if v))
            groups[key] = groups.get(key, 0) + 1
    return groups


def _answer(store: LokiStore, path: str, params: dict[str, str]) -> dict[str, object]:
    query = parse(params.get("query", ""))
    limit = int(params.get("limit", "100"))
    now_ns = int(time.time() * 1e9)
    if path == "/loki/api/v1/query":
        at = int(params.get("time", now_ns))
        if isinstance(query, Metric):
            groups = _evaluate(store, query, at)
            return {"resultType": "vector",
                    "result": [{"metric": dict(k), "value": [at / 1e9, str(v)]} for k, v in groups.items()]}
        start, end = at - 3600 * 10**9, at
    else:
        start, end = int(params.get("start", now_ns - 3600 * 10**9)), int(params.get("end", now_ns))
        if isinstance(query, Metric):
            step = int(float(params.get("step", "1")) * 1e9)
            series: dict[tuple[tuple[str, str], ...], list[list[object]]] = {}
            for t in range(start, end + 1, step):
                for k, v in _evaluate(store, query, t).items():
                    series.setdefault(k, []).append([t / 1e9, str(v)])
            return {"resultType": "matrix", "result": [{"metric": dict(k), "values": v} for k, v in series.items()]}
    picked = sorted((e for e in store.entries if start <= e.ts_ns <= end and query(e)), key=lambda e: e.ts_ns,
                    reverse=params.get("direction", "backward") == "backward")[:limit]
    streams: dict[tuple[tuple[str, str], ...], list[list[str]]] = {}
    for e in picked:
        streams.setdefault(tuple(sorted(e.labels.items())), []).append([str(e.ts_ns), e.line])
    return {"resultType": "streams", "result": [{"stream": dict(k), "values": v} for k, v in streams.items()]}


@contextmanager
def loki_server(store: LokiStore, tenant: str | None = None) -> Iterator[str]:
    """Serve `store` on a free port; yields the base URL. With `tenant`, other X-Scope-OrgIDs get 401."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: object) -> None:
            pass

        def _send(self, code: int, body: bytes, ctype: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            url = urlparse(self.path)
            params = {k: v[-1] for k, v in parse_qs(url.query).items()}
            store.requests.append((url.path, params))
            if tenant is not None and self.headers.get("X-Scope-OrgID") != tenant:
                self._send(401, b"no org id\n", "text/plain")
                return
            if url.path == "/ready":
                self._send(200, b"ready\n", "text/plain")
                return
            if url.path not in ("/loki/api/v1/query", "/loki/api/v1/query_range"):
                self._send(404, b"404 page not found\n", "text/plain")
                return
            try:
                with store.lock:
                    data = _answer(store, url.path, params)
            except LogQLError as exc:
                self._send(400, f"{exc}\n".encode(), "text/plain; charset=utf-8")
                return
            body = {"status": "success", "data": {**data, "stats": {}}}
            self._send(200, json.dumps(body).encode(), "application/json")

    with serve(Handler) as url:
        yield url
