"""Phone calls through Twilio: place the call, speak the summary, gather one digit, verify the callback.

The call uses the real `twilio` REST client. `twilio_base_url` (tests, the demo) points it at a local
server implementing Twilio's REST API: the seam is twilio's own `http_client` parameter, here a
`TwilioHttpClient` that rewrites `https://api.twilio.com` to that base URL, so everything else (auth,
form encoding, response parsing, error mapping) is the library's.

The TwiML says a short summary and gathers one digit: 1 acknowledges, 2 lets Tagent fix it now. Twilio
then POSTs the digit to `settings.public_url + gather_path(incident_id)`. The API mounts that route and
calls `read_gather` with the request's URL, form and X-Twilio-Signature; these are pure functions.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import SecretStr
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from twilio.twiml.voice_response import Gather, VoiceResponse

from tagent.errors import ConfigError, PermanentError, TransientError, ValidationError
from tagent.settings import Settings

log = logging.getLogger(__name__)
TWILIO_API = "https://api.twilio.com"
GATHER_PATH = "/api/v1/twilio/gather/{incident_id}"
STATUS_PATH = "/api/v1/twilio/status/{incident_id}"


class CallIntent(StrEnum):
    ack = "ack"  # pressed 1
    fix_now = "fix_now"  # pressed 2
    unknown = "unknown"  # anything else: say the menu again


@dataclass(frozen=True)
class CallResult:
    sid: str
    to: str
    status: str


@dataclass(frozen=True)
class GatherResult:
    incident_id: str
    call_sid: str
    digits: str
    intent: CallIntent


class BaseUrlHttpClient(TwilioHttpClient):
    """twilio's HTTP client, sending what would go to api.twilio.com to `base_url` instead."""

    def __init__(self, base_url: str, timeout: float | None = None) -> None:
        super().__init__(timeout=timeout)
        self.base_url = base_url.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        if url.startswith(TWILIO_API):
            url = self.base_url + url[len(TWILIO_API):]
        return super().request(method, url, *args, **kwargs)


def gather_path(incident_id: str) -> str:
    return GATHER_PATH.format(incident_id=incident_id)


def status_path(incident_id: str) -> str:
    return STATUS_PATH.format(incident_id=incident_id)


def call_twiml(summary: str, incident_id: str, public_url: str) -> str:
    """TwiML: say the summary, gather one digit posted to the incident's callback, repeat once, hang up."""
    action = public_url.rstrip("/") + gather_path(incident_id)
    response = VoiceResponse()
    gather = Gather(num_digits=1, action=action, method="POST", timeout=10)
    gather.say(f"Tagent alert. {summary}")
    gather.say("Press 1 to acknowledge. Press 2 to let Tagent fix it now.")
    response.append(gather)
    response.say("No key was pressed. Goodbye.")
    return str(response)


def menu_again_twiml(incident_id: str, public_url: str) -> str:
    """The answer to an unknown digit: the menu once more."""
    response = VoiceResponse()
    gather = Gather(num_digits=1, action=public_url.rstrip("/") + gather_path(incident_id), method="POST")
    gather.say("Sorry. Press 1 to acknowledge. Press 2 to let Tagent fix it now.")
    response.append(gather)
    return str(response)


def confirmation_twiml(intent: CallIntent) -> str:
    """What the caller hears after pressing a key."""
    response = VoiceResponse()
    response.say({CallIntent.ack: "Acknowledged. Tagent will not act on its own. Goodbye.",
                  CallIntent.fix_now: "Understood. Tagent is fixing it now. Goodbye.",
                  CallIntent.unknown: "Sorry, that key does nothing. Goodbye."}[intent])
    response.hangup()
    return str(response)


def is_valid_signature(auth_token: SecretStr, url: str, params: Mapping[str, str], signature: str | None) -> bool:
    """Twilio's X-Twilio-Signature check (twilio.request_validator), for the exact URL Twilio called."""
    if not signature:
        return False
    return bool(RequestValidator(auth_token.get_secret_value()).validate(url, dict(params), signature))


def intent_of(digits: str | None) -> CallIntent:
    return {"1": CallIntent.ack, "2": CallIntent.fix_now}.get((digits or "").strip(), CallIntent.unknown)


def read_gather(auth_token: SecretStr, url: str, params: Mapping[str, str], signature: str | None,
                incident_id: str) -> GatherResult:
    """Verify and parse a Gather callback; ValidationError (-> HTTP 403) when the signature is wrong."""
    if not is_valid_signature(auth_token, url, params, signature):
        raise ValidationError("twilio callback rejected: bad or missing X-Twilio-Signature")
    return GatherResult(incident_id=incident_id, call_sid=params.get("CallSid", ""),
                        digits=params.get("Digits", ""), intent=intent_of(params.get("Digits")))


class TwilioCaller:
    """Places calls (and SMS) with the twilio REST client; errors map to Transient/PermanentError."""

    def __init__(self, account_sid: str, auth_token: SecretStr, from_number: str, *, public_url: str,
                 base_url: str | None = None, timeout: float = 15.0, client: Client | None = None) -> None:
        self.from_number, self.public_url = from_number, public_url
        http_client = BaseUrlHttpClient(base_url, timeout=timeout) if base_url else TwilioHttpClient(timeout=timeout)
        # a non-empty `environment` keeps the library from reading TWILIO_* variables: settings are the only source
        self.client = client or Client(account_sid, auth_token.get_secret_value(), http_client=http_client,
                                       environment={"TAGENT": "1"})

    @classmethod
    def from_settings(cls, settings: Settings) -> TwilioCaller:
        if not (settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_from):
            raise ConfigError("phone calls need twilio_account_sid, twilio_auth_token and twilio_from")
        return cls(settings.twilio_account_sid, settings.twilio_auth_token, settings.twilio_from,
                   public_url=settings.public_url, base_url=settings.twilio_base_url)

    def call(self, to: str, summary: str, incident_id: str) -> CallResult:
        """Call `to` (E.164) with the incident's TwiML; status callbacks go to `status_path`."""
        twiml = call_twiml(summary, incident_id, self.public_url)
        status_url = self.public_url.rstrip("/") + status_path(incident_id)
        try:
            call = self.client.calls.create(to=to, from_=self.from_number, twiml=twiml, status_callback=status_url,
                                            status_callback_event=["answered", "completed"])
        except TwilioRestException as exc:
            raise _mapped(exc, "call") from exc
        except (TwilioException, OSError) as exc:
            raise TransientError(f"twilio call to {to} failed: {type(exc).__name__}: {exc}") from exc
        log.info("placed call %s to %s for incident %s", call.sid, to, incident_id)
        return CallResult(sid=str(call.sid), to=to, status=str(call.status))

    def sms(self, to: str, body: str) -> CallResult:
        try:
            message = self.client.messages.create(to=to, from_=self.from_number, body=body)
        except TwilioRestException as exc:
            raise _mapped(exc, "sms") from exc
        except (TwilioException, OSError) as exc:
            raise TransientError(f"twilio sms to {to} failed: {type(exc).__name__}: {exc}") from exc
        return CallResult(sid=str(message.sid), to=to, status=str(message.status))


def _mapped(exc: TwilioRestException, what: str) -> Exception:
    detail = f"twilio {what} failed: HTTP {exc.status}, code {exc.code}: {exc.msg}"
    if exc.status == 429 or exc.status >= 500:
        return TransientError(detail, delay=5.0)
    return PermanentError(detail)
