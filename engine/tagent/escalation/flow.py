"""Telling and calling people about an incident, as the escalation policy says, and recording it.

`Escalation.notify` sends the incident's message (tagent.notify.build_message) to the routes of its severity
and puts each delivery on the timeline and in the outbox. A route that fails is retried inside the Notifier
(backoff) and the message still reaches the other routes (fallback); when no route at all delivered, the
outbox keeps it pending and `retry_due(now)` tries again later with exponential backoff, up to
`max_attempts`. `Escalation.call` places the phone call of the severity's route (Twilio), retrying a
transient failure with backoff and falling back to the next phone.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from tagent.errors import ConfigError, PermanentError, TransientError
from tagent.escalation.night import routes_for
from tagent.model import Incident, Severity, TimelineEntry
from tagent.model.policy import EscalationPolicySpec
from tagent.notify import DeliveryError, Message, Notifier, NotifyKind, TwilioCaller, build_message
from tagent.notify.message import incident_link
from tagent.store import Store

log = logging.getLogger(__name__)
Redact = Callable[[str], str]


class Escalation:
    def __init__(self, store: Store, *, notifier: Notifier | None = None, caller: TwilioCaller | None = None,
                 phones: Mapping[str, str] | None = None, dashboard_url: str = "http://127.0.0.1:8501",
                 redact: Redact = lambda s: s, call_attempts: int = 3, call_backoff: float = 1.0,
                 retry_base: float = 30.0, max_attempts: int = 6, sleep: Callable[[float], Any] | None = None) -> None:
        self.store, self.notifier, self.caller = store, notifier, caller
        self.phones = dict(phones or {})
        self.dashboard_url, self.redact = dashboard_url, redact
        self.call_attempts, self.call_backoff = call_attempts, call_backoff
        self.retry_base, self.max_attempts = retry_base, max_attempts
        self._sleep = sleep or threading.Event().wait

    # -- notifications --------------------------------------------------------------------------------
    def notify(self, incident: Incident, policy: EscalationPolicySpec, *, at: datetime, did: str | None = None,
               proposes: str | None = None) -> bool:
        """Send the incident's message to its severity's routes; True when at least one route delivered."""
        routes, _ = routes_for(policy, incident.severity)
        if not routes:
            return False
        message = build_message(incident, self.dashboard_url, did=did, proposes=proposes, redact=self.redact)
        if self.notifier is None:
            self._timeline(incident.id, at, f"not notified ({', '.join(routes)}): no notification route configured",
                           {"routes": routes, "delivered": False})
            return False
        return self._send(incident.id, routes, message, at)

    def digest(self, incidents: list[Incident], policy: EscalationPolicySpec, *, at: datetime) -> bool:
        """One message for many new incidents (a storm): each is listed once and noted on its timeline."""
        routes: list[str] = []
        for incident in incidents:
            routes += [r for r in routes_for(policy, incident.severity)[0] if r not in routes]
        if not routes or not incidents:
            return False
        title = f"[Tagent] {len(incidents)} more incidents opened"
        lines = [f"- {i.severity.value} {i.rule} on {i.target}: {incident_link(self.dashboard_url, i.id)}"
                 for i in incidents]
        message = Message(title=title, body=self.redact("\n".join(lines)), incident_url="",
                          kind=NotifyKind.warning)
        if self.notifier is None:
            return False
        try:
            self.notifier.send_message(routes, message)
        except (DeliveryError, ConfigError) as exc:
            log.warning("digest of %d incidents not delivered: %s", len(incidents), exc)
            return False
        for incident in incidents:
            self._timeline(incident.id, at, f"notified {', '.join(routes)} in a digest: {title}",
                           {"routes": routes, "delivered": True, "title": title})
        return True

    def _send(self, incident_id: str, routes: list[str], message: Message, at: datetime) -> bool:
        assert self.notifier is not None
        try:
            results = self.notifier.send_message(routes, message)
            failed_all = False
        except DeliveryError as exc:
            results, failed_all = exc.results, True
        except ConfigError as exc:
            self._timeline(incident_id, at, f"not notified: {exc}", {"routes": routes, "delivered": False})
            return False
        outbox = self.store.notifications
        for r in results:
            row = outbox.add(r.route, at=at, subject=message.title, body=message.body, incident_id=incident_id)
            if r.delivered:
                outbox.mark_sent(row.id, at=at)
            else:
                retry = at + timedelta(seconds=self.retry_base) if failed_all else None
                outbox.mark_failed(row.id, error=r.error or "not delivered", retry_at=retry)
            summary = (f"notified {r.route}: {message.title}" if r.delivered
                       else f"could not notify {r.route}: {r.error}")
            self._timeline(incident_id, at, summary, {"route": r.route, "delivered": r.delivered,
                                                      "attempts": r.attempts, "title": message.title})
        return not failed_all

    def retry_due(self, now: datetime) -> int:
        """Try again every pending notification whose retry time has come; returns how many were delivered."""
        if self.notifier is None:
            return 0
        delivered = 0
        for row in self.store.notifications.due(now):
            try:
                self.notifier.send([row.channel], row.subject, row.body, "", kind=NotifyKind.warning)
            except DeliveryError as exc:
                attempts = row.attempts + 1
                retry = (now + timedelta(seconds=self.retry_base * 2 ** attempts)
                         if attempts < self.max_attempts else None)
                self.store.notifications.mark_failed(row.id, error=str(exc), retry_at=retry)
                continue
            self.store.notifications.mark_sent(row.id, at=now)
            delivered += 1
            if row.incident_id:
                self._timeline(row.incident_id, now, f"notified {row.channel} (retry): {row.subject}",
                               {"route": row.channel, "delivered": True, "retry": True})
        return delivered

    # -- phone calls ----------------------------------------------------------------------------------
    def call(self, incident: Incident, policy: EscalationPolicySpec, summary: str, *, at: datetime) -> str | None:
        """Call the severity's phones in order until one call is placed; returns the call sid or None."""
        _, phones = routes_for(policy, incident.severity)
        for name in phones:
            number = self.phones.get(name)
            if number is None or self.caller is None:
                why = "phone number not configured" if number is None else "Twilio is not configured"
                self._timeline(incident.id, at, f"could not call {name}: {why}", {"phone": name, "placed": False},
                               kind="call")
                continue
            sid = self._dial(incident, name, number, summary, at)
            if sid is not None:
                return sid
        return None

    def _dial(self, incident: Incident, name: str, number: str, summary: str, at: datetime) -> str | None:
        assert self.caller is not None
        error = ""
        for attempt in range(1, self.call_attempts + 1):
            try:
                call = self.caller.call(number, self.redact(summary), incident.id)
            except TransientError as exc:
                error = str(exc)
                if attempt < self.call_attempts:
                    self._sleep(self.call_backoff * 2 ** (attempt - 1))
                continue
            except (PermanentError, ConfigError) as exc:  # this phone will not work: try the next one
                error = str(exc)
                break
            self._timeline(incident.id, at, f"called {name}: press 1 to acknowledge, 2 to let Tagent fix it",
                           {"phone": name, "sid": call.sid, "placed": True}, kind="call")
            return call.sid
        self._timeline(incident.id, at, f"call to {name} failed: {error}", {"phone": name, "placed": False},
                       kind="call")
        return None

    def _timeline(self, incident_id: str, at: datetime, summary: str, data: dict[str, Any],
                  kind: str = "notification") -> None:
        self.store.incidents.add_timeline(incident_id, TimelineEntry(at=at, kind=kind, summary=self.redact(summary),
                                                                     data=data))


def needs_a_call(severity: Severity, policy: EscalationPolicySpec) -> bool:
    return bool(routes_for(policy, severity)[1])


def call_text(incident: Incident, what: str) -> str:
    """What the phone call says: short, speakable, no punctuation that a voice reads out."""
    return f"{incident.severity.value} incident: {incident.rule} on {incident.target.namespace} " \
           f"{incident.target.name}. {what}."
