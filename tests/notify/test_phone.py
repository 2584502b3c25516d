"""Twilio calls through the real twilio client against the local Twilio REST server."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import httpx
import pytest
from pydantic import SecretStr

from tagent.errors import ConfigError, PermanentError, TransientError, ValidationError
from tagent.notify import CallIntent, TwilioCaller, confirmation_twiml, intent_of, read_gather
from tagent.sandbox.receivers import RecordedRequest, RecordingServer, Reply, TwilioReceiver
from tagent.settings import Settings


class CallbackApi(RecordingServer):
    """Plays the API route the API engineer mounts: verify, parse, answer TwiML."""

    def __init__(self, auth_token: str) -> None:
        super().__init__()
        self.auth_token = SecretStr(auth_token)
        self.intents: list[CallIntent] = []

    def handle(self, request: RecordedRequest) -> Reply:
        url = f"{self.base_url}{request.path}"
        try:
            result = read_gather(self.auth_token, url, request.form(), request.headers.get("x-twilio-signature"),
                                 incident_id=request.path.rsplit("/", 1)[-1])
        except ValidationError as exc:
            return Reply(status=403, body=str(exc).encode(), content_type="text/plain")
        self.intents.append(result.intent)
        return Reply(body=confirmation_twiml(result.intent).encode(), content_type="application/xml")


@pytest.fixture
def api(twilio_api: TwilioReceiver) -> Iterator[CallbackApi]:
    with CallbackApi(twilio_api.auth_token) as server:
        yield server


def caller_for(twilio_api: TwilioReceiver, public_url: str, token: str | None = None) -> TwilioCaller:
    settings = Settings(twilio_account_sid=twilio_api.account_sid,
                        twilio_auth_token=SecretStr(token or twilio_api.auth_token), twilio_from="+15005550006",
                        twilio_base_url=twilio_api.base_url, public_url=public_url)
    return TwilioCaller.from_settings(settings)


def test_the_call_request_has_to_from_and_twiml(twilio_api: TwilioReceiver) -> None:
    caller = caller_for(twilio_api, "https://tagent.example.com")
    result = caller.call("+919800000001", "payment-service in shop is crash looping.", "inc42")
    assert result.sid.startswith("CA") and result.status == "queued"
    [request] = twilio_api.requests
    assert request.path == f"/2010-04-01/Accounts/{twilio_api.account_sid}/Calls.json"
    user, _, password = base64.b64decode(request.headers["authorization"][6:]).decode().partition(":")
    assert (user, password) == (twilio_api.account_sid, twilio_api.auth_token)
    form = request.form()
    assert form["To"] == "+919800000001" and form["From"] == "+15005550006"
    assert form["StatusCallback"] == "https://tagent.example.com/api/v1/twilio/status/inc42"
    twiml = ET.fromstring(form["Twiml"])
    gather = twiml.find("Gather")
    assert gather is not None
    assert gather.get("numDigits") == "1" and gather.get("method") == "POST"
    assert gather.get("action") == "https://tagent.example.com/api/v1/twilio/gather/inc42"
    spoken = " ".join(s.text or "" for s in gather.iter("Say"))
    assert "payment-service in shop is crash looping." in spoken
    assert "Press 1 to acknowledge" in spoken and "Press 2" in spoken


def test_sms_and_error_mapping(twilio_api: TwilioReceiver) -> None:
    caller = caller_for(twilio_api, "http://127.0.0.1:1")
    sms = caller.sms("+919800000001", "checkout rolled back")
    assert sms.sid.startswith("SM") and twilio_api.requests[-1].form()["Body"] == "checkout rolled back"
    twilio_api.fail_next(1, status=503)
    with pytest.raises(TransientError, match="HTTP 503"):
        caller.call("+919800000001", "x", "i1")
    with pytest.raises(PermanentError, match="20003"):
        caller_for(twilio_api, "http://127.0.0.1:1", token="wrong-token").call("+919800000001", "x", "i1")
    with pytest.raises(ConfigError, match="twilio_from"):
        TwilioCaller.from_settings(Settings())


@pytest.mark.parametrize(("digit", "intent"), [("1", CallIntent.ack), ("2", CallIntent.fix_now)])
def test_a_signed_keypress_reaches_the_callback_and_is_understood(twilio_api: TwilioReceiver, api: CallbackApi,
                                                                  digit: str, intent: CallIntent) -> None:
    call = caller_for(twilio_api, api.base_url).call("+919800000001", "frontend error spike", "inc7")
    status, body = twilio_api.press(call.sid, digit)
    assert status == 200 and "<Hangup" in body
    assert api.intents == [intent]


def test_signature_verification_rejects_tampering(twilio_api: TwilioReceiver, api: CallbackApi) -> None:
    call = caller_for(twilio_api, api.base_url).call("+919800000001", "frontend error spike", "inc7")
    url, params, signature = twilio_api.gather_callback(call.sid, "1")
    token = SecretStr(twilio_api.auth_token)
    ok = read_gather(token, url, params, signature, incident_id="inc7")
    assert (ok.intent, ok.call_sid, ok.digits) == (CallIntent.ack, call.sid, "1")
    with pytest.raises(ValidationError, match="X-Twilio-Signature"):
        read_gather(token, url, {**params, "Digits": "2"}, signature, incident_id="inc7")
    with pytest.raises(ValidationError):
        read_gather(token, url.replace("inc7", "inc8"), params, signature, incident_id="inc8")
    with pytest.raises(ValidationError):
        read_gather(SecretStr("another-token"), url, params, signature, incident_id="inc7")
    with pytest.raises(ValidationError):
        read_gather(token, url, params, None, incident_id="inc7")
    # over HTTP too: a forged keypress is refused with 403 and changes nothing
    forged = httpx.post(url, data={**params, "Digits": "2"}, headers={"X-Twilio-Signature": signature})
    assert forged.status_code == 403 and api.intents == []


def test_digits_to_intent() -> None:
    assert [intent_of(d) for d in ["1", "2", " 1 ", "3", "", None, "12"]] == [
        CallIntent.ack, CallIntent.fix_now, CallIntent.ack, CallIntent.unknown, CallIntent.unknown,
        CallIntent.unknown, CallIntent.unknown]
