"""What every chat channel does, whatever it looks like: a message to the chat service, a click to a
confirmation or to the incident manager, each checked against the clicking person's role.

A mutation asked by someone who may only read is refused: the confirmation the chat service prepared is
declined at once (spent, audited), so no button that could run it is ever shown. A click is checked again
(role now, then the chat service's own checks: one-time token, expiry, and the requester's own request
unless the clicker holds the approve role).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from tagent.app.engine import Engine
from tagent.channels.roles import Person, Role
from tagent.chat.compound import clauses
from tagent.chat.reply import ChatReply, ChatResult, ReplyStatus
from tagent.model import Incident


class ChatBackend(Protocol):
    """What a channel needs from the chat service (`tagent.chat.service.ChatService` satisfies it)."""

    def ask(self, text: str, user: str) -> Any: ...

    def confirm(self, token: str, user: str, typed_name: str | None = None, *, approver: bool = False) -> Any: ...

    def decline(self, token: str, user: str) -> Any: ...


class IncidentAction(StrEnum):
    ack = "ack"
    approve = "approve"
    deny = "deny"
    fix_now = "fix_now"


NEEDS: dict[IncidentAction, Role] = {IncidentAction.ack: Role.operate, IncidentAction.approve: Role.approve,
                                     IncidentAction.deny: Role.approve, IncidentAction.fix_now: Role.approve}
RETRYABLE = ("other_user", "wrong_name")  # refusals of one click that leave the confirmation usable
DONE = {IncidentAction.ack: "acknowledged", IncidentAction.approve: "approved", IncidentAction.deny: "denied",
        IncidentAction.fix_now: "fixed now (playbook approved)"}


@dataclass
class Said:
    """A channel's answer to a message: text, and the confirmation to render when there is one."""

    text: str
    reply: ChatReply | None = None
    token: str | None = None
    confirm_name: str | None = None
    command: str | None = None

    @property
    def asks_confirmation(self) -> bool:
        return self.token is not None


@dataclass
class Clicked:
    """The outcome of a button: its text (who did what), whether it acted, and the incident when there is one."""

    text: str
    acted: bool
    incident: Incident | None = None
    result: ChatResult | None = None
    data: dict[str, Any] = field(default_factory=dict)


class ChannelCore:
    def __init__(self, engine: Engine, chat: ChatBackend) -> None:
        self.engine, self.chat = engine, chat

    def message(self, person: Person, text: str) -> Said:
        reply: ChatReply = self.chat.ask(text, person.user)
        if reply.status is not ReplyStatus.confirm or reply.token is None:
            return Said(text=reply.answer, reply=reply)
        if not person.may(Role.operate):
            self.chat.decline(reply.token, person.user)
            return Said(text=f"Refused: {person.user} may read but not change anything here "
                             f"({reply.intent.summary} needs the operate role). Nothing was changed.", reply=reply)
        return Said(text=reply.answer, reply=reply, token=reply.token, confirm_name=reply.confirm_name,
                    command=reply.intent.command)

    def messages(self, person: Person, text: str) -> list[Said]:
        """Like `message`, but two requests in one message come back as separate answers and confirmations
        (after one line saying so), in the order written; each runs only when its own button is clicked."""
        first = self.message(person, text)
        if first.reply is None or first.reply.reason != "compound_request":
            return [first]
        parts = [self.message(person, clause) for clause in clauses(text)]
        parts = [said for said in parts if said.reply is None or said.reply.status is not ReplyStatus.question]
        if len(parts) < 2:
            return [first]
        return [Said(text=f"I read {len(parts)} requests; each comes below with its own answer or confirmation, "
                          "in the order you wrote them. Nothing runs until you confirm it."), *parts]

    def confirm(self, person: Person, token: str, typed_name: str | None = None) -> Clicked:
        if not person.may(Role.operate):
            return Clicked(text=f"Refused: {person.user} may not confirm changes. Nothing was changed.", acted=False)
        # the requester confirms their own request; an approver may confirm anyone's
        result: ChatResult = self.chat.confirm(token, person.user, typed_name, approver=person.may(Role.approve))
        return Clicked(text=f"{result.answer} (confirmed by {person.user})" if result.ok else result.answer,
                       acted=result.ok, result=result)

    def cancel(self, person: Person, token: str) -> Clicked:
        result: ChatResult = self.chat.decline(token, person.user)
        by = f" (cancelled by {person.user})" if result.reason == "declined" else ""
        return Clicked(text=result.answer + by, acted=False, result=result)

    def incident(self, person: Person, action: IncidentAction, incident_id: str) -> Clicked:
        found = self.engine.store.incidents.get(incident_id)
        if found is None:
            return Clicked(text=f"No incident {incident_id}.", acted=False)
        if not person.may(NEEDS[action]):
            return Clicked(text=f"Refused: {person.user} may not {action.value.replace('_', ' ')} incidents "
                                f"(needs the {NEEDS[action].name} role). Nothing was changed.", acted=False,
                           incident=found)
        manager = self.engine.incidents
        if action is IncidentAction.ack:
            if manager is not None:
                manager.acknowledge(incident_id, by=person.user)
            else:
                self.engine.store.incidents.acknowledge(incident_id, by=person.user, at=self.engine.clock())
        else:
            if manager is None:
                return Clicked(text="This engine runs without the incident manager; nothing was changed.",
                               acted=False, incident=found)
            if not self.engine.store.approvals.pending(incident_id=incident_id):
                return Clicked(text=f"Incident {incident_id} has nothing waiting to {action.value.replace('_', ' ')}"
                                    "; nothing was changed.", acted=False, incident=found)
            if action is IncidentAction.deny:
                manager.deny(incident_id, by=person.user, reason="denied from chat")
            else:  # fix now = approve the waiting playbook at once (it runs through the guard)
                manager.approve(incident_id, by=person.user)
        return Clicked(text=f"{DONE[action].capitalize()} by {person.user}.", acted=True,
                       incident=self.engine.store.incidents.get(incident_id))

    def incident_summary(self, incident: Incident) -> tuple[str, str | None]:
        """One line for the alert, and the waiting playbook's summary when one waits."""
        line = f"[{incident.severity.value}] {incident.rule} on {incident.target} ({incident.status.value})"
        waiting = self.engine.store.approvals.pending(incident_id=incident.id)
        return line, (waiting[0].summary or waiting[0].action) if waiting else None
