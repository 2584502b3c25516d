"""Adaptive Cards (Action.Submit): a confirmation with its plan and kubectl equivalent, incident alerts with
Acknowledge / Approve / Deny / Fix now, and what a card becomes once someone acted."""

from __future__ import annotations

from typing import Any

from tagent.channels.core import IncidentAction, Said

Card = dict[str, Any]
CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
LABELS = {IncidentAction.ack: "Acknowledge", IncidentAction.approve: "Approve", IncidentAction.deny: "Deny",
          IncidentAction.fix_now: "Fix now"}


def _text(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text[:4000], "wrap": True, **extra}


def _submit(title: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Action.Submit", "title": title, "data": {"tagent": data}}


def _card(body: list[dict[str, Any]], actions: list[dict[str, Any]] | None = None) -> Card:
    content: dict[str, Any] = {"type": "AdaptiveCard", "version": "1.4",
                               "$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "body": body}
    if actions:
        content["actions"] = actions
    return {"contentType": CONTENT_TYPE, "content": content}


def said_card(said: Said) -> Card:
    body = [_text(said.text)]
    actions: list[dict[str, Any]] = []
    if said.asks_confirmation and said.token:
        if said.command:
            body.append(_text(said.command, fontType="Monospace", isSubtle=True))
        if said.confirm_name:
            body.append({"type": "Input.Text", "id": "typed_name", "placeholder": f"type {said.confirm_name}"})
        actions = [_submit("Confirm", {"do": "confirm", "token": said.token}),
                   _submit("Cancel", {"do": "cancel", "token": said.token})]
    return _card(body, actions)


def outcome_card(outcome: str) -> Card:
    return _card([_text(outcome)])


def incident_card(incident_id: str, line: str, waiting: str | None, done: str | None = None) -> Card:
    body = [_text(f"Incident {incident_id}: {line}", weight="Bolder")]
    if waiting:
        body.append(_text(f"Waiting for approval: {waiting}"))
    if done:
        body.append(_text(done, isSubtle=True))
    actions = [_submit(LABELS[a], {"do": "incident", "action": a.value, "incident": incident_id})
               for a in IncidentAction]  # always all four: Approve with nothing waiting says so
    return _card(body, actions)


def message(card: Card, text: str = "") -> dict[str, Any]:
    """A message activity carrying one card."""
    return {"type": "message", "text": text[:200], "attachments": [card]}
