"""Alertmanager webhook payloads (version 4) → Alert events, so existing Prometheus alert rules can drive
playbooks. The HTTP route lives in the API; this module is the pure part: validate, then convert.

Payload reference: https://prometheus.io/docs/alerting/latest/configuration/#webhook_config
A firing alert becomes an `Alert` event (reason = alertname); a resolved one an `AlertResolved` event, so
a rule on `alert: {alertname: X}` never fires on the resolution.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field

from tagent.errors import ValidationError
from tagent.model.core import Event, EventSource, WorkloadRef, utcnow
from tagent.sources.targets import PodResolver, target_from_labels

MAX_ALERTS = 1000  # one webhook call; Alertmanager's own `max_alerts` is unlimited by default


class _Loose(BaseModel):
    # Alertmanager adds fields across versions; unknown ones are ignored, the documented ones checked.
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


class WebhookAlert(_Loose):
    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: datetime | None = Field(default=None, alias="startsAt")
    ends_at: datetime | None = Field(default=None, alias="endsAt")
    generator_url: str = Field(default="", alias="generatorURL")
    fingerprint: str = ""


class WebhookPayload(_Loose):
    version: Literal["4"]
    status: Literal["firing", "resolved"]
    receiver: str = ""
    group_key: str = Field(default="", alias="groupKey")
    truncated_alerts: int = Field(default=0, alias="truncatedAlerts", ge=0)
    group_labels: dict[str, str] = Field(default_factory=dict, alias="groupLabels")
    common_labels: dict[str, str] = Field(default_factory=dict, alias="commonLabels")
    common_annotations: dict[str, str] = Field(default_factory=dict, alias="commonAnnotations")
    external_url: str = Field(default="", alias="externalURL")
    alerts: list[WebhookAlert] = Field(max_length=MAX_ALERTS)


def parse_payload(payload: Any) -> WebhookPayload:
    """Validate a decoded webhook body; raise `ValidationError` with one readable line per problem."""
    if not isinstance(payload, dict):
        raise ValidationError("alertmanager webhook: body must be a JSON object")
    try:
        parsed = WebhookPayload.model_validate(payload)
    except pydantic.ValidationError as exc:
        problems = [f"alertmanager webhook: {'.'.join(str(p) for p in err['loc']) or 'body'}: {err['msg']}"
                    for err in exc.errors()]
        raise ValidationError(problems[0], problems) from None
    missing = [i for i, alert in enumerate(parsed.alerts) if not alert.labels.get("alertname")]
    if missing:
        problems = [f"alertmanager webhook: alerts.{i}.labels: alertname is required" for i in missing]
        raise ValidationError(problems[0], problems)
    return parsed


def _target(labels: dict[str, str], resolve_pod: PodResolver | None) -> WorkloadRef:
    found = target_from_labels(labels, resolve_pod)
    if found is not None:
        return found
    # a cluster-wide alert (no namespace, no node): the alert itself is the target, keyed by its name
    return WorkloadRef(kind="Alert", namespace=labels.get("namespace", ""), name=labels["alertname"])


def alerts_to_events(
    payload: Any,
    *,
    clock: Callable[[], datetime] = utcnow,
    resolve_pod: PodResolver | None = None,
) -> list[Event]:
    """One event per alert in a webhook body (validated first; `ValidationError` when it is not valid)."""
    parsed = payload if isinstance(payload, WebhookPayload) else parse_payload(payload)
    now = clock()
    events = []
    for alert in parsed.alerts:
        labels = {**alert.labels}
        if alert.fingerprint:
            labels.setdefault("fingerprint", alert.fingerprint)
        annotations = {**parsed.common_annotations, **alert.annotations}
        message = annotations.get("summary") or annotations.get("description") or annotations.get("message", "")
        events.append(Event(
            source=EventSource.alert,
            kind="Alert" if alert.status == "firing" else "AlertResolved",
            reason=alert.labels["alertname"],
            target=_target(alert.labels, resolve_pod),
            labels=labels,
            message=message[:1000],
            observed_at=now,
        ))
    return events
