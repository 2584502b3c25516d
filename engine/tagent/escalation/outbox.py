"""The incident manager's lock, and the notifications and calls that must wait until it is released.

Deciding what to tell people happens under the lock (the incident's state must not change meanwhile);
sending it does not: a Slack webhook timing out or Twilio retrying with backoff would otherwise block the
dispatcher, the playbook workers and every acknowledgement for as long.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)


class Outbox:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._local = threading.local()

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the lock; what `later` queues meanwhile is sent, in order, once the outermost block ends."""
        outer = getattr(self._local, "sends", None) is None
        if outer:
            self._local.sends = []
        try:
            with self.lock:
                yield
        finally:
            if outer:
                sends, self._local.sends = self._local.sends, None
                for send in sends:
                    try:
                        send()
                    except Exception:  # one failed channel must not stop the others; logged in full
                        log.exception("sending a notification or call failed")

    def later(self, send: Callable[[], object]) -> None:
        """Send after the lock is released (at once when not inside `locked`)."""
        sends = getattr(self._local, "sends", None)
        if sends is None:
            send()
        else:
            sends.append(send)
