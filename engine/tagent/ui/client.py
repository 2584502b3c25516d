"""The dashboard's only way to the engine: a small httpx client for the engine's HTTP API (docs/api.md).

The token stays here, on the dashboard's server: it is read from the environment the `tagent dashboard`
command sets (TAGENT_API_URL, TAGENT_API_TOKEN), sent as a bearer header, and never rendered or logged
(`repr` hides it). Failures become two exceptions the pages turn into banners: `ApiUnavailable` (nothing
answered) and `ApiError` (the API answered with an error sentence).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

DEFAULT_URL = "http://127.0.0.1:8080"
URL_ENV = "TAGENT_API_URL"
DRAFT_TIMEOUT = 300.0
TOKEN_ENV = "TAGENT_API_TOKEN"  # noqa: S105 - the name of the variable, not a secret


class ApiUnavailable(Exception):
    """The API did not answer (refused, timed out, DNS)."""


class ApiError(Exception):
    """The API answered with an error; `detail` is its one-sentence explanation."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"HTTP {status}: {detail}")
        self.status = status
        self.detail = detail


def _seg(value: str) -> str:
    return quote(value, safe="")


class ApiClient:
    def __init__(self, base_url: str = DEFAULT_URL, token: str | None = None, *, timeout: float = 15.0,
                 transport: httpx.BaseTransport | None = None, cluster: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.cluster = cluster  # the sidebar's pick: the list routes show only its records (None: every cluster)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout, transport=transport)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ApiClient:
        env = os.environ if environ is None else environ
        return cls(env.get(URL_ENV) or DEFAULT_URL, env.get(TOKEN_ENV) or None)

    def __repr__(self) -> str:
        return f"ApiClient({self.base_url!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- transport --------------------------------------------------------------------------------
    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise ApiUnavailable(f"cannot reach the Tagent API at {self.base_url} "
                                 f"({type(exc).__name__}: {exc or 'no answer'})") from None
        if response.status_code == 401:
            raise ApiError(401, "the API refused the dashboard's token: set TAGENT_API_TOKEN (or --token) to the "
                                "engine's API token")
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail")
            except ValueError:
                detail = None
            raise ApiError(response.status_code, str(detail or response.reason_phrase or "error"))
        return response

    def get(self, path: str, **params: Any) -> Any:
        clean = {k: v for k, v in params.items() if v is not None and v != ""}
        return self._send("GET", path, params=clean).json()

    def post(self, path: str, body: Any | None = None, timeout: float | None = None) -> Any:
        extra = {"timeout": timeout} if timeout is not None else {}
        response = self._send("POST", path, json=body if body is not None else {}, **extra)
        return response.json() if response.content else None

    # -- the API, one method per route the dashboard uses --------------------------------------------
    def health(self) -> dict[str, Any]:
        return dict(self.get("/healthz"))

    def overview(self) -> dict[str, Any]:
        return dict(self.get("/api/v1/overview"))

    def clusters(self) -> list[dict[str, Any]]:
        """The clusters the engine watches, the home one first (docs/architecture.md, Many clusters)."""
        return list(self.get("/api/v1/clusters"))

    def inventory(self) -> list[dict[str, Any]]:
        return list(self.get("/api/v1/inventory", cluster=self.cluster))

    def nodes(self) -> list[dict[str, Any]]:
        return list(self.get("/api/v1/nodes"))

    def workload(self, namespace: str, name: str, kind: str | None = None, minutes: int = 30) -> dict[str, Any]:
        return dict(self.get(f"/api/v1/workloads/{_seg(namespace)}/{_seg(name)}", kind=kind, minutes=minutes))

    def incidents(self, status: str | None = None, severity: str | None = None,
                  limit: int = 100) -> list[dict[str, Any]]:
        return list(self.get("/api/v1/incidents", status=status, severity=severity, limit=limit,
                             cluster=self.cluster))

    def incident(self, incident_id: str) -> dict[str, Any]:
        return dict(self.get(f"/api/v1/incidents/{_seg(incident_id)}"))

    def acknowledge(self, incident_id: str, by: str) -> dict[str, Any]:
        return dict(self.post(f"/api/v1/incidents/{_seg(incident_id)}/ack", {"by": by}))

    def approve(self, incident_id: str, by: str) -> dict[str, Any]:
        return dict(self.post(f"/api/v1/incidents/{_seg(incident_id)}/approve", {"by": by}))

    def deny(self, incident_id: str, by: str, reason: str) -> dict[str, Any]:
        return dict(self.post(f"/api/v1/incidents/{_seg(incident_id)}/deny", {"by": by, "reason": reason}))

    def draft_playbook(self, incident_id: str) -> dict[str, Any]:
        """The LLM drafts a Rule + Playbook (minutes at worst: the LLM, its retry and a Git push)."""
        return dict(self.post(f"/api/v1/incidents/{_seg(incident_id)}/draft-playbook", timeout=DRAFT_TIMEOUT))

    def postmortems(self, query: str | None = None) -> list[dict[str, Any]]:
        return list(self.get("/api/v1/postmortems", q=query))

    def postmortem(self, incident_id: str) -> dict[str, Any]:
        return dict(self.get(f"/api/v1/postmortems/{_seg(incident_id)}"))

    def postmortem_markdown(self, incident_id: str) -> str:
        return self._send("GET", f"/api/v1/postmortems/{_seg(incident_id)}", params={"format": "md"}).text

    def rules(self) -> dict[str, Any]:
        return dict(self.get("/api/v1/rules"))

    def sample_events(self, rule: str) -> list[dict[str, Any]]:
        return list(self.get(f"/api/v1/rules/{_seg(rule)}/sample-events"))

    def test_rule(self, rule: str, event: Any) -> dict[str, Any]:
        return dict(self.post("/api/v1/rules/test", {"rule": rule, "event": event}))

    def reload_rules(self) -> dict[str, Any]:
        return dict(self.post("/api/v1/rules/reload"))

    def decisions(self, limit: int = 50) -> list[dict[str, Any]]:
        return list(self.get("/api/v1/decisions", limit=limit, cluster=self.cluster))

    def audit(self, limit: int = 50) -> list[dict[str, Any]]:
        return list(self.get("/api/v1/audit", limit=limit, cluster=self.cluster))

    def savings(self) -> dict[str, Any]:
        return dict(self.get("/api/v1/savings"))

    def cloud_servers(self) -> dict[str, Any]:
        """EC2 instances and Auto Scaling groups the engine watches (`configured: false` without AWS)."""
        return dict(self.get("/api/v1/cloud/servers"))

    def red(self, namespace: str, name: str, window: str = "15m") -> dict[str, Any]:
        """Rate, error ratio and p50/p95/p99 of a service over `window`, with where they came from."""
        return dict(self.get(f"/api/v1/services/{_seg(namespace)}/{_seg(name)}/red", window=window))

    def resource(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The OpenTelemetry resource attributes a service's spans carried; None when it never sent any."""
        try:
            return dict(self.get(f"/api/v1/services/{_seg(namespace)}/{_seg(name)}/resource"))
        except ApiError as exc:
            if exc.status in (404, 503):  # never sent spans, or an engine that keeps none
                return None
            raise

    def traces(self, service: str | None = None, *, limit: int = 20, errors: bool | None = None,
               order: str = "recent", min_duration_ms: float | None = None, since: str | None = None,
               until: str | None = None) -> list[dict[str, Any]]:
        """Trace summaries (root, start, duration, error, services), newest or slowest first."""
        flag = None if errors is None else ("true" if errors else "false")
        return list(self.get("/api/v1/traces", service=service, limit=limit, errors=flag, order=order,
                             min_duration_ms=min_duration_ms, since=since, until=until)["traces"])

    def trace(self, trace_id: str) -> dict[str, Any]:
        """One trace with all its spans."""
        return dict(self.get(f"/api/v1/traces/{_seg(trace_id)}"))

    def incident_traces(self, incident_id: str, limit: int = 20) -> dict[str, Any]:
        """The traces of an incident's service in its window, errors first."""
        return dict(self.get(f"/api/v1/incidents/{_seg(incident_id)}/traces", limit=limit))

    def runtime_metrics(self, namespace: str, name: str, runtime: str, minutes: int = 30) -> dict[str, Any]:
        """The runtime's own series (JVM heap, event-loop lag, goroutines, GC) and what is missing."""
        return dict(self.get(f"/api/v1/services/{_seg(namespace)}/{_seg(name)}/runtime", runtime=runtime,
                             minutes=minutes))

    def chat(self, text: str, user: str = "dashboard") -> dict[str, Any]:
        return dict(self.post("/api/v1/chat", {"text": text, "user": user}))

    def confirm(self, token: str, typed_name: str, user: str = "dashboard") -> dict[str, Any]:
        return dict(self.post("/api/v1/chat/confirm", {"token": token, "typed_name": typed_name, "user": user}))

    def decline(self, token: str, user: str = "dashboard") -> dict[str, Any]:
        return dict(self.post("/api/v1/chat/decline", {"token": token, "user": user}))
