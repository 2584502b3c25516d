"""What every source shares: the emit callback, bad-input counters, a clock, the stepping loop.

A source does one round of work in `poll_once()` (deterministic in tests) and runs that in a thread with
`start()`/`stop()` in production. Failures of the outside world are counted in `stats` and logged, never
raised out of the loop: a source that dies silently is worse than one that reports a bad input and goes on.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import NamedTuple

from tagent.errors import ExternalError, TransientError
from tagent.model.core import Event, utcnow
from tagent.model.policy import Rule, condition_key

Emit = Callable[[Event], None]
Clock = Callable[[], datetime]


class SourceQuery(NamedTuple):
    """One rule condition a source evaluates: `key` is `condition_key(rule, i)`, `text` the PromQL query or
    log regex, `window_s` the log window (0 for PromQL)."""

    key: str
    text: str
    window_s: float = 0.0


def rule_queries(rules: Iterable[Rule]) -> tuple[list[SourceQuery], list[SourceQuery]]:
    """(PromQL queries, log patterns) of the enabled rules, keyed by `condition_key(rule, i)`: what the
    Prometheus and log sources evaluate for a rules version."""
    promql: list[SourceQuery] = []
    patterns: list[SourceQuery] = []
    for rule in rules:
        if not rule.spec.enabled:
            continue
        for i, cond in enumerate(rule.spec.when.conditions):
            key = condition_key(rule.metadata.name, i)
            if cond.prometheus is not None:
                promql.append(SourceQuery(key, cond.prometheus.query))
            if cond.logs is not None:
                patterns.append(SourceQuery(key, cond.logs.pattern, cond.logs.window))
    return promql, patterns


class Source:
    """Base of the polling sources: `poll_once()` does one round; `start()` runs it every `interval` s."""

    name = "source"

    def __init__(self, emit: Emit, *, interval: float = 15.0, clock: Clock = utcnow) -> None:
        self.emit = emit
        self.interval = interval
        self.clock = clock
        self.stats: Counter[str] = Counter()
        self.log = logging.getLogger(f"tagent.sources.{self.name}")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def poll_once(self) -> int:
        """Do one round; return how many events were emitted."""
        raise NotImplementedError

    def count(self, what: str, detail: str, n: int = 1) -> None:
        """Count one kind of bad input or failure and log it (the counter is what tests and /metrics read).

        A failure that repeats every poll (a cluster without metrics-server, a Prometheus that is down) is
        logged as a warning at its 1st, 10th, 100th, ... occurrence and at debug level in between, so the
        log says what is wrong without repeating it every second.
        """
        before = self.stats[what]
        self.stats[what] += n
        after = self.stats[what]
        loud = before == 0 or len(str(after)) > len(str(before))  # crossed 1, 10, 100, ...
        self.log.log(logging.WARNING if loud else logging.DEBUG, "%s: %s (%s so far): %s",
                     self.name, what, after, detail)

    def _send(self, event: Event) -> None:
        self.stats["events"] += 1
        self.emit(event)

    def _round(self) -> None:
        try:
            self.poll_once()
        except TransientError as exc:
            self.count("transient_errors", str(exc))
        except ExternalError as exc:
            self.count("external_errors", str(exc))
        except (ValueError, TypeError, KeyError) as exc:  # bad input that slipped past a parser: never fatal
            self.count("malformed_input", f"{type(exc).__name__}: {exc}")

    def _run(self) -> None:
        while not self._stop.is_set():
            self._round()
            self._stop.wait(self.interval)

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"tagent-source-{self.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()
