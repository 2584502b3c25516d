"""The incident page's "Draft a playbook (LLM)" button with Streamlit's AppTest, against a real engine API:
a proposal shows its branch and pull request link; a 409 (no LLM configured) disables the button with the
API's sentence as the explanation."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tagent.api.app import create_app
from tagent.app.engine import Engine
from tagent.sandbox.receivers import OpenAIReceiver
from tagent.settings import Settings
from tests.api.conftest import API_TOKEN
from tests.api.server import serve
from tests.api.test_drafts import git_engine, git_settings  # noqa: F401 - fixtures reused from the API tests
from tests.dashboard.conftest import AppRunner
from tests.drafts.conftest import Replay, cart_incident, github, llm_server, remote_branches, rules_repo  # noqa: F401
from tests.policy.gitrepo import RulesRepo


def _all_text(at: object) -> str:
    parts = []
    for kind in ("markdown", "caption", "error", "success"):
        parts.extend(str(e.value) for e in getattr(at, kind))
    return "\n".join(parts)


@pytest.fixture
def git_api(git_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:  # noqa: F811
    with serve(create_app(git_engine, settings=git_engine.settings)) as url:
        monkeypatch.setenv("TAGENT_API_URL", url)
        monkeypatch.setenv("TAGENT_API_TOKEN", API_TOKEN)
        yield url


def test_the_button_shows_the_branch_and_the_pull_request(
        git_api: str, git_engine: Engine, app_test: AppRunner, llm_server: OpenAIReceiver,  # noqa: F811
        rules_repo: RulesRepo) -> None:  # noqa: F811
    llm_server.responder = Replay.of("valid")
    incident, _ = git_engine.store.incidents.open(cart_incident()[0])
    at = app_test("", {"incident": incident.id})
    assert not at.exception and not at.button(key="draft").disabled
    at.button(key="draft").click().run()
    assert not at.exception, [e.value for e in at.exception]
    [branch] = [b for b in remote_branches(rules_repo) if b != "main"]
    text = _all_text(at)
    assert f"on branch `{branch}`" in text, text
    assert "[pull request](https://github.example/acme/sre-rules/pull/1)" in text


def test_without_an_llm_the_button_is_disabled_with_the_reason(
        live_api: str, engine: Engine, engine_settings: Settings, app_test: AppRunner) -> None:
    incident, _ = engine.store.incidents.open(cart_incident()[0])
    at = app_test("", {"incident": incident.id})
    at.button(key="draft").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.button(key="draft").disabled
    assert "drafting playbooks is not available: no LLM is configured" in _all_text(at)
