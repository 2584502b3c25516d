"""Local stand-in for Twilio's REST API (2010-04-01): outbound calls and SMS, plus a simulated callee.

Implements what Tagent uses, as documented by Twilio:
`POST /2010-04-01/Accounts/{AccountSid}/Calls.json` (form fields To, From, Url or Twiml, StatusCallback)
and `POST .../Messages.json` (To, From, Body), both behind HTTP basic auth (AccountSid : AuthToken) and
answering `201` with the resource JSON, or Twilio's error JSON (`{"code", "message", "more_info",
"status"}`: 20003 on bad credentials, 21201 without To, 21205 without Url/Twiml, 21602 without Body).

`press(call_sid, digits)` plays the person who picks up: it reads the `<Gather action=...>` of the TwiML
the call was placed with and POSTs the Gather callback there, signed the way Twilio signs it
(X-Twilio-Signature = base64(HMAC-SHA1(auth token, URL + sorted params))), computed here independently
of the twilio library so that a test of the library's validator proves something.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

import httpx

from tagent.sandbox.receivers.base import RecordedRequest, RecordingServer, Reply

ACCOUNT_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<sid>[^/]+)/(?P<kind>Calls|Messages)\.json$")


def twilio_signature(auth_token: str, url: str, params: dict[str, str]) -> str:
    """Twilio's documented request signature for a form-encoded POST callback."""
    payload = url + "".join(f"{k}{params[k]}" for k in sorted(params))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _error(code: int, message: str, status: int) -> Reply:
    return Reply.of_json({"code": code, "message": message, "status": status,
                          "more_info": f"https://www.twilio.com/docs/errors/{code}"}, status=status)


@dataclass(frozen=True)
class PlacedCall:
    sid: str
    to: str
    from_: str
    twiml: str
    url: str
    status_callback: str


class TwilioReceiver(RecordingServer):
    """A Twilio account at 127.0.0.1: records calls and messages; `press` answers a call."""

    def __init__(self, account_sid: str | None = None, auth_token: str | None = None) -> None:
        super().__init__()
        self.account_sid = account_sid or "AC" + secrets.token_hex(16)
        self.auth_token = auth_token or secrets.token_hex(16)
        self._calls: dict[str, PlacedCall] = {}
        self._calls_lock = threading.Lock()

    def _authorised(self, request: RecordedRequest, sid: str) -> bool:
        header = request.headers.get("authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return False
        return (hmac.compare_digest(user, self.account_sid) and hmac.compare_digest(password, self.auth_token)
                and sid == self.account_sid)

    def handle(self, request: RecordedRequest) -> Reply:
        match = ACCOUNT_PATH.match(request.path)
        if match is None:
            return _error(20404, f"The requested resource {request.path} was not found", 404)
        if not self._authorised(request, match["sid"]):
            return _error(20003, "Authenticate", 401)
        if request.method != "POST":
            return _error(20004, "Method not allowed", 405)
        form = request.form()
        if not form.get("To"):
            return _error(21201, "No 'To' number is specified", 400)
        if not form.get("From"):
            return _error(21603, "A 'From' phone number is required.", 400)
        if match["kind"] == "Calls":
            return self._call(form)
        if not form.get("Body"):
            return _error(21602, "Message body is required.", 400)
        return Reply.of_json(self._resource("SM", form, "Messages", {
            "body": form["Body"], "num_segments": "1", "direction": "outbound-api", "messaging_service_sid": None,
        }), status=201)

    def _call(self, form: dict[str, str]) -> Reply:
        if not (form.get("Url") or form.get("Twiml")):
            return _error(21205, "Url parameter is required.", 400)
        resource = self._resource("CA", form, "Calls", {
            "direction": "outbound-api", "answered_by": None, "duration": None, "parent_call_sid": None,
            "queue_time": "0", "caller_name": None, "forwarded_from": None,
        })
        with self._calls_lock:
            self._calls[resource["sid"]] = PlacedCall(
                sid=resource["sid"], to=form["To"], from_=form["From"], twiml=form.get("Twiml", ""),
                url=form.get("Url", ""), status_callback=form.get("StatusCallback", ""))
        return Reply.of_json(resource, status=201)

    def _resource(self, prefix: str, form: dict[str, str], kind: str, extra: dict[str, Any]) -> dict[str, Any]:
        sid = prefix + secrets.token_hex(16)
        return {
            "sid": sid, "account_sid": self.account_sid, "api_version": "2010-04-01", "to": form["To"],
            "from": form["From"], "status": "queued", "date_created": None, "date_updated": None,
            "price": None, "price_unit": "USD", "uri": f"/2010-04-01/Accounts/{self.account_sid}/{kind}/{sid}.json",
            **extra,
        }

    # -- the simulated callee ---------------------------------------------------------------------
    @property
    def calls(self) -> list[PlacedCall]:
        with self._calls_lock:
            return list(self._calls.values())

    def gather_callback(self, call_sid: str, digits: str) -> tuple[str, dict[str, str], str]:
        """(action URL, form params, X-Twilio-Signature) Twilio would POST after the keypress."""
        with self._calls_lock:
            call = self._calls[call_sid]
        # the TwiML was posted by the caller under test on this machine; it is small and not hostile
        gather = ET.fromstring(call.twiml).find(".//Gather")  # noqa: S314
        if gather is None or not gather.get("action"):
            raise ValueError(f"call {call_sid} has no <Gather action=...> in its TwiML")
        url = str(gather.get("action"))
        params = {"AccountSid": self.account_sid, "CallSid": call_sid, "CallStatus": "in-progress",
                  "Digits": digits, "Direction": "outbound-api", "From": call.from_, "To": call.to,
                  "ApiVersion": "2010-04-01"}
        return url, params, twilio_signature(self.auth_token, url, params)

    def press(self, call_sid: str, digits: str, timeout: float = 10.0) -> tuple[int, str]:
        """POST the signed Gather callback to the action URL; returns (status, body) of the answer."""
        url, params, signature = self.gather_callback(call_sid, digits)
        response = httpx.post(url, data=params, headers={"X-Twilio-Signature": signature}, timeout=timeout)
        return response.status_code, response.text
