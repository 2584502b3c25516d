"""Local HTTP servers that stand in for Slack, Teams, Twilio and OpenAI in tests and in `tagent demo`.

Each one implements the documented request format of the service, listens on 127.0.0.1 with a free
port, and records what it receives (`requests`, `wait_for(n, timeout)`), so the real apprise, twilio and
openai libraries can be exercised end to end without the internet.
"""

from tagent.sandbox.receivers.base import RecordedRequest, RecordingServer, Reply
from tagent.sandbox.receivers.bundle import LocalReceivers
from tagent.sandbox.receivers.openai import OpenAIReceiver, Responder, echo_responder, explain_responder
from tagent.sandbox.receivers.twilio import PlacedCall, TwilioReceiver, twilio_signature
from tagent.sandbox.receivers.webhook import ReceivedMessage, WebhookReceiver

__all__ = [
    "LocalReceivers",
    "OpenAIReceiver",
    "PlacedCall",
    "ReceivedMessage",
    "RecordedRequest",
    "RecordingServer",
    "Reply",
    "Responder",
    "TwilioReceiver",
    "WebhookReceiver",
    "echo_responder",
    "explain_responder",
    "twilio_signature",
]
