"""The engine's HTTP API: `create_app(engine, settings=...)` builds one FastAPI app around one Engine.

    /healthz /readyz /metrics /api/v1/health   no auth (probes, Prometheus; health names the leader)
    /api/v1/...                                bearer TAGENT_API_TOKEN (the dashboard holds it server-side)
    /api/alerts/alertmanager                   bearer TAGENT_WEBHOOK_TOKEN (TAGENT_API_TOKEN when it is unset)
    /v1/traces                                 the same (OTLP/HTTP spans from the collector; docs/traces.md)
    /api/v1/twilio/{gather,status}/{id}        X-Twilio-Signature (checked against public_url)
    /api/slack/{events,commands,interactions}  X-Slack-Signature (the app's signing secret, 5-minute window)
    /api/teams/messages                        Bot Framework JWT (the OpenID metadata's keys)

Listening beyond loopback needs a token for each realm (`require_tokens`): without one the app is not built.
Every body is size- and depth-limited before a route parses it (`tagent.api.limits`: 413, 400).

CORS is off (no CORS middleware): the dashboard calls the API from its server, never from a browser. The
contract is docs/api.md; OpenAPI at /docs and /openapi.json.
"""

from __future__ import annotations

import ipaddress
import logging
from importlib.metadata import PackageNotFoundError, version

from fastapi import Depends, FastAPI

from tagent.api import errors
from tagent.api.auth import bearer_dependency
from tagent.api.deps import ChatBackend
from tagent.api.forward import LeaderForwarding
from tagent.api.identity import identity_dependency
from tagent.api.limits import MAX_BODY_BYTES, MAX_JSON_DEPTH, BodyLimits
from tagent.api.routes import chat, cloud, cluster, debrief, health, incidents, records, rules, slack, teams, webhooks
from tagent.api.routes import runtime as runtime_panels
from tagent.api.routes import traces as trace_routes
from tagent.app.engine import Engine
from tagent.channels.wiring import attach_channels
from tagent.chat.service import ChatService
from tagent.errors import ConfigError
from tagent.settings import Settings

API_PREFIX = "/api/v1"
log = logging.getLogger("tagent.api")


def _version() -> str:
    try:
        return version("tagent")
    except PackageNotFoundError:
        return "0"


def _bad_body(engine: Engine, path: str, why: str) -> None:
    """A body refused before routing counts as bad input of its source (alertmanager, or api) and is logged."""
    source = "alertmanager" if path == webhooks.ALERTS_PATH else "api"
    engine.metrics.bad_input.labels(source=source).inc()
    log.warning("%s: %s", path, why)


def is_loopback(host: str) -> bool:
    """Whether listening on `host` keeps the API on this machine (127.0.0.0/8, ::1, localhost)."""
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve anywhere


def require_tokens(settings: Settings) -> None:
    """Refuse an open API or webhook on a non-loopback address (ConfigError, one line). The webhook takes the
    API token when TAGENT_WEBHOOK_TOKEN is unset, so TAGENT_API_TOKEN alone protects both realms."""
    if settings.api_token is None and not is_loopback(settings.api_host):
        raise ConfigError(f"the API listens on {settings.api_host}, beyond loopback, without a token: set "
                          "TAGENT_API_TOKEN (and TAGENT_WEBHOOK_TOKEN for Alertmanager), or listen on 127.0.0.1")


def create_app(engine: Engine, *, settings: Settings, chat_service: ChatBackend | None = None,
               max_body_bytes: int = MAX_BODY_BYTES, max_json_depth: int = MAX_JSON_DEPTH) -> FastAPI:
    """The API for `engine`. Chat: `chat_service`, else the engine's own (`engine.chat`) when it has one, else
    a `ChatService` over the engine's cluster client, store and clock (same guard state: the store).

    Raises ConfigError when `settings.api_host` is beyond loopback and no token is set (`require_tokens`)."""
    require_tokens(settings)
    app = FastAPI(title="Tagent engine API", version=_version(),
                  description="REST for the dashboard, webhooks for Alertmanager and Twilio. See docs/api.md.",
                  docs_url="/docs", redoc_url=None, openapi_url="/openapi.json")
    app.state.engine = engine
    app.state.settings = settings
    app.state.chat = chat_service or getattr(engine, "chat", None) or ChatService.from_settings(
        settings, kube=engine.kube, store=engine.store, clock=engine.clock)
    app.state.api_users = dict(getattr(settings, "api_users", None) or {})  # personal tokens: user -> token
    attach_channels(app, engine, settings, app.state.chat)  # channel settings, bots, incident alerts, Socket Mode
    api_auth = [Depends(identity_dependency(settings.api_token, "tagent-api"))]
    app.include_router(health.router)
    for module in (cluster, incidents, rules, records, chat, debrief, cloud):
        app.include_router(module.router, prefix=API_PREFIX, dependencies=api_auth)
    app.include_router(runtime_panels.router, prefix=API_PREFIX, dependencies=api_auth)
    webhook_token = settings.webhook_token or settings.api_token
    app.include_router(webhooks.alerts, dependencies=[Depends(bearer_dependency(webhook_token, "tagent-webhooks"))])
    app.include_router(webhooks.twilio)
    app.include_router(trace_routes.router, prefix=API_PREFIX, dependencies=api_auth)
    app.include_router(trace_routes.otlp, dependencies=[Depends(bearer_dependency(webhook_token, "tagent-webhooks"))])
    app.include_router(slack.router)  # own auth: Slack's request signature
    app.include_router(teams.router)  # own auth: the Bot Framework's JWT
    errors.install(app)
    app.add_middleware(LeaderForwarding, engine=engine)  # a follower's mutating calls go to the leader
    app.add_middleware(BodyLimits, max_bytes=max_body_bytes, max_depth=max_json_depth,
                       refused=lambda path, why: _bad_body(engine, path, why), own_limits=(trace_routes.OTLP_PATH,))
    return app
