"""The companion values (charts/tagent/companions/): the observability stack installed beside Tagent from its
own charts. The upstream charts cannot be downloaded here, so what is ours is checked: the files point at
the services this chart makes for the README's release, the Prometheus and Alertmanager configurations
they carry are valid for the real `promtool` and `amtool`, a real Alertmanager running that configuration
delivers an alert to the webhook path with the token, and the labels Loki indexes are the ones Tagent's
log queries group by."""

from __future__ import annotations

import inspect
import json
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tagent.api.routes.traces import OTLP_PATH
from tagent.api.routes.webhooks import alerts
from tagent.clients.loki import LokiClient
from tests.chart.render import CHART, render
from tests.clients import promstack
from tests.serving import serve

COMPANIONS = CHART / "companions"
FILES = ("prometheus.values.yaml", "loki.values.yaml", "otel-collector.values.yaml")
ENGINE = "tagent-engine.tagent.svc:8080"  # the README's release: `tagent` in namespace `tagent`


def values(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((COMPANIONS / name).read_text())
    return loaded


def test_the_companions_are_the_documented_ones() -> None:
    assert sorted(p.name for p in COMPANIONS.glob("*")) == sorted(FILES)
    readme = (CHART / "README.md").read_text()
    for name in FILES:
        assert f"companions/{name}" in readme
        assert f"-f charts/tagent/companions/{name}" in readme  # an install command that uses it


def test_they_point_at_the_engine_service_the_chart_makes() -> None:
    rendered = render(name="tagent", namespace="tagent")
    service = rendered.get("Service", "tagent-engine")
    assert service["spec"]["ports"][0]["port"] == 8080
    prometheus = values("prometheus.values.yaml")
    scrape, = yaml.safe_load(prometheus["extraScrapeConfigs"])
    assert scrape["static_configs"][0]["targets"] == [ENGINE]
    assert scrape["metrics_path"] == "/metrics"
    hook, = prometheus["alertmanager"]["config"]["receivers"][0]["webhook_configs"]
    assert hook["url"] == f"http://{ENGINE}/api/alerts/alertmanager"
    # the path is the engine's Alertmanager webhook route
    assert "/api/alerts/alertmanager" in {getattr(route, "path", "") for route in alerts.routes}


def test_the_urls_tagent_is_given_are_the_companion_services() -> None:
    """The chart README's upgrade command gives Tagent the services these releases create."""
    readme = (CHART / "README.md").read_text()
    assert "observability.prometheusUrl=http://prometheus-server.monitoring.svc" in readme  # release `prometheus`
    assert "observability.lokiUrl=http://loki-gateway.monitoring.svc" in readme  # release `loki`, its gateway
    exporter = values("otel-collector.values.yaml")["config"]["exporters"]["otlphttp/loki"]
    assert exporter["endpoint"] == "http://loki-gateway.monitoring.svc/otlp"
    env = render({"observability": {"prometheusUrl": "http://prometheus-server.monitoring.svc",
                                    "lokiUrl": "http://loki-gateway.monitoring.svc"}}).env("engine")
    assert env["TAGENT_LOKI_URL"]["value"] == "http://loki-gateway.monitoring.svc"


def test_loki_indexes_the_labels_tagent_groups_by() -> None:
    by = inspect.signature(LokiClient.count_over_time).parameters["by"].default
    assert set(by) == {"namespace", "pod"}
    loki = values("loki.values.yaml")["loki"]
    indexed = {a for rule in loki["limits_config"]["otlp_config"]["resource_attributes"]["attributes_config"]
               if rule["action"] == "index_label" for a in rule["attributes"]}
    assert set(by) <= indexed
    assert loki["auth_enabled"] is False  # Tagent's Loki client sends no tenant header
    collector = values("otel-collector.values.yaml")
    assert collector["mode"] == "daemonset" and collector["presets"]["logsCollection"]["enabled"] is True
    copied = {a["key"]: a["from_attribute"] for a in collector["config"]["processors"]["resource/tagent"]["attributes"]}
    assert copied["namespace"] == "k8s.namespace.name" and copied["pod"] == "k8s.pod.name"
    assert indexed <= set(copied)
    pipeline = collector["config"]["service"]["pipelines"]["logs"]
    assert "resource/tagent" in pipeline["processors"] and pipeline["exporters"] == ["otlphttp/loki"]


def test_the_collector_forwards_spans_to_the_engine_receiver_with_the_token() -> None:
    """The traces pipeline ends at the engine service's OTLP receiver (the otlphttp exporter appends
    /v1/traces), authenticated with the token of the same Secret Alertmanager mounts."""
    collector = values("otel-collector.values.yaml")
    exporter = collector["config"]["exporters"]["otlphttp/tagent"]
    assert exporter["endpoint"] == f"http://{ENGINE}" and OTLP_PATH == "/v1/traces"
    env, = (e for e in collector["extraEnvs"] if e["name"] == "TAGENT_TOKEN")
    assert env["valueFrom"]["secretKeyRef"] == {"name": "tagent-webhook", "key": "token"}
    assert exporter["headers"]["Authorization"] == "Bearer ${env:TAGENT_TOKEN}"
    pipeline = collector["config"]["service"]["pipelines"]["traces"]
    assert pipeline["receivers"] == ["otlp"] and pipeline["exporters"] == ["otlphttp/tagent"]
    assert collector["presets"]["kubernetesAttributes"]["enabled"] is True  # k8s.namespace.name on spans
    assert "k8sattributes" in pipeline["processors"] and "resource/service-namespace" in pipeline["processors"]
    assert collector["ports"]["otlp-http"]["hostPort"] == 4318


def test_prometheus_and_alertmanager_configs_are_valid(tmp_path: Path) -> None:
    promtool, amtool = shutil.which("promtool"), shutil.which("amtool")
    if promtool is None or amtool is None:
        pytest.skip("promtool/amtool not installed (make system-deps)")
    prometheus = values("prometheus.values.yaml")
    config = {"global": {"scrape_interval": "1m"}, "scrape_configs": yaml.safe_load(prometheus["extraScrapeConfigs"])}
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    (tmp_path / "alertmanager.yml").write_text(yaml.safe_dump(prometheus["alertmanager"]["config"]))
    for tool, file in ((promtool, "prometheus.yml"), (amtool, "alertmanager.yml")):
        args = [tool, "check", "config", file] if tool == promtool else [tool, "check-config", file]
        done = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
    # and the tools do refuse a broken one
    (tmp_path / "alertmanager.yml").write_text(yaml.safe_dump({"route": {"receiver": "nobody"}, "receivers": []}))
    assert subprocess.run([amtool, "check-config", "alertmanager.yml"], cwd=tmp_path, capture_output=True,
                          timeout=60, check=False).returncode != 0


@contextmanager
def recording_server() -> Iterator[tuple[str, list[tuple[str, str, Any]]]]:
    """Yields (base URL, [(path, Authorization header, JSON body)]) of every POST."""
    seen: list[tuple[str, str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_: object) -> None:
            pass

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            seen.append((self.path, self.headers.get("Authorization", ""), json.loads(raw)))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    with serve(Handler) as url:
        yield url.removeprefix("http://"), seen


@promstack.needs_alertmanager
@pytest.mark.xdist_group("prometheus")
def test_a_real_alertmanager_with_this_config_calls_the_webhook_with_the_token(tmp_path: Path) -> None:
    """The companion's Alertmanager configuration, only the in-cluster address and the mounted Secret's path
    replaced by local ones: an alert reaches /api/alerts/alertmanager with `Authorization: Bearer <token>`."""
    token = "companion-test-token"
    (tmp_path / "token").write_text(token)
    with recording_server() as (address, seen):
        text = yaml.safe_dump(values("prometheus.values.yaml")["alertmanager"]["config"])
        text = text.replace(ENGINE, address).replace("/etc/tagent-webhook/token", str(tmp_path / "token"))
        config = yaml.safe_load(text)
        assert promstack.ALERTMANAGER is not None
        (tmp_path / "am.yml").write_text(yaml.safe_dump(config))
        args = [promstack.ALERTMANAGER, f"--config.file={tmp_path / 'am.yml'}", f"--storage.path={tmp_path / 'data'}",
                "--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=", "--log.level=warn"]
        with promstack._daemon(args, tmp_path, "alertmanager") as url:
            now = datetime.now(UTC)
            alert = [{"labels": {"alertname": "KubePodCrashLooping", "namespace": "shop", "pod": "cart-1"},
                      "startsAt": now.isoformat(), "endsAt": (now + timedelta(minutes=5)).isoformat()}]
            assert httpx.post(f"{url}/api/v2/alerts", json=alert, timeout=5).status_code == 200
            # the companion waits `group_wait` (10 s) before the first notification of a group
            promstack.wait_for(lambda: seen, timeout=40)
    path, authorization, body = seen[0]
    assert path == "/api/alerts/alertmanager"
    assert authorization == f"Bearer {token}"
    assert body["alerts"][0]["labels"]["alertname"] == "KubePodCrashLooping"
