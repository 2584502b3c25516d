"""The outbox: notifications, calls and post-mortems decided inside a lifecycle transaction, done after it
committed, in a thread of their own, so no lock or transaction is ever held while Slack times out, Twilio
retries or the LLM explains an incident.

Items are rows (`incident_outbox`), written in the same transaction as the decision that wants them: a kill -9
after the commit sends them after the restart (at-least-once; an item's `key` makes it once per incident:
one "open" page per incident, one call). In a storm, one pass sends `digest_after` "open" pages one by one
and the rest in one digest message.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from tagent.escalation import Escalation
from tagent.escalation.flow import call_text
from tagent.incidents.closing import Postmortems
from tagent.incidents.parts import Parts
from tagent.model import Incident
from tagent.model.policy import EscalationPolicySpec
from tagent.store import OutboxItem

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5


class OutboxWorker:
    def __init__(self, parts: Parts, escalation: Escalation, postmortems: Postmortems, *,
                 interval: float = 1.0) -> None:
        self.p, self.escalation, self.postmortems, self.interval = parts, escalation, postmortems, interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._pass = threading.Lock()  # one pass at a time (the thread, or a caller draining)
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="tagent-outbox", daemon=True)
            self._thread.start()

    def kick(self) -> None:
        """Something was committed: send it soon."""
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            try:
                self.p.yield_to_admission(self._stop)  # a storm's admission first; pages a moment later
                while self.run_once() and not self._stop.is_set():
                    pass
            except Exception:  # a database hiccup must not end the outbox: logged, next round
                log.exception("outbox pass failed")

    def drain(self) -> None:
        """Send everything pending now, in this thread (tests and shutdown)."""
        while self.run_once():
            pass

    def run_once(self) -> int:
        """One pass over the pending items; returns how many were handled."""
        with self._pass:
            items = self.p.store.lifecycle.pending_outbox()
            if not items:
                return 0
            now, policy = self.p.clock(), self.p.policy()
            opens = [i for i in items if i.kind == "notify" and (i.payload.get("first") or "")]
            digest = {i.id for i in opens[self.p.knobs.digest_after:]}
            cache: dict[str, Incident | None] = {}
            done: list[int] = []
            digested: list[Incident] = []
            for item in items:
                incident = cache.get(item.incident_id) or self.p.store.incidents.get(item.incident_id)
                cache[item.incident_id] = incident
                if incident is None:
                    done.append(item.id)
                    continue
                if item.id in digest:
                    digested.append(incident)
                    done.append(item.id)
                    continue
                if self._do(item, incident, policy, now):
                    done.append(item.id)
                cache.pop(item.incident_id, None)  # its timeline grew: read it again for the next item
            if digested:
                self.escalation.digest(digested, policy, at=now)
            self.p.store.lifecycle.outbox_done(done, now)
            return len(items)

    def _do(self, item: OutboxItem, incident: Incident, policy: EscalationPolicySpec, now: datetime) -> bool:
        try:
            if item.kind == "notify":
                did, proposes = item.payload.get("did"), item.payload.get("proposes")
                self.escalation.notify(incident, policy, at=now, did=did, proposes=proposes)
            elif item.kind == "call":
                text = call_text(incident, str(item.payload.get("what") or "a person should look"))
                self.escalation.call(incident, policy, text, at=now)
            elif item.kind == "postmortem" and incident.status.closed:
                self.postmortems.write(incident, now)
            return True
        except Exception:  # one failed channel must not stop the others; retried, then given up
            log.exception("outbox item %s (%s of incident %s) failed", item.id, item.kind, item.incident_id)
            self.p.store.lifecycle.outbox_failed(item.id, give_up=item.attempts + 1 >= MAX_ATTEMPTS, at=now)
            return False
