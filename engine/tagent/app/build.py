"""The composition root: every part of the engine is built here, once, from Settings, and passed in.

`tagent run`, the demo, the API tests and the benchmark all call `build_engine`. One Guard and one Settings
are shared by automation (the incident lifecycle, the playbook actions) and chat; one Drafting serves the
API and the automatic drafts; one rules holder is read by matching and by the incident lifecycle.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from pydantic import ValidationError as PydanticValidationError

from tagent.actions import ActionDeps, Registry, build_registry
from tagent.app.clusters import add_remote_sources, connect_clusters
from tagent.app.drafting import Drafting, DraftsUnavailable
from tagent.app.engine import ActiveRules, Clock, Engine, EngineParts
from tagent.app.leader import Elector
from tagent.app.recorder import StoreVersionRecorder
from tagent.app.sources import Have, Intake, attach_traces, build_sources
from tagent.chat.servers import ServerChat
from tagent.chat.service import ChatService
from tagent.clients.kubernetes import KubeClient
from tagent.clients.prometheus import PrometheusClient
from tagent.cloud.aws import AwsCloud
from tagent.cloud.terraform import TerraformProposer
from tagent.debrief.localtime import team_timezone
from tagent.detect import Detector
from tagent.errors import ConfigError, TagentError
from tagent.escalation import Escalation
from tagent.guard import Guard
from tagent.incidents import IncidentService, Knobs, incident_service
from tagent.llm import LLMClient, Redactor
from tagent.llm.chat_fallback import ChatFallbackLLM
from tagent.model import Decision, Incident, utcnow
from tagent.notify import Notifier, TwilioCaller
from tagent.observability import EngineMetrics
from tagent.policy.gitops import RulesSource
from tagent.settings import Settings
from tagent.store import Store
from tagent.traces.service import Traces

log = logging.getLogger("tagent.engine")


def build_engine(settings: Settings, *, kube: KubeClient | None = None, store: Store | None = None,
                 clock: Clock = utcnow, source_interval: float | None = None) -> Engine:
    """Connect to the cluster and the database, load the rules and build every part (nothing starts yet)."""
    aws = _aws(settings)  # None while TAGENT_AWS_REGIONS is empty; checked before anything connects
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    kube = kube or KubeClient.connect(settings.kubeconfig)
    clusters = connect_clusters(settings, kube)  # the remote ones: a bad entry stops the start in one line
    store = store or Store.from_settings(settings)
    metrics = EngineMetrics.create()
    guard = Guard(store, settings, clock)
    rules = RulesSource.from_settings(settings, StoreVersionRecorder(store))
    first = rules.poll()
    current = rules.current()
    if current is None:
        raise TagentError(f"no valid rules version at {settings.rules}: "
                          + ("; ".join(first.problems[:5]) or first.error or "nothing found"))
    active = ActiveRules(current.ruleset)
    detector = Detector(current.ruleset.enabled_rules(), current.version.version, clock=clock,
                        protected_namespaces=tuple(settings.protected_namespaces), home_cluster=settings.cluster_name)
    intake = Intake(metrics)
    prometheus = PrometheusClient(settings.prometheus_url) if settings.prometheus_url else None
    interval = source_interval if source_interval is not None else settings.metrics_interval
    have = Have(settings=settings, kube=kube, store=store, ingest=intake.ingest, clock=clock, interval=interval,
                ruleset=current.ruleset, prometheus=prometheus, aws=aws)
    sources = build_sources(have)
    add_remote_sources(sources, clusters, have)
    notifier = Notifier.from_settings(settings) if settings.notify_urls else None
    caller = _caller(settings)
    registry = action_registry(settings, store, guard, kube, prometheus, notifier, caller, clock, aws=aws,
                               clusters=clusters.remote)
    drafting = Drafting(settings, store, clock)
    traces = Traces.from_settings(settings, store, prometheus=prometheus, clock=clock,
                                  redact=Redactor(settings.secret_values()))  # before incidents: post-mortems quote one
    attach_traces(sources, traces, have)  # the rules' `traces` conditions read RED from it
    leader = Elector.from_settings(settings, kube, store) if settings.leader_election else None
    incidents = _incidents(settings, store, guard, registry, active, notifier, caller, clock, drafting, leader,
                           traces=traces, backlog=lambda: not intake.queue.empty())
    kube_chat = ChatService(kube, store, guard, clock, llm=ChatFallbackLLM.from_settings(settings), actions=registry,
                            protected_namespaces=tuple(settings.protected_namespaces),
                            timezone=lambda: team_timezone(active.ruleset),  # "last night" is the team's night
                            clusters=clusters.remote, home_cluster=clusters.home)
    chat: ChatService | ServerChat = kube_chat if aws is None else ServerChat(kube_chat, aws, actions=registry)
    return Engine(settings, EngineParts(
        kube=kube, store=store, clock=clock, metrics=metrics, guard=guard, rules=rules, active=active,
        detector=detector, intake=intake, sources=sources, prometheus=prometheus, clusters=clusters,
        incidents=incidents, chat=chat,
        leader=leader, drafting=drafting, traces=traces))


def action_registry(settings: Settings, store: Store, guard: Guard, kube: KubeClient,
                    prometheus: PrometheusClient | None, notifier: Notifier | None, caller: TwilioCaller | None,
                    clock: Clock, *, aws: AwsCloud | None = None,
                    clusters: Mapping[str, KubeClient] | None = None) -> Registry:
    """The catalog's actions; with AWS, the aws.* actions get the cloud and, with a forge token, the proposer
    of Terraform pull requests (a Terraform-managed group is changed in its code, not through the API)."""
    return build_registry(ActionDeps(
        store=store, guard=guard, kube=kube, clusters=dict(clusters or {}), home_cluster=settings.cluster_name,
        notifier=notifier, caller=caller, prometheus=prometheus,
        redis_url=settings.redis_url.get_secret_value() if settings.redis_url else None,
        allowed_http_hosts=tuple(settings.allowed_http_hosts), phones=settings.phones,
        dashboard_url=settings.dashboard_url, clock=clock, aws=aws,
        terraform=TerraformProposer.from_settings(settings) if aws is not None else None))


def knobs(settings: Settings) -> Knobs:
    return Knobs(quiet_after=settings.incident_quiet_after, settle=settings.incident_settle,
                 call_grace=settings.call_grace, digest_after=settings.digest_after,
                 sweep_every=min(30.0, settings.incident_quiet_after / 3))


def _incidents(settings: Settings, store: Store, guard: Guard, registry: Registry, active: ActiveRules,
               notifier: Notifier | None, caller: TwilioCaller | None, clock: Clock,
               drafting: Drafting, leader: Elector | None = None, traces: Traces | None = None,
               backlog: Callable[[], bool] | None = None) -> IncidentService:
    escalation = Escalation(store, notifier=notifier, caller=caller, phones=settings.phones,
                            dashboard_url=settings.dashboard_url, redact=Redactor(settings.secret_values()))
    return incident_service(store, guard, registry, active.get, escalation=escalation, clock=clock,
                            owner=settings.engine_identity(), knobs=knobs(settings),
                            secrets=settings.secret_values(), llm=LLMClient.from_settings(settings),
                            workloads=store.inventory.get_many, stale_after=settings.run_stale_after,
                            on_open=_drafts_hook(settings, drafting),
                            leading=leader.leading if leader is not None else None, traces=traces,
                            home_cluster=settings.cluster_name if settings.clusters else None, backlog=backlog)


def _aws(settings: Settings) -> AwsCloud | None:
    """AWS from the aws_* settings; a bad value (region name, schedule, price) is one line at start."""
    try:
        return AwsCloud.from_settings(settings)
    except PydanticValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"invalid TAGENT_AWS_{str(first['loc'][0]).upper()} setting ({where}): "
                          f"{first['msg']}") from None


def _caller(settings: Settings) -> TwilioCaller | None:
    if not settings.twilio_account_sid:
        return None
    try:
        return TwilioCaller.from_settings(settings)
    except ConfigError as exc:
        log.warning("phone calls disabled: %s", exc)
        return None


def _drafts_hook(settings: Settings, drafting: Drafting) -> Callable[[Incident, Decision], None] | None:
    """Draft a playbook for each notify-only incident, when an LLM and a Git rules repository are set."""
    if not settings.draft_on_unmatched:
        return None
    try:
        drafting.proposer()
    except DraftsUnavailable as exc:
        log.info("no automatic playbook drafts: %s", exc)
        return None
    return drafting.on_open
