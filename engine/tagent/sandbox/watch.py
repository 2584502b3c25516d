"""Watch streams: one JSON line per event, resumable from a resourceVersion, with bookmarks and a timeout.

A resourceVersion the history no longer holds ends the stream with an ERROR event carrying a 410
Expired Status, which is how clients learn to re-list.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from tagent.sandbox import apierrors
from tagent.sandbox.kinds import ResourceType
from tagent.sandbox.store import Obj, Store

BOOKMARK_EVERY = 1.0  # wall seconds
DEFAULT_TIMEOUT = 1800.0
INITIAL_EVENTS_END = "k8s.io/initial-events-end"


def _line(kind: str, obj: Any) -> bytes:
    return json.dumps({"type": kind, "object": obj}, separators=(",", ":")).encode() + b"\n"


def stream(store: Store, rt: ResourceType, namespace: str | None, match: Callable[[Obj], bool],
           resource_version: str | None, timeout: float | None, bookmarks: bool, send_initial: bool,
           render: Callable[[Obj], Any], stop: threading.Event, client_gone: Callable[[], bool]) -> Iterator[bytes]:
    """Yield the encoded events of one watch until the timeout, a stop, or the client leaving."""

    def wanted(obj: Obj) -> bool:
        return (not namespace or obj["metadata"].get("namespace") == namespace) and match(obj)

    def bookmark(rv: int, initial_end: bool = False) -> bytes:
        meta: Obj = {"resourceVersion": str(rv)}
        if initial_end:
            meta["annotations"] = {INITIAL_EVENTS_END: "true"}
        return _line("BOOKMARK", {"kind": rt.kind, "apiVersion": rt.api_version, "metadata": meta})

    if resource_version and not resource_version.isdigit():
        yield _line("ERROR", apierrors.ApiError(400, f"invalid resourceVersion {resource_version!r}").status())
        return
    initial: list[Obj] = []
    failure: apierrors.ApiError | None = None
    with store.lock:
        if not resource_version or resource_version == "0" or send_initial:
            initial, cursor = store.list(rt, namespace, wanted)
        else:
            cursor = int(resource_version)
            try:
                store.changes_since(cursor, rt.key)
            except apierrors.ApiError as exc:
                failure = exc
    if failure is not None:
        yield _line("ERROR", failure.status())
        return
    for obj in initial:
        yield _line("ADDED", render(obj))
    if send_initial:
        yield bookmark(cursor, initial_end=True)
    deadline = time.monotonic() + (timeout if timeout is not None and timeout > 0 else DEFAULT_TIMEOUT)
    last_bookmark = time.monotonic()
    while not stop.is_set():
        with store.lock:
            try:
                changes = store.changes_since(cursor, rt.key)
            except apierrors.ApiError as exc:
                failure = exc
            cursor = store.rv
        if failure is not None:
            yield _line("ERROR", failure.status())
            return
        for change in changes:
            if wanted(change.obj):
                yield _line(change.type, render(change.obj))
        now = time.monotonic()
        if now >= deadline:
            return
        if bookmarks and now - last_bookmark >= BOOKMARK_EVERY:
            last_bookmark = now
            yield bookmark(cursor)
        if client_gone():
            return
        store.wait_for_change(cursor, min(0.5, deadline - now))
