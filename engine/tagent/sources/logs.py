"""Log patterns of the active rules → LogPattern events: matches per workload over each rule's window.

Zero-config it reads pod logs through the Kubernetes API: each round fetches what every running container
wrote since the last round (`sinceSeconds`, with timestamps so overlapping reads are not counted twice),
and keeps match times in a sliding window per (condition, workload). With a Loki client it asks Loki for
`count_over_time` instead. A line that is not UTF-8 is counted (`non_utf8_lines`) and matched with U+FFFD
in place of the bad bytes. An event is emitted while the count is above zero, and once more at zero.
"""

from __future__ import annotations

import math
import re
import threading
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from tagent.clients.kubernetes import KubeClient, PodInfo
from tagent.clients.loki import LokiClient
from tagent.errors import ExternalError, PermanentError, TransientError
from tagent.model.core import Event, EventSource, WorkloadRef, utcnow
from tagent.sources.base import Clock, Emit, Source, SourceQuery
from tagent.sources.kube_view import clean_labels
from tagent.sources.targets import PodResolver, target_from_labels

_STAMP = re.compile(rb"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d) ")


def split_timestamp(line: bytes) -> tuple[datetime | None, bytes]:
    """`2030-01-01T00:00:00.123456789Z text` → (time, b"text"); (None, line) without a timestamp."""
    m = _STAMP.match(line)
    if not m:
        return None, line
    fraction = (m.group(2) or b"")[:7].decode()  # Python keeps microseconds
    zone = m.group(3).decode().replace("Z", "+00:00")
    return datetime.fromisoformat(m.group(1).decode() + fraction + zone), line[m.end():]


