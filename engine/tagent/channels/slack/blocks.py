"""Block Kit builders: a confirmation with the plan and its kubectl equivalent, incident alerts with buttons,
the delete modal, and the message a click leaves behind."""

from __future__ import annotations

import json
from typing import Any

from tagent.channels.core import IncidentAction, Said

Block = dict[str, Any]
CONFIRM, CANCEL, DELETE = "chat.confirm", "chat.cancel", "chat.delete"
INCIDENT_PREFIX = "incident."
DELETE_VIEW = "chat.delete"
LABELS = {IncidentAction.ack: "Acknowledge", IncidentAction.approve: "Approve", IncidentAction.deny: "Deny",
          IncidentAction.fix_now: "Fix now"}
_MAX_TEXT = 2900  # a section's text is limited to 3000 characters


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:_MAX_TEXT] or " "}}


def _button(text: str, action_id: str, value: str, style: str | None = None) -> Block:
    button: Block = {"type": "button", "text": {"type": "plain_text", "text": text}, "action_id": action_id,
                     "value": value}
    if style:
        button["style"] = style
    return button


def said_blocks(said: Said) -> list[Block]:
    """The answer; for a confirmation also the kubectl equivalent and Confirm / Cancel."""
    blocks = [_section(said.text)]
    if said.asks_confirmation and said.token:
        if said.command:
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"`{said.command}`"}]})
        confirm = _button("Confirm", DELETE if said.confirm_name else CONFIRM, said.token,
                          "danger" if said.confirm_name else "primary")
        blocks.append({"type": "actions", "block_id": "chat", "elements": [
            confirm, _button("Cancel", CANCEL, said.token)]})
    return blocks


def outcome_blocks(original: str, outcome: str) -> list[Block]:
    """What replaces a clicked message: the plan as it was, then who did what (no buttons left)."""
    return [_section(original), {"type": "context", "elements": [{"type": "mrkdwn", "text": outcome[:_MAX_TEXT]}]}]


def incident_blocks(incident_id: str, line: str, waiting: str | None, done: str | None = None) -> list[Block]:
    """An incident alert: its line, the waiting playbook, the four buttons (or who acted, once someone did)."""
    blocks = [_section(f"*Incident {incident_id}*: {line}" + (f"\nWaiting for approval: {waiting}" if waiting else ""))]
    if done:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": done[:_MAX_TEXT]}]})
    actions = list(IncidentAction)  # always all four: a click on Approve with nothing waiting says so
    blocks.append({"type": "actions", "block_id": "incident", "elements": [
        _button(LABELS[a], INCIDENT_PREFIX + a.value, incident_id,
                "primary" if a is IncidentAction.approve else "danger" if a is IncidentAction.deny else None)
        for a in actions]})
    return blocks


def delete_modal(name: str, token: str, channel: str, ts: str, plan: str) -> Block:
    """views.open's view: type the workload's name to delete it."""
    return {"type": "modal", "callback_id": DELETE_VIEW,
            "private_metadata": json.dumps({"token": token, "channel": channel, "ts": ts, "plan": plan[:1500]}),
            "title": {"type": "plain_text", "text": "Confirm delete"},
            "submit": {"type": "plain_text", "text": "Delete"},
            "close": {"type": "plain_text", "text": "Cancel"},
            "blocks": [_section(plan[:1500]), {"type": "input", "block_id": "name",
                                               "label": {"type": "plain_text", "text": f"Type {name} to delete it"},
                                               "element": {"type": "plain_text_input", "action_id": "typed"}}]}
