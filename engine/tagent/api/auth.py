"""Bearer-token authentication for the API and the webhooks (constant-time comparison)."""

from __future__ import annotations

import hmac
from collections.abc import Callable

from fastapi import HTTPException, Request, status
from pydantic import SecretStr


def bearer_dependency(token: SecretStr | None, realm: str) -> Callable[[Request], None]:
    """A FastAPI dependency that accepts `Authorization: Bearer <token>`; no token configured = open.

    Open only when nothing is configured: `create_app` allows that on loopback only, and `tagent run` warns.
    """

    def check(request: Request) -> None:
        if token is None:
            return
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), token.get_secret_value().encode()):
            raise HTTPException(
                status_code=status.HTTP_401_UNAUTHORIZED,
                detail=f"missing or wrong bearer token for {realm}",
                headers={"WWW-Authenticate": f'Bearer realm="{realm}"'},
            )

    return check
