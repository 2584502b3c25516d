"""What the hosted avatar providers (D-ID, HeyGen) share: create, poll, fetch, with retries and deadlines.

`call` retries transport errors, 429 and 5xx with exponential backoff and gives up with ExternalError;
any other 4xx is `ProviderRefused` carrying the provider's own message (a bad key, no credits, a rejected
script), because asking again would not change the answer. `wait_for` polls a status function until it
says done (the result URL), failed (`ProviderRefused`) or the deadline passes (`ProviderTimeout`).
The API key is sent in a header only and never appears in an error.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tagent.debrief.video.base import ProviderRefused, ProviderTimeout
from tagent.errors import ExternalError


@dataclass(frozen=True)
class Limits:
    timeout: float = 30.0  # one HTTP request
    retries: int = 3  # extra attempts for transport errors, 429 and 5xx
    backoff: float = 1.0  # first pause between attempts, doubled each time
    render_timeout: float = 600.0  # create to done
    poll_interval: float = 3.0


def _message(response: httpx.Response) -> str:
    try:
        body: Any = response.json()
    except ValueError:
        return response.text.strip()[:200] or response.reason_phrase
    if isinstance(body, dict):
        inner = body.get("error")
        err: dict[str, Any] = inner if isinstance(inner, dict) else body
        parts = [str(err.get(k)) for k in ("kind", "code", "message", "description") if err.get(k)]
        return ": ".join(parts)[:300] or str(body)[:200]
    return str(body)[:200]


def call(client: httpx.Client, provider: str, method: str, url: str, limits: Limits, *,
         sleep: Callable[[float], None] = time.sleep, **kwargs: Any) -> httpx.Response:
    """One request, retried when it may succeed later. The response is a 2xx."""
    pause = limits.backoff
    for attempt in range(limits.retries + 1):
        last = attempt == limits.retries
        try:
            response = client.request(method, url, timeout=limits.timeout, **kwargs)
        except httpx.TransportError as exc:
            if last:
                raise ExternalError(f"{provider}: {method} {httpx.URL(url).path} failed after "
                                    f"{limits.retries + 1} attempts: {type(exc).__name__}") from exc
        else:
            if response.is_success:
                return response
            if response.status_code != 429 and response.status_code < 500:
                raise ProviderRefused(f"{provider} refused ({response.status_code}): {_message(response)}")
            if last:
                raise ExternalError(f"{provider}: {method} {httpx.URL(url).path} answered "
                                    f"{response.status_code} {limits.retries + 1} times: {_message(response)}")
            retry_after = response.headers.get("retry-after", "")
            if retry_after.isdigit():
                pause = max(pause, min(float(retry_after), 60.0))
        sleep(pause)
        pause *= 2
    raise AssertionError("unreachable")  # pragma: no cover


Status = tuple[str, str | None]  # ("pending" | "done" | "failed", result URL or failure message)


def wait_for(status: Callable[[], Status], provider: str, limits: Limits, *,
             clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> str:
    """Poll `status` until done (returns the result URL); failed or too slow raise."""
    deadline = clock() + limits.render_timeout
    while True:
        state, detail = status()
        if state == "done":
            if not detail:
                raise ExternalError(f"{provider} said the video is done but gave no result URL")
            return detail
        if state == "failed":
            raise ProviderRefused(f"{provider} could not make the video: {detail or 'no reason given'}")
        if clock() + limits.poll_interval > deadline:
            raise ProviderTimeout(f"{provider} did not finish the video within {limits.render_timeout:g}s")
        sleep(limits.poll_interval)


def download(client: httpx.Client, provider: str, url: str, path: Path, limits: Limits) -> None:
    """Fetch the result into `path` (through a temporary file, so a cut download leaves nothing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.part")
    response = call(client, provider, "GET", url, limits)
    tmp.write_bytes(response.content)
    if not response.content:
        tmp.unlink(missing_ok=True)
        raise ExternalError(f"{provider}: the result file is empty")
    tmp.replace(path)


def duration_of(path: Path) -> float:
    """The length of a media file in seconds (PyAV); ExternalError when it is not a video."""
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise ExternalError(f"{path.name} has no video stream")
            return float(container.duration or 0) / 1_000_000
    except av.error.FFmpegError as exc:
        raise ExternalError(f"{path.name} is not a playable video: {exc}") from exc