class LogSource(Source):
    name = "logs"

    def __init__(self, queries: Iterable[SourceQuery], emit: Emit, *, kube: KubeClient | None = None,
                 loki: LokiClient | None = None, loki_selector: str = '{namespace=~".+"}',
                 namespace: str | None = None, interval: float = 15.0, clock: Clock = utcnow,
                 resolve_pod: PodResolver | None = None, fetch_workers: int = 4) -> None:
        super().__init__(emit, interval=interval, clock=clock)
        if kube is None and loki is None:
            raise PermanentError("log source: needs a Kubernetes client or a Loki client")
        self.kube, self.loki = kube, loki
        self.loki_selector = loki_selector
        self.namespace = namespace
        self.resolve_pod = resolve_pod if resolve_pod is not None else (kube.resolve_pod if kube else None)
        self.fetch_workers = fetch_workers
        self._lock = threading.Lock()
        self._patterns: list[tuple[SourceQuery, re.Pattern[str]]] = []
        self.set_queries(queries)
        self._last_seen: dict[tuple[str, str, str], datetime] = {}  # (ns, pod, container) -> newest line time
        self._hits: dict[tuple[str, WorkloadRef], list[datetime]] = defaultdict(list)
        self._labels: dict[WorkloadRef, dict[str, str]] = {}
        self._reported: dict[tuple[str, WorkloadRef], int] = {}

    def set_queries(self, queries: Iterable[SourceQuery]) -> None:
        compiled = []
        for q in queries:
            try:
                compiled.append((q, re.compile(q.text)))
            except re.error as exc:
                self.count("bad_patterns", f"{q.key}: {q.text!r}: {exc}")
        with self._lock:
            self._patterns = compiled

    def poll_once(self) -> int:
        with self._lock:
            patterns = list(self._patterns)
        if not patterns:
            return 0
        counts = self._from_loki(patterns) if self.loki is not None else self._from_kube(patterns)
        windows = {q.key: q.window_s for q, _ in patterns}
        now = self.clock()
        for key in set(self._reported) - set(counts):
            counts[key] = 0  # fell to zero: say so once
        for (qkey, target), n in sorted(counts.items(), key=lambda kv: (kv[0][0], kv[0][1].key)):
            if n == 0 and not self._reported.get((qkey, target)):
                continue
            self._send(Event(source=EventSource.logs, kind="LogPattern", reason=qkey, target=target,
                             labels=dict(self._labels.get(target, {})),
                             values={"count": float(n), "window_s": windows.get(qkey, 0.0)},
                             message=f"{n} matching lines in {windows.get(qkey, 0.0):g}s", observed_at=now))
            if n:
                self._reported[qkey, target] = n
            else:
                self._reported.pop((qkey, target), None)
        return len(counts)

    # -- Loki -------------------------------------------------------------------------------------
    def _from_loki(self, patterns: list[tuple[SourceQuery, re.Pattern[str]]]) -> dict[tuple[str, WorkloadRef], int]:
        assert self.loki is not None
        counts: dict[tuple[str, WorkloadRef], int] = defaultdict(int)
        for query, _ in patterns:
            try:
                samples = self.loki.count_over_time(self.loki_selector, query.text, query.window_s)
            except TransientError as exc:
                self.count("loki_errors", f"{query.key}: {exc}")
                continue
            except PermanentError as exc:
                self.count("bad_patterns", f"{query.key}: {exc}")
                continue
            for s in samples:
                target = target_from_labels(s.labels, self.resolve_pod)
                if target is None or not math.isfinite(s.value):
                    continue
                counts[query.key, target] += int(s.value)
                self._labels.setdefault(target, {k: v for k, v in s.labels.items() if k != "pod"})
        return counts

    # -- pod logs through the Kubernetes API ------------------------------------------------------
    def _from_kube(self, patterns: list[tuple[SourceQuery, re.Pattern[str]]]) -> dict[tuple[str, WorkloadRef], int]:
        assert self.kube is not None
        kube = self.kube
        now = self.clock()
        longest = max(q.window_s for q, _ in patterns)
        pods = [p for p in kube.list_pods(self.namespace) if p.phase == "Running" and not p.deleting]
        jobs = [(p, c.name) for p in pods for c in p.containers]
        with ThreadPoolExecutor(max_workers=max(1, self.fetch_workers)) as pool:
            fetched = list(pool.map(lambda job: self._fetch(job[0], job[1], now, longest), jobs))
        for (pod, container), lines in zip(jobs, fetched, strict=True):
            if lines:
                target = kube.owner_of(pod)
                self._labels[target] = clean_labels(pod.labels)
                self._match(pod, container, target, lines, patterns, now)
        counts: dict[tuple[str, WorkloadRef], int] = {}
        windows = {q.key: q.window_s for q, _ in patterns}
        for (qkey, target), hits in list(self._hits.items()):
            horizon = now - timedelta(seconds=windows.get(qkey, 0.0))
            kept = [t for t in hits if t >= horizon]  # hits of several pods interleave: filter, not popleft
            if kept:
                self._hits[qkey, target] = kept
                counts[qkey, target] = len(kept)
            else:
                del self._hits[qkey, target]
        alive = {(p.namespace, p.name, c.name) for p in pods for c in p.containers}
        for gone in set(self._last_seen) - alive:
            del self._last_seen[gone]
        return counts

    def _fetch(self, pod: PodInfo, container: str, now: datetime, longest: float) -> list[bytes]:
        assert self.kube is not None
        last = self._last_seen.get((pod.namespace, pod.name, container))
        since = longest if last is None else min(longest, (now - last).total_seconds() + 1)
        try:
            raw = self.kube.pod_log_bytes(pod.namespace, pod.name, container=container,
                                          since_seconds=max(1, math.ceil(since)), timestamps=True)
        except ExternalError as exc:
            # a container waiting to (re)start has no log to read yet: expected, counted quietly
            self.stats["log_read_errors"] += 1
            self.log.debug("logs of %s/%s[%s]: %s", pod.namespace, pod.name, container, exc)
            return []
        return [line for line in raw.split(b"\n") if line.strip()]

    def _match(self, pod: PodInfo, container: str, target: WorkloadRef, lines: list[bytes],
               patterns: list[tuple[SourceQuery, re.Pattern[str]]], now: datetime) -> None:
        key = (pod.namespace, pod.name, container)
        last = self._last_seen.get(key)
        newest = last
        for raw in lines:
            stamp, body = split_timestamp(raw)
            if stamp is not None and last is not None and stamp <= last:
                continue  # read in the previous round
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                self.count("non_utf8_lines", f"{pod.namespace}/{pod.name}[{container}]: {body[:80]!r}")
                text = body.decode("utf-8", errors="replace")
            at = stamp or now
            newest = at if newest is None or at > newest else newest
            for query, regex in patterns:
                if regex.search(text):
                    self._hits[query.key, target].append(at)
        if newest is not None:
            self._last_seen[key] = newest
