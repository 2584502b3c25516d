"""One Settings object, read once at start (env prefix TAGENT_, optional YAML file); no env reads elsewhere."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from tagent.errors import ConfigError


class ClusterSpec(BaseModel):
    """A remote cluster the engine watches besides its home one (docs/architecture.md, Many clusters)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")  # a DNS-1123 label: it prefixes keys
    kubeconfig: Path
    context: str | None = None  # None: the kubeconfig's current context
    prometheus_url: str | None = None  # the cluster's own Prometheus (none: metrics.k8s.io)
    metrics_scrape_url: str | None = None  # or a text exposition to scrape for request/error rates


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TAGENT_", env_nested_delimiter="__", extra="forbid")

    # where things live
    data_dir: Path = Path(".tagent")
    db_url: SecretStr | None = None  # default: sqlite:///<data_dir>/tagent.db
    kubeconfig: Path | None = None  # None: in-cluster config
    # many clusters: the home cluster (kubeconfig above, or in-cluster) is named `cluster_name`; `clusters` adds
    # remote ones, e.g. TAGENT_CLUSTERS='[{"name": "prod", "kubeconfig": "/etc/tagent/prod.yaml"}]'
    cluster_name: str = Field(default="default", pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
    clusters: list[ClusterSpec] = Field(default_factory=list)

    # rules source (GitOps)
    rules: str = "."  # a directory holding rules/ and playbooks/, or a Git URL
    rules_branch: str = "main"
    rules_path: str = ""
    rules_poll_interval: float = Field(default=30.0, gt=0)
    rules_git_token: SecretStr | None = None
    # PR-based approvals: refuse a rules commit whose signature `git verify-commit` does not accept
    rules_require_signed: bool = False
    rules_allowed_signers: Path | None = None  # SSH signatures: git's gpg.ssh.allowedSignersFile
    rules_gpg_home: Path | None = None  # GPG signatures: a GnuPG home holding the trusted public keys

    # drafted playbooks become pull/merge requests on the forge hosting the rules repository
    forge_kind: Literal["github", "gitlab"] = "github"
    forge_url: str | None = None  # REST API base; default https://api.github.com or https://gitlab.com/api/v4
    forge_token: SecretStr | None = None  # without one, a pushed branch + a description file are the proposal
    forge_repo: str = ""  # "owner/name" on GitHub; project id or "group/name" on GitLab
    draft_on_unmatched: bool = True  # draft a Rule + Playbook in the background for a notify-only incident

    # observability backends (zero-config: metrics.k8s.io and pod logs)
    prometheus_url: str | None = None
    loki_url: str | None = None
    metrics_interval: float = Field(default=15.0, gt=0)
    # without Prometheus: a text exposition scraped directly for request/error rates and p99 latency
    # (the sandbox's /metrics/sandbox, or an app's /metrics)
    metrics_scrape_url: str | None = None
    # traces (docs/traces.md): the OTLP receiver (POST /v1/traces) and the embedded span store, or Tempo/Jaeger
    traces_retention: float = Field(default=86400.0, gt=0)  # seconds a span is kept (24 h)
    traces_max_spans: int = Field(default=2_000_000, ge=1)  # the oldest go first beyond this many
    traces_max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)  # an OTLP body as sent (compressed)
    traces_max_decompressed_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)
    traces_queue_spans: int = Field(default=100_000, ge=1)  # spans waiting for the writer; beyond: 503
    traces_sweep_interval: float = Field(default=60.0, gt=0)
    traces_tempo_url: str | None = None  # read traces from Tempo's HTTP API instead of the embedded store
    traces_jaeger_url: str | None = None  # or from Jaeger's query service

    # safety
    dry_run: bool = False
    protected_namespaces: list[str] = Field(default_factory=lambda: ["kube-system", "tagent"])
    excluded_namespaces: list[str] = Field(default_factory=list)
    # workloads automation never touches: "namespace/name" (any kind) or "namespace/kind/name"
    protected_workloads: list[str] = Field(default_factory=list)
    rate_limit_global_per_hour: int = Field(default=30, ge=0)
    rate_limit_namespace_per_hour: int = Field(default=10, ge=0)
    blast_radius_pod_fraction: float = Field(default=0.5, gt=0, le=1)
    blast_radius_workloads_per_window: int = Field(default=5, ge=1)
    blast_radius_window: float = Field(default=600.0, gt=0)
    max_rollbacks_per_hour: int = Field(default=3, ge=0)
    restart_min_interval: float = Field(default=300.0, ge=0)  # seconds between restarts of one workload
    maintenance_windows: list[str] = Field(default_factory=list)  # "Sat 02:00-04:00 UTC"
    allowed_http_hosts: list[str] = Field(default_factory=list)

    # API
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8080, ge=0, le=65535)
    api_token: SecretStr | None = None
    webhook_token: SecretStr | None = None
    dashboard_url: str = "http://127.0.0.1:8501"

    # people
    notify_urls: dict[str, SecretStr] = Field(default_factory=dict)  # name -> apprise URL
    notify_min_interval: float | None = Field(default=None, ge=0)  # None: apprise's per-service request spacing
    phones: dict[str, str] = Field(default_factory=dict)  # name -> E.164 number
    call_grace: float = Field(default=60.0, ge=0)  # seconds an approval question waits before the phone rings
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_from: str | None = None
    twilio_base_url: str | None = None  # tests: a local server implementing Twilio's REST API
    public_url: str = "http://127.0.0.1:8080"  # where Twilio calls back

    # LLM (any OpenAI-compatible API)
    llm_base_url: str | None = None
    llm_model: str = "gpt-4o-mini"
    llm_api_key: SecretStr | None = None
    llm_timeout: float = Field(default=30.0, gt=0)
    llm_token_budget: int = Field(default=20000, ge=0)
    llm_max_retries: int = Field(default=2, ge=0, le=10)
    llm_input_price_per_mtok: float = Field(default=0.0, ge=0)  # USD per million prompt tokens (cost record)
    llm_output_price_per_mtok: float = Field(default=0.0, ge=0)  # USD per million completion tokens

    redis_url: SecretStr | None = None

    # incidents (docs/incidents.md)
    engine_id: str = ""  # who owns playbook runs; default: host name + data dir, stable across restarts
    run_stale_after: float = Field(default=30.0, gt=0)  # another engine takes a run over after this heartbeat age
    incident_quiet_after: float = Field(default=1800.0, gt=0)  # an idle open incident with no evidence closes
    incident_settle: float = Field(default=900.0, ge=0)  # another rule's decision joins a workload's incident
    digest_after: int = Field(default=5, ge=1)  # pages sent one by one in a storm; the rest go in one digest

    # high availability (docs/ha.md): replicas elect a leader on a coordination.k8s.io Lease; only it acts
    leader_election: bool = False
    lease_name: str = "tagent-engine"
    lease_namespace: str = ""  # default: the pod's namespace (in a cluster), else "default"
    lease_duration: float = Field(default=10.0, ge=2)  # a dead leader is replaced this long after its last renewal
    lease_renew_deadline: float = Field(default=6.0, gt=0)  # the leader stops acting when it could not renew for this
    lease_retry_period: float = Field(default=2.0, gt=0)  # renew (leader) / try to acquire (followers) this often
    advertise_url: str = ""  # where the other replicas reach this one's API (chart: http://$(POD_IP):port)

    # AWS (issue 17; tagent.cloud.settings.AwsSettings.from_settings reads the aws_ fields; off while
    # aws_regions is empty). Credentials are never settings: boto3's standard chain finds them.
    aws_regions: str = ""  # comma-separated: TAGENT_AWS_REGIONS=eu-west-1,us-east-1
    aws_endpoint_url: str | None = None  # another endpoint (LocalStack, moto)
    aws_prices: dict[str, float] = Field(default_factory=dict)  # instance type -> hourly price (over the defaults)
    aws_currency: str = "USD"
    aws_idle_schedule: dict[str, Any] | None = None  # {"from": "19:00", "to": "07:00", "days": [...], "timezone"}
    aws_protected_regions: str = ""  # comma-separated
    aws_protected_accounts: str = ""  # comma-separated
    aws_terraform: dict[str, dict[str, str]] = Field(default_factory=dict)  # group -> repo_url, forge_repo, ...

    # Slack and Teams (docs/chatops.md; tagent.channels.settings.ChannelSettings.from_settings reads them)
    slack_signing_secret: SecretStr | None = None
    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = None  # xapp-...: Socket Mode (no ingress needed)
    slack_api_url: str = "https://slack.com/api/"
    slack_users: dict[str, str] = Field(default_factory=dict)  # Slack id or email -> "user:role"
    slack_read_only_channels: list[str] = Field(default_factory=list)
    slack_incident_channel: str | None = None  # where new incidents are posted with their buttons
    teams_app_id: str | None = None
    teams_app_password: SecretStr | None = None
    teams_openid_url: str = "https://login.botframework.com/v1/.well-known/openidconfiguration"
    teams_token_url: str = "https://login.microsoftonline.com/botframework.com/oauth2/v2.0/token"  # noqa: S105
    teams_users: dict[str, str] = Field(default_factory=dict)  # AAD/Teams id -> "user:role"
    teams_incident_service_url: str | None = None
    teams_incident_conversation: str | None = None
    api_users: dict[str, SecretStr] = Field(default_factory=dict)  # personal API tokens: user -> token

    # debrief video (tagent.debrief.video.make_provider)
    debrief_video: str = "local"  # local, d-id or heygen
    debrief_voice: str = "en-us"  # the local avatar's espeak voice
    did_api_key: SecretStr | None = None
    did_source_url: str = ""
    did_voice: str = "en-US-JennyNeural"
    did_url: str | None = None  # default: D-ID's API
    heygen_api_key: SecretStr | None = None
    heygen_avatar_id: str = ""
    heygen_voice_id: str = ""
    heygen_url: str | None = None  # default: HeyGen's API

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, file_secret_settings

    @property
    def database_url(self) -> str:
        if self.db_url is not None:
            return self.db_url.get_secret_value()
        return f"sqlite:///{(self.data_dir / 'tagent.db').resolve()}"

    def engine_identity(self) -> str:
        """`engine_id`, or this host plus the data dir: the same engine restarting owns its runs at once."""
        if self.engine_id:
            return self.engine_id
        import hashlib
        import socket

        where = hashlib.blake2b(str(self.data_dir.resolve()).encode(), digest_size=4).hexdigest()
        return f"{socket.gethostname()}:{where}"

    def secret_values(self) -> list[str]:
        """Every configured secret value, for redaction in logs, LLM prompts and post-mortems."""
        found: list[str] = []
        for value in self.__dict__.values():
            if isinstance(value, SecretStr):
                found.append(value.get_secret_value())
            elif isinstance(value, dict):
                found.extend(v.get_secret_value() for v in value.values() if isinstance(v, SecretStr))
        return [s for s in found if s]


def load_settings(path: Path | None = None, **overrides: Any) -> Settings:
    """Settings from an optional YAML file, then TAGENT_ env vars, then explicit overrides."""
    data: dict[str, Any] = {}
    if path is not None:
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise ConfigError(f"{path}: cannot read settings: {exc}") from exc
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError(f"{path}: settings must be a mapping")
        data.update(loaded or {})
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        env_only = Settings()
    except Exception as exc:
        raise ConfigError(f"invalid TAGENT_ environment settings: {exc}") from exc
    merged = {**{k: getattr(env_only, k) for k in env_only.model_fields_set}, **data}
    try:
        return Settings(**merged)
    except Exception as exc:
        raise ConfigError(f"invalid settings: {exc}") from exc
