"""The span writer: the receiver hands decoded spans over (`offer`) and one thread writes them in bulk.

The queue is bounded in spans, not requests: when it is full `offer` says no at once and the receiver answers
503 with Retry-After (OTLP exporters retry), so a flood costs neither memory nor silently lost spans. The
same thread runs the retention sweep (spans older than `retention_s`, then the oldest beyond `max_spans`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from tagent.model import utcnow
from tagent.store.repos.traces import Spans
from tagent.traces.otlp import Decoded

log = logging.getLogger("tagent.traces")
WRITE_ATTEMPTS = 3


@dataclass
class WriterStats:
    accepted: int = 0  # spans taken into the queue
    written: int = 0  # spans handed to the database (duplicates of stored spans included)
    refused_busy: int = 0  # requests answered 503 because the queue was full
    dropped: int = 0  # spans lost to a database that failed WRITE_ATTEMPTS times
    pruned: int = 0  # spans removed by retention (age and count)
    last_error: str = ""


class SpanWriter:
    def __init__(self, spans: Spans, *, max_queued_spans: int = 100_000, batch_spans: int = 5_000,
                 retention_s: float = 86_400.0, max_spans: int = 2_000_000, sweep_every: float = 60.0,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.spans = spans
        self.max_queued_spans = max_queued_spans
        self.batch_spans = batch_spans
        self.retention_s, self.max_spans, self.sweep_every = retention_s, max_spans, sweep_every
        self.clock = clock
        self.stats = WriterStats()
        self._queue: deque[Decoded] = deque()
        self._pending = 0  # spans queued or being written
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stop = False
        self._next_sweep = time.monotonic() + sweep_every

    # -- the receiver's side -------------------------------------------------------------------------

    def offer(self, decoded: Decoded) -> bool:
        """Queue a request's spans; False (nothing queued) when the queue cannot take them now."""
        n = len(decoded.rows)
        if n == 0 and not decoded.resources:
            return True
        with self._cond:
            if self._pending and self._pending + n > self.max_queued_spans:
                self.stats.refused_busy += 1
                return False
            self._queue.append(decoded)
            self._pending += n
            self.stats.accepted += n
            self._cond.notify_all()
        self.start()
        return True

    @property
    def pending(self) -> int:
        return self._pending

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until everything offered so far is written; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self._pending == 0 and not self._queue, timeout=timeout)

    # -- lifecycle -----------------------------------------------------------------------------------

    def start(self) -> None:
        with self._cond:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stop = False
            self._thread = threading.Thread(target=self._run, name="tagent-spans", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Write what is queued, then end the thread."""
        with self._cond:
            self._stop = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
        self._thread = None

    # -- the thread ----------------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._queue or self._stop, timeout=self._sweep_in())
                batch = self._take()
                stopping = self._stop and not self._queue
            if batch is not None:
                self._write(batch)
            if time.monotonic() >= self._next_sweep:
                self.sweep()
            if stopping and batch is None:
                return

    def _sweep_in(self) -> float:
        return max(0.05, self._next_sweep - time.monotonic())

    def _take(self) -> Decoded | None:
        """Merge queued requests into one batch of up to `batch_spans` spans (at least one request)."""
        if not self._queue:
            return None
        merged = Decoded()
        while self._queue and (not merged.rows or len(merged.rows) + len(self._queue[0].rows) <= self.batch_spans):
            item = self._queue.popleft()
            merged.rows.extend(item.rows)
            merged.resources.update(item.resources)
        return merged

    def _write(self, batch: Decoded) -> None:
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                self.spans.add_many(batch.rows, batch.resources, at=self.clock())
                self.stats.written += len(batch.rows)
                break
            except SQLAlchemyError as exc:
                self.stats.last_error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
                log.warning("writing %d spans failed (attempt %d): %s", len(batch.rows), attempt,
                            self.stats.last_error)
                if attempt == WRITE_ATTEMPTS:
                    self.stats.dropped += len(batch.rows)
                    log.error("dropped %d spans after %d failed writes", len(batch.rows), attempt)
                else:
                    time.sleep(0.5 * attempt)
        with self._cond:
            self._pending -= len(batch.rows)
            self._cond.notify_all()

    def sweep(self) -> int:
        """Retention now: spans older than `retention_s`, then the oldest beyond `max_spans`; how many went."""
        self._next_sweep = time.monotonic() + self.sweep_every
        cutoff = self.clock() - timedelta(seconds=self.retention_s)
        removed = 0
        try:
            removed += self.spans.prune(int(cutoff.timestamp() * 1_000_000))
            removed += self.spans.trim(self.max_spans)
        except SQLAlchemyError as exc:
            self.stats.last_error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            log.warning("span retention sweep failed: %s", self.stats.last_error)
        self.stats.pruned += removed
        return removed

    def describe(self) -> dict[str, Any]:
        return {"pending": self._pending, **self.stats.__dict__}
