"""POST /api/v1/incidents/{id}/draft-playbook and the automatic draft of a notify-only incident, on a real
engine whose rules come from a real bare Git repository, with the local OpenAI-compatible server replaying
recorded answers and the local forge server taking the pull request."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from tagent.api.app import create_app
from tagent.app.build import build_engine
from tagent.app.drafting import Drafting
from tagent.app.engine import Engine
from tagent.model import Decision, Incident, WorkloadRef
from tagent.sandbox.receivers import OpenAIReceiver
from tagent.settings import Settings
from tests.api.conftest import API_TOKEN
from tests.drafts.conftest import (  # noqa: F401 - fixtures reused from the drafting tests
    API_KEY,
    Replay,
    cart_incident,
    github,
    llm_server,
    remote_branches,
    rules_repo,
)
from tests.drafts.forge_server import ForgeServer
from tests.policy.gitrepo import RulesRepo


def _drafting(engine: Engine) -> Drafting:
    assert engine.drafting is not None
    return engine.drafting


def _engine(settings: Settings) -> Iterator[Engine]:
    built = build_engine(settings, source_interval=60.0)  # no source needs to run: the tests hand it decisions
    try:
        yield built
    finally:
        _drafting(built).drain(30)
        built.stop(timeout=5)
        built.store.close()
        built.kube.close()


@pytest.fixture
def git_settings(tmp_path: Path, kubeconfig: Path, rules_repo: RulesRepo, llm_server: OpenAIReceiver,  # noqa: F811
                 github: ForgeServer) -> Settings:  # noqa: F811
    return Settings(data_dir=tmp_path / "data", kubeconfig=kubeconfig, rules=str(rules_repo.remote),
                    api_token=SecretStr(API_TOKEN), llm_base_url=llm_server.api_base, llm_api_key=SecretStr(API_KEY),
                    llm_model="sandbox-model", llm_max_retries=0, forge_kind=github.kind, forge_url=github.api_url,
                    forge_token=SecretStr(github.token), forge_repo=github.repo)


@pytest.fixture
def git_engine(git_settings: Settings) -> Iterator[Engine]:
    yield from _engine(git_settings)


def _client(engine: Engine) -> TestClient:
    return TestClient(create_app(engine, settings=engine.settings), headers={"Authorization": f"Bearer {API_TOKEN}"},
                      raise_server_exceptions=False)


def _stored(engine: Engine) -> Incident:
    incident, _ = engine.store.incidents.open(cart_incident()[0])
    return incident


def test_a_requested_draft_arrives_as_a_pushed_branch_and_a_pull_request(
        git_engine: Engine, llm_server: OpenAIReceiver, rules_repo: RulesRepo, github: ForgeServer) -> None:  # noqa: F811
    llm_server.responder = replay = Replay.of("valid")
    incident = _stored(git_engine)
    with _client(git_engine) as api:
        answer = api.post(f"/api/v1/incidents/{incident.id}/draft-playbook")
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["status"] == "proposed" and body["problems"] == []
        assert body["branch"].startswith(f"tagent/draft-{incident.id}-") and body["branch"] in remote_branches(
            rules_repo)
        assert body["pull_request_url"] == "https://github.example/acme/sre-rules/pull/1"
        assert [r.json()["head"] for r in github.requests] == [body["branch"]]
        assert Path(body["description_file"]).is_file()
        assert body["files"] == ["rules/cart-redis-clients-exhausted.yaml", "playbooks/restart-cart-connections.yaml"]
        assert len(replay.bodies) == 1
        timeline = api.get(f"/api/v1/incidents/{incident.id}").json()["timeline"]
        [note] = [e for e in timeline if e["kind"] == "draft"]
        assert body["pull_request_url"] in note["summary"] and note["data"]["branch"] == body["branch"]
        assert api.post("/api/v1/incidents/nope/draft-playbook").status_code == 404


def test_without_an_llm_or_a_git_repository_the_answer_is_409(engine: Engine, engine_settings: Settings,
                                                              llm_server: OpenAIReceiver) -> None:  # noqa: F811
    llm_server.responder = replay = Replay([])
    incident = _stored(engine)
    with _client(engine) as api:
        answer = api.post(f"/api/v1/incidents/{incident.id}/draft-playbook")
    assert answer.status_code == 409
    assert answer.json()["detail"] == ("drafting playbooks is not available: no LLM is configured: set "
                                       "TAGENT_LLM_BASE_URL (and TAGENT_LLM_API_KEY) to draft playbooks")

    # an LLM, but the rules are a plain directory: no branch to propose on
    settings = engine_settings.model_copy(update={
        "llm_base_url": llm_server.api_base, "llm_api_key": SecretStr(API_KEY),
        "data_dir": engine_settings.data_dir / "other"})
    for other in _engine(settings):
        with _client(other) as api:
            answer = api.post(f"/api/v1/incidents/{_stored(other).id}/draft-playbook")
        assert answer.status_code == 409 and "is not a Git repository" in answer.json()["detail"]
    assert replay.bodies == []


def _notify_only(engine: Engine, rule: str = "cart-error-rate", playbook: str | None = None) -> Incident:
    decision = Decision(rule=rule, rules_version=engine.detector.version, playbook=playbook,
                        target=WorkloadRef(namespace="shop", name="cart"))
    handler = engine.handler
    assert handler is not None
    return handler.handle(decision, [])  # type: ignore[return-value]


def test_a_notify_only_incident_is_drafted_once_in_the_background(
        git_engine: Engine, llm_server: OpenAIReceiver, rules_repo: RulesRepo) -> None:  # noqa: F811
    llm_server.responder = replay = Replay.of("valid")
    incident = _notify_only(git_engine)
    assert _notify_only(git_engine).id == incident.id  # the same incident again: joined, not drafted again
    assert _drafting(git_engine).drain(30)
    found = git_engine.store.incidents.get(incident.id)
    assert found is not None
    [note] = [e for e in found.timeline if e.kind == "draft"]
    assert note.summary.startswith("automatic draft (no playbook matched): the LLM drafted Rule "
                                   "cart-redis-clients-exhausted")
    assert note.data["branch"] in remote_branches(rules_repo) and len(replay.bodies) == 1


def test_the_automatic_draft_can_be_turned_off(git_settings: Settings, llm_server: OpenAIReceiver) -> None:  # noqa: F811
    llm_server.responder = replay = Replay.of("valid")
    for engine in _engine(git_settings.model_copy(update={"draft_on_unmatched": False})):
        incident = _notify_only(engine)
        assert _drafting(engine).drain(5)
        found = engine.store.incidents.get(incident.id)
        assert found is not None and not [e for e in found.timeline if e.kind == "draft"]
    assert replay.bodies == []
