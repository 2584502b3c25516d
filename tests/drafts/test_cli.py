"""`tagent draft-playbook --incident ID`: the command module, on an app of its own (the lead registers it
in cli/commands.py), with a real SQLite store, a real bare repository and the local LLM and forge servers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from tagent.cli import draft_cmd
from tagent.sandbox.receivers import OpenAIReceiver
from tagent.store import Store
from tests.drafts.conftest import API_KEY, Replay, cart_incident, remote_branches
from tests.drafts.forge_server import ForgeServer
from tests.policy.gitrepo import RulesRepo


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer(add_completion=False)
    draft_cmd.register(app)

    @app.callback()
    def _root() -> None:  # keep `draft-playbook` a subcommand, as in the real CLI
        pass

    return app


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'tagent.db'}"
    with Store.open(url) as store:
        store.incidents.open(cart_incident()[0])
    return url


def env_for(server: OpenAIReceiver, tmp_path: Path, forge: ForgeServer | None = None) -> dict[str, str]:
    env = {"TAGENT_LLM_BASE_URL": server.api_base, "TAGENT_LLM_API_KEY": API_KEY,
           "TAGENT_LLM_MODEL": "sandbox-model", "TAGENT_LLM_MAX_RETRIES": "0",
           "TAGENT_DATA_DIR": str(tmp_path / "data")}
    if forge is not None:
        env.update(TAGENT_FORGE_KIND=forge.kind, TAGENT_FORGE_URL=forge.api_url, TAGENT_FORGE_TOKEN=forge.token,
                   TAGENT_FORGE_REPO=forge.repo)
    return env


def test_draft_playbook_proposes_a_branch_and_a_pull_request(
        app: typer.Typer, db: str, llm_server: OpenAIReceiver, rules_repo: RulesRepo, github: ForgeServer,
        tmp_path: Path) -> None:
    llm_server.responder = Replay.of("valid")
    result = CliRunner().invoke(app, ["draft-playbook", "--incident", "inc-7f3a9c2e", "--db", db, "--rules-repo",
                                      str(rules_repo.remote), "--output", "json"],
                                env=env_for(llm_server, tmp_path, github))
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["status"] == "proposed" and out["branch"] in remote_branches(rules_repo)
    assert out["pull_request"]["url"] == "https://github.example/acme/sre-rules/pull/1"
    assert out["files"] == ["rules/cart-redis-clients-exhausted.yaml", "playbooks/restart-cart-connections.yaml"]


def test_text_output_and_an_invalid_draft_exits_1_with_its_problems(
        app: typer.Typer, db: str, llm_server: OpenAIReceiver, rules_repo: RulesRepo, tmp_path: Path) -> None:
    llm_server.responder = Replay.of("injected")
    result = CliRunner().invoke(app, ["draft-playbook", "--incident", "inc-7f3a9c2e", "--db", db, "--rules-repo",
                                      str(rules_repo.remote)], env=env_for(llm_server, tmp_path))
    assert result.exit_code == 1
    assert "is invalid after 2 attempt(s); nothing pushed" in result.stdout
    assert "unknown action 'kubernetes.delete_namespace'" in result.stdout
    assert remote_branches(rules_repo) == ["main"]


@pytest.mark.parametrize("args, env_extra, message", [
    (["--incident", "nope"], {}, "error: no incident 'nope' in the store"),
    (["--incident", "inc-7f3a9c2e", "--rules-repo", "{tmp}"], {}, "is not a Git repository"),
    (["--incident", "inc-7f3a9c2e"], {"TAGENT_LLM_BASE_URL": "", "TAGENT_LLM_API_KEY": ""},
     "error: no LLM is configured"),
])
def test_user_errors_are_one_line(app: typer.Typer, db: str, llm_server: OpenAIReceiver, rules_repo: RulesRepo,
                                  tmp_path: Path, args: list[str], env_extra: dict[str, str], message: str) -> None:
    env = {**env_for(llm_server, tmp_path), **env_extra}
    env = {k: v for k, v in env.items() if v}
    argv = ["draft-playbook", "--db", db, "--rules-repo", str(rules_repo.remote),
            *[a.replace("{tmp}", str(tmp_path)) for a in args]]
    result = CliRunner().invoke(app, argv, env={**{k: None for k in env_extra}, **env})  # type: ignore[dict-item]
    assert result.exit_code == 1, result.output
    assert message in result.stderr and "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1
