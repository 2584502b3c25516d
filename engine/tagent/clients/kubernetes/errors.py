"""ApiException and transport failures → the Tagent error tree, so callers decide retry vs give up.

404/403/401/400/422 (and other 4xx) → PermanentError: the object is gone, we may not, or the request is
wrong. 409 (conflict), 429 (too many requests, also a PodDisruptionBudget refusing an eviction), 5xx and
connection/timeout failures → TransientError: the same request may succeed later.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import urllib3
from kubernetes.client.exceptions import ApiException

from tagent.errors import PermanentError, TransientError

TRANSIENT_CODES = frozenset({409, 429})


def _message(exc: ApiException) -> str:
    body = exc.body
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    if isinstance(body, str) and body:
        try:
            status = json.loads(body)
        except ValueError:
            return body.strip().splitlines()[0][:300]
        if isinstance(status, dict) and status.get("message"):
            return str(status["message"])
    return str(exc.reason or "")


def _retry_after(exc: ApiException) -> float:
    try:
        return float((exc.headers or {}).get("Retry-After", 1))
    except (TypeError, ValueError):
        return 1.0


def translate(exc: ApiException, what: str) -> PermanentError | TransientError:
    code = int(exc.status or 0)
    text = f"{what}: HTTP {code}: {_message(exc)}" if code else f"{what}: {_message(exc)}"
    if code in TRANSIENT_CODES or code >= 500 or code == 0:
        return TransientError(text, delay=_retry_after(exc))
    return PermanentError(text)


@contextmanager
def api_errors(what: str) -> Iterator[None]:
    """Run one API call; re-raise its failure as PermanentError or TransientError naming `what`."""
    try:
        yield
    except ApiException as exc:
        raise translate(exc, what) from exc
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise TransientError(f"{what}: {type(exc).__name__}: {exc}") from exc
