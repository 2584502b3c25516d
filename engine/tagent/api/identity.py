"""Who is calling the API: the bearer token decides, never a field the caller fills in.

    TAGENT_API_TOKEN                       the shared token: the dashboard, a trusted server-side proxy that
                                           names the person it acts for in `user` / `by`
    TAGENT_API_USERS='{"asha": "tok-1"}'   personal tokens: a request with one acts as that user; a body
                                           `user` / `by` naming someone else is refused (403)

The audit log (chat's `chat:<user>`) and incident timelines ("approved by <user>") show the resolved user.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from fastapi import HTTPException, Request, status
from pydantic import BaseModel, SecretStr


@dataclass(frozen=True)
class Identity:
    user: str | None  # None: the shared token (or an open loopback API): the body names the person


def user_tokens(request: Request) -> Mapping[str, SecretStr]:
    return getattr(request.app.state, "api_users", None) or {}


def identity_dependency(shared: SecretStr | None, realm: str) -> Callable[[Request], Identity]:
    """Accept `Authorization: Bearer <shared token or a personal token>`; nothing configured = open.
    Every configured token is compared (constant time each), so timing does not tell which one matched."""

    def check(request: Request) -> Identity:
        users = user_tokens(request)
        if shared is None and not users:
            found: Identity | None = Identity(None)
        else:
            scheme, _, given = request.headers.get("authorization", "").partition(" ")
            given_bytes = given.encode() if scheme.lower() == "bearer" else b"\0"
            found = None
            if shared is not None and hmac.compare_digest(given_bytes, shared.get_secret_value().encode()):
                found = Identity(None)
            for name, token in users.items():
                if hmac.compare_digest(given_bytes, token.get_secret_value().encode()) and found is None:
                    found = Identity(name)
        if found is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail=f"missing or wrong bearer token for {realm}",
                                headers={"WWW-Authenticate": f'Bearer realm="{realm}"'})
        request.state.identity = found
        return found

    return check


def acting_user(request: Request, body: BaseModel, field: str) -> str:
    """The user a request acts as: the personal token's user, else the body's `field` (the shared token)."""
    identity: Identity = getattr(request.state, "identity", None) or Identity(None)
    claimed = str(getattr(body, field))
    if identity.user is None:
        return claimed
    if field in body.model_fields_set and claimed != identity.user:
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"you are authenticated as {identity.user}; "
                                                       f"'{field}' cannot name someone else ({claimed!r})")
    return identity.user
