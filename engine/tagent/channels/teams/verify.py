"""Bot Framework request authentication: the bearer JWT of each activity, checked against the OpenID metadata's
issuer and its signing keys (PyJWKClient), our app id as audience, and the activity's serviceUrl as claimed;
the signing key must be endorsed for the activity's channel (the JWKS lists, per key, the channels it may
sign for: `endorsements`), as the Bot Framework's own SDKs require.

There is one code path: a test points `openid_url` at a local issuer with its own RSA keys; nothing skips a check.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import jwt
from jwt import PyJWKClient

METADATA_TTL = 24 * 3600.0
LEEWAY = 300  # the Bot Framework allows five minutes of clock skew


class Unauthenticated(Exception):
    """The activity does not carry a valid Bot Framework token (one line, never the token)."""


class BotFrameworkAuth:
    def __init__(self, openid_url: str, audience: str, timeout: float = 10.0) -> None:
        self.openid_url, self.audience, self.timeout = openid_url, audience, timeout
        self._lock = threading.Lock()
        self._metadata: dict[str, Any] | None = None
        self._fetched = 0.0
        self._keys: PyJWKClient | None = None
        self._endorsed: dict[str, list[str]] = {}  # key id -> the channels it is endorsed for (from the JWKS)
        self._endorsed_at = 0.0

    def _openid(self) -> tuple[dict[str, Any], PyJWKClient]:
        with self._lock:
            if self._metadata is None or self._keys is None or time.monotonic() - self._fetched > METADATA_TTL:
                try:
                    answer = httpx.get(self.openid_url, timeout=self.timeout)
                    answer.raise_for_status()
                    metadata = answer.json()
                    jwks_uri = str(metadata["jwks_uri"])
                    str(metadata["issuer"])
                except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
                    raise Unauthenticated(f"the OpenID metadata at {self.openid_url} is unavailable: "
                                          f"{type(exc).__name__}") from None
                self._metadata, self._fetched = metadata, time.monotonic()
                self._keys = PyJWKClient(jwks_uri, cache_keys=True, lifespan=METADATA_TTL, timeout=int(self.timeout))
            return self._metadata, self._keys

    def _endorsements(self, kid: str | None, jwks_uri: str) -> list[str]:
        """The channels key `kid` is endorsed for. Asked only after the token's signature verified with that
        key, so a key id this map lacks is a real new key (a rotation): the JWKS is read again for it."""
        with self._lock:
            if kid not in self._endorsed or time.monotonic() - self._endorsed_at > METADATA_TTL:
                try:
                    answer = httpx.get(jwks_uri, timeout=self.timeout)
                    answer.raise_for_status()
                    self._endorsed = {str(k.get("kid")): [str(e) for e in k.get("endorsements") or []]
                                      for k in answer.json()["keys"]}
                except (httpx.HTTPError, ValueError, KeyError, TypeError, AttributeError) as exc:
                    raise Unauthenticated(f"the signing keys at {jwks_uri} are unavailable: "
                                          f"{type(exc).__name__}") from None
                self._endorsed_at = time.monotonic()
            return self._endorsed.get(str(kid), [])

    def claims(self, authorization: str | None, service_url: str, channel_id: str | None = None) -> dict[str, Any]:
        """The token's claims when it is valid for this bot, this serviceUrl and (when given) this channel;
        Unauthenticated otherwise."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("no bearer token")
        metadata, keys = self._openid()
        algorithms = [a for a in metadata.get("id_token_signing_alg_values_supported", ["RS256"])
                      if a in ("RS256", "RS384", "RS512")] or ["RS256"]
        try:
            key = keys.get_signing_key_from_jwt(token.strip())
            claims: dict[str, Any] = jwt.decode(
                token.strip(), key.key, algorithms=algorithms, audience=self.audience, issuer=metadata["issuer"],
                leeway=LEEWAY, options={"require": ["exp", "iss", "aud"]})
        except jwt.PyJWKClientError as exc:
            raise Unauthenticated(f"no signing key for this token: {exc}") from None
        except jwt.InvalidTokenError as exc:
            raise Unauthenticated(f"invalid token: {exc}") from None
        if claims.get("serviceUrl") != service_url:
            raise Unauthenticated("the token's serviceUrl is not the activity's")
        if channel_id and channel_id not in self._endorsements(key.key_id, str(metadata["jwks_uri"])):
            raise Unauthenticated(f"the signing key is not endorsed for channel {channel_id!r}")
        return claims
