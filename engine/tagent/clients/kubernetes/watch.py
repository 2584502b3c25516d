"""A resumable list+watch, the way informers do it, with every bad input counted instead of raised.

- First (and after a 410 Gone): list, hand each object out as SYNC, then a SYNCED marker, and watch from
  the list's resourceVersion.
- Each stream resumes from the last resourceVersion seen (objects and BOOKMARKs).
- A line that is not a JSON watch event is counted (`malformed_lines`) and skipped.
- `run()` reconnects forever with capped exponential backoff and ends when `stop` is set (or `close()`).

`kubernetes.watch.Watch` is not used: it yields None for malformed lines, retries a 410 only once and hides
the resourceVersion bookkeeping this needs to own.
"""

from __future__ import annotations

import json
import logging
import random
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from kubernetes.client.exceptions import ApiException
from kubernetes.watch.watch import iter_resp_lines

from tagent.clients.kubernetes.errors import api_errors
from tagent.clients.kubernetes.types import WatchEvent
from tagent.errors import ExternalError, TransientError

if TYPE_CHECKING:
    from tagent.clients.kubernetes.client import KubeClient

log = logging.getLogger("tagent.clients.kubernetes.watch")
CHANGES = ("ADDED", "MODIFIED", "DELETED")


class Gone(TransientError):
    """The watch's resourceVersion is too old (HTTP 410): re-list."""


class Watcher:
    def __init__(self, client: KubeClient, resource: str, func: Callable[..., Any], args: tuple[Any, ...],
                 label_selector: str | None, stats: Counter[str] | None = None) -> None:
        self.client = client
        self.resource = resource
        self._func = func
        self._args = args
        self._selector = label_selector
        self.stats: Counter[str] = stats if stats is not None else Counter()
        self.resource_version: str | None = None
        self._resp: Any = None
        self._closed = threading.Event()

    def _count(self, what: str, detail: str) -> None:
        self.stats[what] += 1
        log.warning("watch %s: %s (%s so far): %s", self.resource, what, self.stats[what], detail[:200])

    def relist(self) -> Iterator[WatchEvent]:
        namespace = self._args[0] if self._args else None
        items, rv = self.client.list_raw(self.resource, namespace, self._selector)
        self.stats["lists"] += 1
        for item in items:
            yield WatchEvent("SYNC", item, self.resource)
        self.resource_version = rv or None
        yield WatchEvent("SYNCED", {"count": len(items)}, self.resource)

    def stream(self, timeout_seconds: int = 60) -> Iterator[WatchEvent]:
        """One round: a list when there is no resourceVersion yet, else one watch stream until the server ends
        it (after `timeout_seconds`). Raises Gone on 410 (the next round re-lists), TransientError otherwise."""
        if self.resource_version is None:
            yield from self.relist()
            return
        kwargs: dict[str, Any] = {"watch": True, "resource_version": self.resource_version,
                                  "timeout_seconds": timeout_seconds, "allow_watch_bookmarks": True,
                                  "_preload_content": False,
                                  "_request_timeout": (self.client.request_timeout, timeout_seconds + 15)}
        if self._selector:
            kwargs["label_selector"] = self._selector
        with api_errors(f"watch {self.resource}"):
            try:
                self._resp = self._func(*self._args, **kwargs)
            except ApiException as exc:
                if exc.status == 410:
                    self.resource_version = None
                    self.stats["expired"] += 1
                    raise Gone(f"watch {self.resource}: resourceVersion too old") from exc
                raise
            try:
                for line in iter_resp_lines(self._resp):
                    event = self._decode(line)
                    if event is not None:
                        yield event
                    if self._closed.is_set():
                        return
            finally:
                resp, self._resp = self._resp, None
                resp.release_conn()

    def _decode(self, line: str) -> WatchEvent | None:
        if not line.strip():
            return None
        try:
            raw = json.loads(line)
        except ValueError:
            self._count("malformed_lines", line)
            return None
        obj = raw.get("object") if isinstance(raw, dict) else None
        kind = raw.get("type") if isinstance(raw, dict) else None
        if not isinstance(obj, dict) or kind not in (*CHANGES, "BOOKMARK", "ERROR"):
            self._count("malformed_lines", line)
            return None
        if kind == "ERROR":
            code = obj.get("code")
            if code == 410:
                self.resource_version = None
                self.stats["expired"] += 1
                raise Gone(f"watch {self.resource}: {obj.get('message', 'resourceVersion too old')}")
            raise TransientError(f"watch {self.resource}: server error {code}: {obj.get('message', '')}")
        rv = (obj.get("metadata") or {}).get("resourceVersion")
        if isinstance(rv, str) and rv:
            self.resource_version = rv
        elif kind != "BOOKMARK":
            self._count("malformed_lines", line)  # an object without a resourceVersion cannot be resumed from
            return None
        if kind == "BOOKMARK":
            self.stats["bookmarks"] += 1
            return None
        self.stats["watch_events"] += 1
        return WatchEvent(str(kind), obj, self.resource)

    def step(self, timeout_seconds: int = 5) -> list[WatchEvent]:
        """One round as a list (for deterministic stepping in tests); 410 and transient failures are counted."""
        out: list[WatchEvent] = []
        try:
            out.extend(self.stream(timeout_seconds))
        except Gone:
            self.stats["relists"] += 1
        except ExternalError as exc:
            self._count("errors", str(exc))
        return out

    def run(self, stop: threading.Event | None = None, timeout_seconds: int = 60, max_backoff: float = 30.0,
            sleep: Callable[[float], object] | None = None) -> Iterator[WatchEvent]:
        """Watch forever (until `stop` or `close()`), reconnecting with capped exponential backoff plus jitter."""
        stop = stop or self._closed
        wait = sleep or stop.wait
        failures = 0
        while not stop.is_set() and not self._closed.is_set():
            try:
                for event in self.stream(timeout_seconds):
                    failures = 0
                    yield event
                    if stop.is_set() or self._closed.is_set():
                        return
            except Gone:
                self.stats["relists"] += 1
                continue
            except ExternalError as exc:
                if stop.is_set() or self._closed.is_set():
                    return
                failures += 1
                self._count("reconnects", str(exc))
                delay = min(max_backoff, 0.5 * 2 ** min(failures, 10))
                wait(delay * (0.5 + random.random() / 2))
                continue
            failures = 0

    def reopen(self) -> None:
        """Allow `run()` again after `close()` (a source restarted)."""
        self._closed.clear()

    def close(self) -> None:
        """Stop `run()` and abort a stream in progress (from another thread)."""
        self._closed.set()
        resp = self._resp
        if resp is not None:
            try:
                resp.shutdown()
            except (OSError, AttributeError) as exc:
                log.debug("watch %s: shutdown: %s", self.resource, exc)
