"""What the engine hands its decisions to, and the chat service: built over the engine's own store,
guard, cluster client and clock, so chat and automation share one guard and one audit trail."""

from __future__ import annotations

import logging
from collections.abc import Callable

from tagent.actions import ActionDeps, Registry, build_registry
from tagent.app.drafting import DraftsUnavailable, drafting
from tagent.app.engine import Engine
from tagent.chat.service import ChatService
from tagent.errors import ConfigError
from tagent.escalation import Escalation, IncidentManager
from tagent.llm import LLMClient, Redactor
from tagent.llm.chat_fallback import ChatFallbackLLM
from tagent.model import Decision, Incident
from tagent.notify import Notifier, TwilioCaller

log = logging.getLogger("tagent.engine")


def _caller(engine: Engine) -> TwilioCaller | None:
    if not engine.settings.twilio_account_sid:
        return None
    try:
        return TwilioCaller.from_settings(engine.settings)
    except ConfigError as exc:
        log.warning("phone calls disabled: %s", exc)
        return None


def action_registry(engine: Engine, notifier: Notifier | None, caller: TwilioCaller | None) -> Registry:
    s = engine.settings
    return build_registry(ActionDeps(
        store=engine.store, guard=engine.guard, kube=engine.kube, notifier=notifier, caller=caller,
        prometheus=engine.prometheus, redis_url=s.redis_url.get_secret_value() if s.redis_url else None,
        allowed_http_hosts=tuple(s.allowed_http_hosts), phones=s.phones, dashboard_url=s.dashboard_url,
        clock=engine.clock))


def _drafts_hook(engine: Engine) -> Callable[[Incident, Decision], None] | None:
    """Draft a playbook for each notify-only incident, when an LLM and a Git rules repository are set."""
    if not engine.settings.draft_on_unmatched:
        return None
    drafts = drafting(engine)
    try:
        drafts.proposer()
    except DraftsUnavailable as exc:
        log.info("no automatic playbook drafts: %s", exc)
        return None
    return drafts.on_open


def incident_manager(engine: Engine) -> IncidentManager:
    """The engine's DecisionHandler: guard admission, incidents, playbooks, people."""
    s = engine.settings
    notifier = Notifier.from_settings(s) if s.notify_urls else None
    caller = _caller(engine)
    registry = action_registry(engine, notifier, caller)
    escalation = Escalation(engine.store, notifier=notifier, caller=caller, phones=s.phones,
                            dashboard_url=s.dashboard_url, redact=Redactor(s.secret_values()))
    manager = IncidentManager(engine.store, engine.guard, registry, rules=lambda: engine.ruleset,
                              escalation=escalation, clock=engine.clock, secrets=s.secret_values(),
                              workload=engine.store.inventory.get, llm=LLMClient.from_settings(s),
                              call_grace=s.call_grace, on_open=_drafts_hook(engine))
    engine.chat = ChatService(engine.kube, engine.store, engine.guard, engine.clock,
                              llm=ChatFallbackLLM.from_settings(s), actions=registry,
                              protected_namespaces=tuple(s.protected_namespaces))
    return manager
