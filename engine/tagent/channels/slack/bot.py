"""The Slack bot: verify, then route an event, a slash command or a click to `ChannelCore`.

Every request is checked with slack-sdk's `SignatureVerifier` (HMAC-SHA256 of `v0:<timestamp>:<body>` with
the signing secret, 5-minute window) before its body is even parsed: anything else is `Unverified` (401).
Events and clicks are acknowledged at once and worked in the background (Slack waits 3 seconds); a slash
command that only reads is answered in its own HTTP response.
"""

from __future__ import annotations

import json
import logging
import re
from collections import OrderedDict
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any
from urllib.parse import parse_qs

from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web import WebClient
from slack_sdk.webhook import WebhookClient

from tagent.channels.core import RETRYABLE, ChannelCore, IncidentAction, Said
from tagent.channels.roles import Directory, Person
from tagent.channels.slack import blocks
from tagent.errors import ValidationError

log = logging.getLogger("tagent.channels.slack")
_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")
Later = Callable[..., None]  # FastAPI's BackgroundTasks.add_task


class Unverified(Exception):
    """The request is not Slack's: unsigned, badly signed or outside the replay window."""


class SlackBot:
    def __init__(self, core: ChannelCore, directory: Directory, client: WebClient, verifier: SignatureVerifier,
                 seen_limit: int = 1000, command_budget: float = 2.5) -> None:
        self.core, self.directory, self.client, self.verifier = core, directory, client, verifier
        self.command_budget = command_budget  # Slack waits 3 s for a slash command's response
        self._workers = ThreadPoolExecutor(max_workers=4, thread_name_prefix="slack-command")
        self._seen: OrderedDict[str, None] = OrderedDict()  # event ids already handled (Slack retries)
        self._seen_limit = seen_limit

    # ------------------------------------------------------------------ verification
    def verify(self, body: bytes, headers: Mapping[str, str]) -> None:
        try:
            ok = self.verifier.is_valid_request(body, dict(headers))
        except (ValueError, TypeError):  # a timestamp that is not a number
            ok = False
        if not ok:
            raise Unverified("missing, wrong or stale Slack signature")

    # ------------------------------------------------------------------ Events API
    def event(self, payload: Mapping[str, Any], later: Later) -> dict[str, Any]:
        kind = payload.get("type")
        if kind == "url_verification":
            return {"challenge": str(payload.get("challenge", ""))}
        if kind != "event_callback" or not isinstance(payload.get("event"), dict):
            return {}
        event: dict[str, Any] = payload["event"]
        event_id = str(payload.get("event_id", ""))
        if event_id and self._already(event_id):
            return {}
        mention = event.get("type") == "app_mention"
        direct = event.get("type") == "message" and event.get("channel_type") == "im"
        if (mention or direct) and not event.get("bot_id") and not event.get("subtype") and event.get("user"):
            later(self._answer_event, event)
        return {}

    def _already(self, event_id: str) -> bool:
        if event_id in self._seen:
            return True
        self._seen[event_id] = None
        while len(self._seen) > self._seen_limit:
            self._seen.popitem(last=False)
        return False

    def _answer_event(self, event: Mapping[str, Any]) -> None:
        channel = str(event.get("channel", ""))
        person = self.directory.person(str(event["user"]), where=channel)
        text = _MENTION.sub("", str(event.get("text", ""))).strip() or "help"
        try:
            answers = self.core.messages(person, text)
        except ValidationError as exc:
            answers = [Said(text=f"I could not take that: {exc}")]
        thread = str(event.get("thread_ts") or event.get("ts") or "") or None
        for said in answers:  # two requests: one message (and one confirmation) each
            self._call(self.client.chat_postMessage, channel=channel, thread_ts=thread, text=said.text,
                       blocks=blocks.said_blocks(said))

    def _said(self, person: Person, text: str) -> Said:
        try:
            return self.core.message(person, text or "help")
        except ValidationError as exc:
            return Said(text=f"I could not take that: {exc}")

    # ------------------------------------------------------------------ /tagent
    def command(self, form: Mapping[str, str]) -> dict[str, Any]:
        """Answered in the HTTP response when it is ready within `command_budget` seconds (a read in the
        channel, a change as a confirmation with its buttons); otherwise acknowledged at once and answered
        through the command's response_url when done."""
        future: Future[dict[str, Any]] = self._workers.submit(self._command, dict(form))
        try:
            return future.result(timeout=self.command_budget)
        except FutureTimeout:
            url = form.get("response_url", "")
            future.add_done_callback(lambda done: self._respond_later(url, done))
            return {"response_type": "ephemeral", "text": "Working on it; the answer follows here."}

    def _command(self, form: Mapping[str, str]) -> dict[str, Any]:
        person = self.directory.person(form.get("user_id", ""), where=form.get("channel_id"))
        said = self._said(person, form.get("text", "").strip())
        return {"response_type": "in_channel", "text": said.text, "blocks": blocks.said_blocks(said)}

    def _respond_later(self, url: str, done: Future[dict[str, Any]]) -> None:
        if not url or done.exception() is not None:
            log.warning("slack: a slow /tagent command could not be answered (%s)",
                        "no response_url" if not url else type(done.exception()).__name__)
            return
        try:
            answer = WebhookClient(url, timeout=10).send_dict(done.result())
            if answer.status_code >= 300:
                log.warning("slack: response_url refused the answer: HTTP %s", answer.status_code)
        except OSError as exc:
            log.warning("slack: response_url unreachable: %s", exc)

    # ------------------------------------------------------------------ clicks
    def interaction(self, payload: Mapping[str, Any], later: Later) -> dict[str, Any]:
        user = payload.get("user") or {}
        kind = payload.get("type")
        if kind == "view_submission":
            view = payload.get("view") or {}
            if view.get("callback_id") == blocks.DELETE_VIEW:
                later(self._delete_submitted, self._person(user, None), view)
                return {"response_action": "clear"}
            return {}
        if kind != "block_actions" or not payload.get("actions"):
            return {}
        action: dict[str, Any] = payload["actions"][0]
        channel = str((payload.get("channel") or {}).get("id", ""))
        message = payload.get("message") or {}
        later(self._clicked, self._person(user, channel), action, channel, str(message.get("ts", "")),
              str(message.get("text", "")), str(payload.get("trigger_id", "")))
        return {}

    def _person(self, user: Mapping[str, Any], channel: str | None) -> Person:
        return self.directory.person(str(user.get("id", "")), email=user.get("email"), where=channel)

    def _clicked(self, person: Person, action: Mapping[str, Any], channel: str, ts: str, original: str,
                 trigger: str) -> None:
        action_id, value = str(action.get("action_id", "")), str(action.get("value", ""))
        if action_id == blocks.DELETE:
            self._call(self.client.views_open, trigger_id=trigger,
                       view=blocks.delete_modal(_name_in(original), value, channel, ts, original))
            return
        if action_id.startswith(blocks.INCIDENT_PREFIX):
            try:
                what = IncidentAction(action_id.removeprefix(blocks.INCIDENT_PREFIX))
            except ValueError:
                return
            clicked = self.core.incident(person, what, value)
            if clicked.incident is None:
                self._call(self.client.chat_postEphemeral, channel=channel, user=person.external_id, text=clicked.text)
                return
            line, waiting = self.core.incident_summary(clicked.incident)
            self._call(self.client.chat_update, channel=channel, ts=ts, text=f"{line}\n{clicked.text}",
                       blocks=blocks.incident_blocks(value, line, waiting, done=clicked.text))
            return
        if action_id == blocks.CONFIRM:
            clicked = self.core.confirm(person, value)
        elif action_id == blocks.CANCEL:
            clicked = self.core.cancel(person, value)
        else:
            return
        if clicked.result is None or clicked.result.reason in RETRYABLE:
            # a refusal for this click only: the message keeps its buttons for the one who may click
            self._call(self.client.chat_postMessage, channel=channel, thread_ts=ts, text=clicked.text)
            return
        self._call(self.client.chat_update, channel=channel, ts=ts, text=clicked.text,
                   blocks=blocks.outcome_blocks(original, clicked.text))

    def _delete_submitted(self, person: Person, view: Mapping[str, Any]) -> None:
        try:
            meta = json.loads(str(view.get("private_metadata", "")))
            typed = view["state"]["values"]["name"]["typed"]["value"]
        except (ValueError, KeyError, TypeError):
            log.warning("slack: a delete confirmation without its metadata or typed name was ignored")
            return
        clicked = self.core.confirm(person, str(meta.get("token", "")), str(typed or ""))
        if clicked.result is None or clicked.result.reason in RETRYABLE:  # the plan keeps its buttons
            self._call(self.client.chat_postMessage, channel=str(meta.get("channel", "")),
                       thread_ts=str(meta.get("ts", "")) or None, text=clicked.text)
            return
        self._call(self.client.chat_update, channel=str(meta.get("channel", "")), ts=str(meta.get("ts", "")),
                   text=clicked.text, blocks=blocks.outcome_blocks(str(meta.get("plan", "")), clicked.text))

    # ------------------------------------------------------------------ incident alerts
    def post_incident(self, channel: str, incident_id: str) -> str | None:
        """Post an incident alert with its buttons; returns the message ts (None when Slack refused)."""
        found = self.core.engine.store.incidents.get(incident_id)
        if found is None:
            raise ValidationError(f"no incident {incident_id}")
        line, waiting = self.core.incident_summary(found)
        answer = self._call(self.client.chat_postMessage, channel=channel, text=line,
                            blocks=blocks.incident_blocks(incident_id, line, waiting))
        return str(answer["ts"]) if answer is not None else None

    def _call(self, method: Callable[..., Any], **kwargs: Any) -> Any:
        try:
            return method(**kwargs)
        except SlackApiError as exc:
            log.warning("slack: %s failed: %s", getattr(method, "__name__", "call"), exc.response.get("error"))
        except OSError as exc:
            log.warning("slack: %s unreachable: %s", getattr(method, "__name__", "call"), exc)
        return None


def parse_form(body: bytes) -> dict[str, str]:
    """An urlencoded body to its first values (Slack sends each field once)."""
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}


def _name_in(plan: str) -> str:
    found = re.search(r"Type the name (\S+) to confirm", plan)
    return found.group(1) if found else "the name"
