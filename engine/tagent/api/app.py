"""The engine's HTTP API: `create_app(engine, settings=...)` builds one FastAPI app around one Engine.

    /healthz /readyz /metrics                  no auth (probes, Prometheus)
    /api/v1/...                                bearer TAGENT_API_TOKEN (the dashboard holds it server-side)
    /api/alerts/alertmanager                   bearer TAGENT_WEBHOOK_TOKEN
    /api/v1/twilio/{gather,status}/{id}        X-Twilio-Signature (checked against public_url)

CORS is off (no middleware): the dashboard calls the API from its server, never from a browser. The
contract is docs/api.md; OpenAPI at /docs and /openapi.json.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from fastapi import Depends, FastAPI

from tagent.api import errors
from tagent.api.auth import bearer_dependency
from tagent.api.deps import ChatBackend
from tagent.api.routes import chat, cluster, health, incidents, records, rules, webhooks
from tagent.app.engine import Engine
from tagent.chat.service import ChatService
from tagent.settings import Settings

API_PREFIX = "/api/v1"


def _version() -> str:
    try:
        return version("tagent")
    except PackageNotFoundError:
        return "0"


def create_app(engine: Engine, *, settings: Settings, chat_service: ChatBackend | None = None) -> FastAPI:
    """The API for `engine`. Chat: `chat_service`, else the engine's own (`engine.chat`) when it has one, else
    a `ChatService` over the engine's cluster client, store and clock (same guard state: the store)."""
    app = FastAPI(title="Tagent engine API", version=_version(),
                  description="REST for the dashboard, webhooks for Alertmanager and Twilio. See docs/api.md.",
                  docs_url="/docs", redoc_url=None, openapi_url="/openapi.json")
    app.state.engine = engine
    app.state.settings = settings
    app.state.chat = chat_service or getattr(engine, "chat", None) or ChatService.from_settings(
        settings, kube=engine.kube, store=engine.store, clock=engine.clock)
    api_auth = [Depends(bearer_dependency(settings.api_token, "tagent-api"))]
    app.include_router(health.router)
    for module in (cluster, incidents, rules, records, chat):
        app.include_router(module.router, prefix=API_PREFIX, dependencies=api_auth)
    app.include_router(webhooks.alerts, dependencies=[Depends(bearer_dependency(settings.webhook_token,
                                                                                "tagent-webhooks"))])
    app.include_router(webhooks.twilio)
    errors.install(app)
    return app
