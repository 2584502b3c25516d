"""The same paths against a real OpenAI-compatible endpoint, only when TAGENT_LIVE_LLM_KEY is set
(TAGENT_LIVE_LLM_BASE_URL and TAGENT_LIVE_LLM_MODEL choose the endpoint; default OpenAI, gpt-4o-mini)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import SecretStr

from tagent.debrief.explained import postmortem_with_explanation
from tagent.llm import LLMClient
from tagent.policy.drafts import DraftProposer
from tagent.settings import Settings
from tests.drafts.conftest import ATTACK, cart_incident, git_out, remote_branches
from tests.policy.gitrepo import RulesRepo

KEY = os.environ.get("TAGENT_LIVE_LLM_KEY", "")
pytestmark = [pytest.mark.skipif(not KEY, reason="set TAGENT_LIVE_LLM_KEY to run against a real LLM"),
              pytest.mark.timeout(300)]


def live_settings(**extra: object) -> Settings:
    return Settings(llm_api_key=SecretStr(KEY), llm_base_url=os.environ.get("TAGENT_LIVE_LLM_BASE_URL") or None,
                    llm_model=os.environ.get("TAGENT_LIVE_LLM_MODEL", "gpt-4o-mini"), llm_timeout=120,
                    **extra)  # type: ignore[arg-type]


def test_live_explanation_in_the_post_mortem() -> None:
    client = LLMClient.from_settings(live_settings())
    assert client is not None
    incident, evidence = cart_incident()
    markdown = postmortem_with_explanation(incident, evidence, client)
    assert "## AI explanation (written by" in markdown and "could not be written" not in markdown
    assert markdown.index("## Follow-ups") < markdown.index("## AI explanation")


def test_live_draft_is_either_a_validated_branch_or_reported(rules_repo: RulesRepo, tmp_path: Path) -> None:
    settings = live_settings(rules=str(rules_repo.remote), data_dir=tmp_path / "data")
    client = LLMClient.from_settings(settings)
    assert client is not None
    incident, evidence = cart_incident(extra_logs=(ATTACK,))
    proposal = DraftProposer.from_settings(settings, client, promtool=None).propose(incident, evidence)
    if proposal.status == "invalid":  # a real model may fail twice: then it is reported, never pushed
        assert proposal.problems and remote_branches(rules_repo) == ["main"]
        return
    assert proposal.branch in remote_branches(rules_repo)
    text = "\n".join(git_out("show", f"{proposal.branch}:{f}", cwd=rules_repo.remote) for f in proposal.files)
    assert "delete_namespace" not in text and "kind: Rule" in text
