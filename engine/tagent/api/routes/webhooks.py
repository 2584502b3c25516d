"""Inbound webhooks: Alertmanager (bearer `TAGENT_WEBHOOK_TOKEN`) and Twilio's call callbacks (signed).

Twilio signs the exact URL it called, so the signature is checked against `settings.public_url` plus the
route's path (`tagent.notify.gather_path`), the URL the call was placed with, not the one this process
happens to see behind a proxy. Pressing 1 acknowledges; 2 lets Tagent fix it now through the manager.
"""

from __future__ import annotations

import json
import logging

from fastapi import APIRouter, HTTPException, Request, Response, status
from pydantic import SecretStr
from starlette.concurrency import run_in_threadpool

from tagent.api.deps import EngineDep, SettingsDep
from tagent.app.engine import Engine
from tagent.errors import ValidationError
from tagent.model import TimelineEntry
from tagent.notify import (
    CallIntent,
    confirmation_twiml,
    gather_path,
    is_valid_signature,
    menu_again_twiml,
    read_gather,
    status_path,
)
from tagent.settings import Settings
from tagent.sources.alertmanager import alerts_to_events

log = logging.getLogger("tagent.api")
alerts = APIRouter(tags=["webhooks"])
twilio = APIRouter(tags=["webhooks"])
TWIML = "application/xml"
ALERTS_PATH = "/api/alerts/alertmanager"


@alerts.post(ALERTS_PATH)
async def alertmanager(request: Request, engine: EngineDep) -> dict[str, int]:
    """Alertmanager webhook (version 4): one Alert event per alert, queued for matching."""
    try:
        payload = json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError):
        _bad_alert(engine, "the body is not valid JSON")
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "the body is not valid JSON") from None
    try:
        events = await run_in_threadpool(alerts_to_events, payload, clock=engine.clock,
                                         resolve_pod=engine.kube.resolve_pod)
    except ValidationError as exc:
        _bad_alert(engine, str(exc))
        raise
    for event in events:
        await run_in_threadpool(engine.ingest, event)
    return {"accepted": len(events)}


def _bad_alert(engine: Engine, why: str) -> None:
    """Bad input is counted (tagent_bad_input{source="alertmanager"}) and logged, then refused."""
    engine.metrics.bad_input.labels(source="alertmanager").inc()
    log.warning("alertmanager webhook: %s", why)


def _callback_url(request: Request, settings: Settings, path: str) -> str:
    """The URL Twilio was given (and signed): the public base URL, the path, the query string if any."""
    query = f"?{request.url.query}" if request.url.query else ""
    return settings.public_url.rstrip("/") + path + query


async def _form(request: Request, settings: Settings) -> tuple[SecretStr, dict[str, str]]:
    if settings.twilio_auth_token is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "twilio callbacks need twilio_auth_token")
    form = await request.form()
    return settings.twilio_auth_token, {k: str(v) for k, v in form.items()}


def _known(engine: Engine, incident_id: str) -> None:
    if engine.store.incidents.get(incident_id, timeline=False) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no incident {incident_id}")


def _act(engine: Engine, incident_id: str, intent: CallIntent, who: str) -> CallIntent:
    """Do what the key asks; returns what was done (`unknown` when 2 finds nothing waiting to run)."""
    incidents = engine.incidents
    if intent is CallIntent.ack:
        if incidents is not None:
            incidents.acknowledge(incident_id, by=who)
        else:
            engine.store.incidents.acknowledge(incident_id, by=who, at=engine.clock())
        return intent
    if incidents is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                            "fixing now needs the incident manager, and this engine runs without one")
    if not engine.store.approvals.pending(incident_id=incident_id):
        return CallIntent.unknown  # nothing waits for approval: the key does nothing
    incidents.approve(incident_id, by=who)
    return intent


@twilio.post(gather_path("{incident_id}"), response_class=Response)
async def gather(incident_id: str, request: Request, engine: EngineDep, settings: SettingsDep) -> Response:
    """The digit pressed during an incident call: 1 acknowledge, 2 fix now; TwiML answers the caller."""
    token, params = await _form(request, settings)
    url = _callback_url(request, settings, gather_path(incident_id))
    try:
        result = read_gather(token, url, params, request.headers.get("x-twilio-signature"), incident_id)
    except ValidationError as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(exc)) from None
    await run_in_threadpool(_known, engine, incident_id)
    if result.intent is CallIntent.unknown:
        return Response(menu_again_twiml(incident_id, settings.public_url), media_type=TWIML)
    done = await run_in_threadpool(_act, engine, incident_id, result.intent, f"phone:{result.call_sid or 'call'}")
    return Response(confirmation_twiml(done), media_type=TWIML)


@twilio.post(status_path("{incident_id}"), status_code=status.HTTP_204_NO_CONTENT, response_class=Response)
async def call_status(incident_id: str, request: Request, engine: EngineDep, settings: SettingsDep) -> Response:
    """Twilio's call progress (answered, completed, busy, no-answer...), kept on the incident's timeline."""
    token, params = await _form(request, settings)
    url = _callback_url(request, settings, status_path(incident_id))
    if not is_valid_signature(token, url, params, request.headers.get("x-twilio-signature")):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "twilio callback rejected: bad or missing X-Twilio-Signature")
    await run_in_threadpool(_known, engine, incident_id)
    state = params.get("CallStatus", "unknown")
    entry = TimelineEntry(at=engine.clock(), kind="call", summary=f"call {state}",
                          data={"call_sid": params.get("CallSid", ""), "status": state})
    await run_in_threadpool(engine.store.incidents.add_timeline, incident_id, entry)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
