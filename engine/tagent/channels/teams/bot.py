"""The Teams bot: an authenticated Bot Framework activity to `ChannelCore`, the answer through the connector.

A message (mentions stripped) is a chat request, answered with a card replying to it; a card's Action.Submit
arrives as a message whose `value` holds `{"tagent": {...}}` and the card (`replyToId`) is updated in place.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from tagent.channels.core import RETRYABLE, ChannelCore, Clicked, IncidentAction, Said
from tagent.channels.roles import Directory, Person
from tagent.channels.teams import cards
from tagent.channels.teams.connector import Connector, ConnectorError
from tagent.channels.teams.verify import BotFrameworkAuth
from tagent.errors import ValidationError

log = logging.getLogger("tagent.channels.teams")
_MENTION = re.compile(r"<at>[^<]*</at>")


class BadActivity(Exception):
    """Not a Bot Framework activity we can read (one line)."""


class TeamsBot:
    def __init__(self, core: ChannelCore, directory: Directory, auth: BotFrameworkAuth, connector: Connector) -> None:
        self.core, self.directory, self.auth, self.connector = core, directory, auth, connector

    def authenticate(self, activity: Mapping[str, Any], authorization: str | None) -> None:
        """Unauthenticated unless the bearer JWT is valid for this bot, the activity's serviceUrl and its channel
        (the key's endorsements; an activity naming no channel is not checked against them, as in the Bot
        Framework SDKs, and is then refused as a bad activity if it is a message)."""
        self.auth.claims(authorization, str(activity.get("serviceUrl", "")), str(activity.get("channelId") or ""))

    def handle(self, activity: Mapping[str, Any]) -> None:
        if activity.get("type") != "message":
            return
        try:
            service_url = str(activity["serviceUrl"])
            conversation = str(activity["conversation"]["id"])
            sender = activity["from"]
        except (KeyError, TypeError):
            raise BadActivity("a message activity needs serviceUrl, conversation.id and from") from None
        person = self._person(sender)
        value = activity.get("value")
        if isinstance(value, dict) and isinstance(value.get("tagent"), dict):
            self._submitted(person, value, service_url, conversation, str(activity.get("replyToId", "")))
            return
        text = _MENTION.sub("", str(activity.get("text", ""))).strip()
        try:
            answers = self.core.messages(person, text or "help")
        except ValidationError as exc:
            answers = [Said(text=f"I could not take that: {exc}")]
        for said in answers:  # two requests: one card (and one confirmation) each
            self._send(self.connector.reply, service_url, conversation,
                       cards.message(cards.said_card(said), said.text), str(activity.get("id", "")) or None)

    def _person(self, sender: Any) -> Person:
        if not isinstance(sender, dict):
            raise BadActivity("'from' is not an object")
        ident = str(sender.get("aadObjectId") or sender.get("id") or "")
        found = self.directory.person(str(sender.get("id", "")))
        if found.role.name == "read" and sender.get("aadObjectId"):
            found = self.directory.person(ident)
        return found

    def _submitted(self, person: Person, value: Mapping[str, Any], service_url: str, conversation: str,
                   card_id: str) -> None:
        data: Mapping[str, Any] = value["tagent"]
        what = data.get("do")
        clicked: Clicked
        if what == "incident":
            try:
                action = IncidentAction(str(data.get("action")))
            except ValueError:
                return
            incident_id = str(data.get("incident", ""))
            clicked = self.core.incident(person, action, incident_id)
            if clicked.incident is not None:
                line, waiting = self.core.incident_summary(clicked.incident)
                card = cards.incident_card(incident_id, line, waiting, done=clicked.text)
                self._update_or_reply(service_url, conversation, card_id, cards.message(card, clicked.text))
                return
        elif what == "confirm":
            clicked = self.core.confirm(person, str(data.get("token", "")), str(value.get("typed_name", "")) or None)
        elif what == "cancel":
            clicked = self.core.cancel(person, str(data.get("token", "")))
        else:
            return
        if clicked.result is not None and clicked.result.reason not in RETRYABLE:
            self._update_or_reply(service_url, conversation, card_id,
                                  cards.message(cards.outcome_card(clicked.text), clicked.text))
        else:
            self._send(self.connector.reply, service_url, conversation,
                       cards.message(cards.outcome_card(clicked.text), clicked.text), card_id or None)

    def _update_or_reply(self, service_url: str, conversation: str, card_id: str, activity: dict[str, Any]) -> None:
        if card_id:
            self._send(self.connector.update, service_url, conversation, card_id, activity)
        else:
            self._send(self.connector.reply, service_url, conversation, activity, None)

    def post_incident(self, service_url: str, conversation: str, incident_id: str) -> str | None:
        """A proactive incident card in a conversation; returns the posted activity's id."""
        found = self.core.engine.store.incidents.get(incident_id)
        if found is None:
            raise ValidationError(f"no incident {incident_id}")
        line, waiting = self.core.incident_summary(found)
        answer = self._send(self.connector.reply, service_url, conversation,
                            cards.message(cards.incident_card(incident_id, line, waiting), line), None)
        return str(answer["id"]) if isinstance(answer, dict) and answer.get("id") else None

    def _send(self, method: Any, *args: Any) -> Any:
        try:
            return method(*args)
        except ConnectorError as exc:
            log.warning("teams: %s", exc)
            return None
