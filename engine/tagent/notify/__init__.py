"""tagent.notify: tell people (apprise routes) and call them (Twilio). The only package importing apprise/twilio."""

from tagent.notify.masking import mask_text, url_secrets
from tagent.notify.message import Message, NotifyKind, build_message, incident_link
from tagent.notify.notifier import DeliveryError, DeliveryResult, Notifier
from tagent.notify.phone import (
    CallIntent,
    CallResult,
    GatherResult,
    TwilioCaller,
    call_twiml,
    confirmation_twiml,
    gather_path,
    intent_of,
    is_valid_signature,
    menu_again_twiml,
    read_gather,
    status_path,
)

__all__ = [
    "CallIntent",
    "CallResult",
    "DeliveryError",
    "DeliveryResult",
    "GatherResult",
    "Message",
    "Notifier",
    "NotifyKind",
    "TwilioCaller",
    "build_message",
    "call_twiml",
    "confirmation_twiml",
    "gather_path",
    "incident_link",
    "intent_of",
    "is_valid_signature",
    "mask_text",
    "menu_again_twiml",
    "read_gather",
    "status_path",
    "url_secrets",
]
