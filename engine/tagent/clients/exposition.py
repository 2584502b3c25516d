"""Scrape one Prometheus text exposition directly (an app's or the sandbox's `/metrics`), for when no
Prometheus server is configured. Samples come back flat, the series name in `Sample.labels["__name__"]`."""

from __future__ import annotations

import time

import httpx
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from tagent.clients.prometheus import Sample
from tagent.errors import PermanentError, TransientError


class ExpositionClient:
    def __init__(self, url: str, *, timeout: float = 5.0, token: SecretStr | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        headers = {"Authorization": f"Bearer {token.get_secret_value()}"} if token is not None else {}
        self.url = url
        self.timeout = timeout
        self._http = httpx.Client(timeout=timeout, headers=headers, transport=transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ExpositionClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def scrape(self) -> list[Sample]:
        try:
            response = self._http.get(self.url, headers={"Accept": "text/plain;version=0.0.4"})
        except httpx.TimeoutException as exc:
            raise TransientError(f"scrape {self.url}: timed out after {self.timeout}s") from exc
        except httpx.HTTPError as exc:
            raise TransientError(f"scrape {self.url}: {exc}") from exc
        if response.status_code != 200:
            kind = TransientError if response.status_code >= 500 or response.status_code == 429 else PermanentError
            raise kind(f"scrape {self.url}: HTTP {response.status_code}")
        now = time.time()
        try:
            return [Sample(labels={"__name__": s.name, **s.labels}, value=float(s.value),
                           timestamp=float(s.timestamp) if s.timestamp is not None else now)
                    for family in text_string_to_metric_families(response.text) for s in family.samples]
        except ValueError as exc:
            raise TransientError(f"scrape {self.url}: malformed exposition: {exc}") from exc
