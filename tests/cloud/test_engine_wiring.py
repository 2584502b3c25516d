"""The composition root wires AWS in when TAGENT_AWS_REGIONS names regions: the engine's chat answers about
servers (a real moto server), its sources include the cloud source, which follows a rules swap; with AWS off
none of it exists."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tagent.app.build import build_engine
from tagent.app.engine import Engine
from tagent.chat.reply import ReplyStatus
from tagent.chat.servers import ServerChat
from tagent.settings import Settings
from tagent.sources.cloud import CloudSource, cloud_queries
from tests.cloud.motoserver import CREDENTIALS, REGION, MotoAws

REPO = Path(__file__).resolve().parents[2]


def aws_settings(tmp_path: Path, kubeconfig: Path, moto: MotoAws | None) -> Settings:
    rules = tmp_path / "rules-pack"
    for part in ("rules", "playbooks"):
        shutil.copytree(REPO / part, rules / part)
    return Settings(data_dir=tmp_path / "data", kubeconfig=kubeconfig, rules=str(rules),
                    aws_regions=REGION if moto is not None else "", aws_endpoint_url=moto.url if moto else None)


@pytest.fixture
def aws_engine(tmp_path: Path, kubeconfig: Path, moto: MotoAws, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    for name, value in CREDENTIALS.items():  # boto3's standard chain, as in a pod with an IAM role
        monkeypatch.setenv(name, value)
    built = build_engine(aws_settings(tmp_path, kubeconfig, moto), source_interval=1.0)
    try:
        yield built
    finally:
        built.stop(timeout=5)
        built.store.close()
        built.kube.close()


def cloud_source(engine: Engine) -> CloudSource:
    found = [s for s in engine.sources if isinstance(s, CloudSource)]
    assert len(found) == 1, [s.name for s in engine.sources]
    return found[0]


def test_the_engine_with_aws_lists_servers_in_chat_and_polls_them(aws_engine: Engine, moto: MotoAws) -> None:
    web = moto.launch("web-1")
    assert isinstance(aws_engine.chat, ServerChat)
    listing = aws_engine.chat.ask("list the servers", "alice")
    assert listing.status is ReplyStatus.answered, listing.answer
    assert listing.answer.startswith("AWS: 1 running EC2 instance") and f"web-1 ({web}): running" in listing.answer
    assert aws_engine.chat.ask("restart payment-service", "alice").intent.target is not None  # still Kubernetes

    source = cloud_source(aws_engine)
    assert source.queries == tuple(cloud_queries(aws_engine.ruleset.enabled_rules())) != ()
    source.poll_once()
    assert [s.id for s in source.servers] == [web]


def test_a_rules_swap_repoints_the_cloud_conditions(aws_engine: Engine) -> None:
    source = cloud_source(aws_engine)
    before = source.queries
    assert before
    without_cloud = dataclasses.replace(aws_engine.ruleset, rules={
        name: rule for name, rule in aws_engine.ruleset.rules.items()
        if not any(getattr(c, "cloud", None) for c in rule.spec.when.conditions)})
    aws_engine._sources.set_queries(without_cloud)
    assert source.queries == ()
    aws_engine._sources.set_queries(aws_engine.ruleset)
    assert source.queries == before


def test_without_aws_there_is_no_cloud_source_and_no_server_chat(tmp_path: Path, kubeconfig: Path) -> None:
    built = build_engine(aws_settings(tmp_path, kubeconfig, None), source_interval=1.0)
    try:
        assert not any(isinstance(s, CloudSource) for s in built.sources)
        assert not isinstance(built.chat, ServerChat) and built.chat is not None
    finally:
        built.store.close()
        built.kube.close()


def test_aws_settings_come_from_the_environment_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from tagent.cloud.settings import AwsSettings
    from tagent.settings import load_settings

    monkeypatch.setenv("TAGENT_AWS_REGIONS", "eu-west-1, us-east-1")
    monkeypatch.setenv("TAGENT_AWS_PROTECTED_ACCOUNTS", "111122223333")
    monkeypatch.setenv("TAGENT_AWS_IDLE_SCHEDULE", '{"from": "20:00", "to": "06:00", "timezone": "Asia/Kolkata"}')
    monkeypatch.setenv("TAGENT_AWS_PRICES", '{"t3.micro": 0.02}')
    aws = AwsSettings.from_settings(load_settings())
    assert aws.regions == ("eu-west-1", "us-east-1") and aws.protected_accounts == ("111122223333",)
    assert str(aws.idle_schedule) == "20:00-06:00 Asia/Kolkata every day"
    assert aws.prices["t3.micro"] == 0.02 and aws.prices["m5.large"] == 0.096  # over the defaults


def test_a_bad_aws_setting_fails_the_start_in_one_line(tmp_path: Path, kubeconfig: Path) -> None:
    from tagent.errors import ConfigError

    settings = aws_settings(tmp_path, kubeconfig, None).model_copy(update={"aws_regions": "eu-west-1,Mars"})
    with pytest.raises(ConfigError, match=r"^invalid TAGENT_AWS_REGIONS setting \(regions\): .*'Mars'") as caught:
        build_engine(settings)
    assert "\n" not in str(caught.value)
