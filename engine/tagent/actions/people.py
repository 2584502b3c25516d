"""Actions that involve people: tell them (notify.send), page them (notify.page), ask them (approval.request).

Every delivery attempt is written to the notification outbox (`store.notifications`) with its outcome, so
the incident's timeline and the dashboard show who was told, and a channel that failed can be retried.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tagent.actions.base import ActionContext, BaseAction
from tagent.errors import ConfigError, TransientError
from tagent.model import StepResult, StepStatus
from tagent.notify import DeliveryError, DeliveryResult, Notifier, NotifyKind, TwilioCaller, incident_link
from tagent.store import ApprovalStatus


class _Notify(BaseAction):
    def deliver(self, channels: list[str], title: str, message: str, ctx: ActionContext,
                kind: NotifyKind = NotifyKind.warning) -> list[DeliveryResult]:
        """Send and record every route's outcome; raises TransientError when no route delivered."""
        notifier: Notifier = self.need(self.deps.notifier, "notification routes (notify_urls)")
        if not channels:
            raise ConfigError(f"{self.name}: no channel given and the escalation policy routes none")
        link = incident_link(self.deps.dashboard_url, ctx.incident_id) if ctx.incident_id else ""
        if self.deps.clusters:  # several clusters: say which one this is about
            message = f"{message}\nCluster: {ctx.target.cluster or self.deps.home_cluster}".lstrip()
        try:
            results = notifier.send(channels, title, message, link, kind=kind)
            error = None
        except DeliveryError as exc:
            results, error = exc.results, exc
        outbox, now = self.deps.store.notifications, self.deps.clock()
        for r in results:
            row = outbox.add(r.route, at=now, subject=title, body=message, incident_id=ctx.incident_id)
            if r.delivered:
                outbox.mark_sent(row.id, at=now)
            else:
                outbox.mark_failed(row.id, error=r.error or "not delivered")
        if error is not None:
            raise TransientError(str(error)) from error
        return results


def _summary(results: list[DeliveryResult]) -> tuple[str, list[dict[str, Any]]]:
    sent = [r.route for r in results if r.delivered]
    lost = [f"{r.route} ({r.error})" for r in results if not r.delivered]
    text = f"sent to {', '.join(sent)}" + (f"; not delivered to {', '.join(lost)}" if lost else "")
    return text, [{"route": r.route, "delivered": r.delivered, "attempts": r.attempts, "error": r.error}
                  for r in results]


class NotifySend(_Notify):
    name = "notify.send"

    def _invoke(self, values: dict[str, Any], plan: dict[str, Any], ctx: ActionContext) -> StepResult:
        channels = list(values["channels"] or ctx.routes)
        if not channels:  # the policy routes nobody at this severity (e.g. info): nothing to send is not a failure
            return StepResult(status=StepStatus.skipped, detail="no notification route for this severity")
        title = values["title"] or f"Tagent: {ctx.target}"
        results = self.deliver(channels, title, values["message"] or "", ctx)
        text, data = _summary(results)
        return self.ok(text, deliveries=data)


class NotifyPage(_Notify):
    """Page: the policy's notification routes (as a failure), then a phone call to each phone named."""

    name = "notify.page"

    def _invoke(self, values: dict[str, Any], plan: dict[str, Any], ctx: ActionContext) -> StepResult:
        message = values["message"] or f"Tagent needs a person for {ctx.target}"
        parts: list[str] = []
        data: dict[str, Any] = {}
        delivered = False
        if ctx.routes and self.deps.notifier is not None:
            try:
                text, data["deliveries"] = _summary(self.deliver(list(ctx.routes), f"PAGE: {ctx.target}", message,
                                                                 ctx, NotifyKind.failure))
                parts.append(text)
                delivered = True
            except TransientError as exc:
                parts.append(f"notification failed: {exc}")
        phones = [values["call"]] if values.get("call") else list(ctx.phones)
        calls: list[dict[str, str]] = []
        for name in phones:
            number = self.deps.phones.get(name)
            if number is None:
                parts.append(f"phone {name!r} is not configured")
                continue
            caller: TwilioCaller = self.need(self.deps.caller, "Twilio (twilio_account_sid, auth token, from)")
            try:
                call = caller.call(number, message, ctx.incident_id or ctx.run_id or "adhoc")
            except TransientError as exc:
                parts.append(f"call to {name} failed: {exc}")
                continue
            calls.append({"phone": name, "sid": call.sid, "status": call.status})
            parts.append(f"called {name} (call {call.sid})")
            delivered = True
        data["calls"] = calls
        if not delivered:
            raise TransientError("page reached nobody: " + "; ".join(parts or ["no route and no phone"]))
        return self.ok("; ".join(parts), **data)


class ApprovalRequest(BaseAction):
    """Ask for approval before the next step. The first run creates the approval and answers
    `approval_required` (the runner parks the run); once someone decided, the step runs again and reads the
    decision from the approval it remembered: approved -> ok, denied or expired -> failed."""

    name = "approval.request"

    def _invoke(self, values: dict[str, Any], plan: dict[str, Any], ctx: ActionContext) -> StepResult:
        approvals = self.deps.store.approvals
        known = ctx.plans.recall() if ctx.plans is not None else None
        if known is not None:
            record = approvals.get(known["approval_id"])
            if record is not None:
                if record.status == ApprovalStatus.approved:
                    return self.ok(f"approved by {record.decided_by}", approval_id=record.id)
                if record.status == ApprovalStatus.denied:
                    return self.failed(f"denied by {record.decided_by}"
                                       + (f": {record.reason}" if record.reason else ""), approval_id=record.id)
                if record.status == ApprovalStatus.expired:
                    return self.failed("nobody approved in time (the approval expired)", approval_id=record.id)
                return self.result(StepStatus.approval_required, f"waiting for approval {record.id}",
                                   approval_id=record.id)
        now = self.deps.clock()
        timeout = float(values["timeout"]) if values.get("timeout") else ctx.ack_timeout
        record, _token = approvals.request(
            at=now, kind="step", expires_at=now + timedelta(seconds=timeout), run_id=ctx.run_id,
            incident_id=ctx.incident_id, action=self.name, target_key=ctx.target.key,
            summary=values["message"] or f"Approve the next step on {ctx.target}?",
            payload={"step": ctx.step_key})
        if ctx.plans is not None:
            ctx.plans.record({"approval_id": record.id})
        return self.result(StepStatus.approval_required, f"approval {record.id} requested: {record.summary}",
                           approval_id=record.id)
