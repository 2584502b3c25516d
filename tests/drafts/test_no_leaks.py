"""Secrets in an incident never reach the LLM server, the pushed branch, the pull request or the
post-mortem: 1,000 generated secrets through the draft prompt (first request and retry), the whole
propose path, and the explained post-mortem."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from tagent.debrief.explained import postmortem_with_explanation
from tagent.llm import Evidence, LLMClient
from tagent.llm.draft import draft_playbook
from tagent.llm.draft_prompt import DraftContext
from tagent.model.core import TimelineEntry
from tagent.policy.draft_text import catalog_text
from tagent.sandbox.receivers import OpenAIReceiver
from tagent.settings import Settings
from tests.drafts.conftest import API_KEY, RECORDED, cart_incident, git_out, proposer_for
from tests.drafts.forge_server import ForgeServer
from tests.llm.secrets_gen import as_json_annotation, generate
from tests.policy.gitrepo import RulesRepo

SAMPLES, KNOWN = generate(1000, seed=808)
LINES = [line for _, _, line in SAMPLES]
KNOWN_URLS = {f"route{i}": SecretStr(v) for i, v in enumerate(KNOWN)}


def leaked(text: str) -> list[tuple[str, str]]:
    return [(kind, secret) for kind, secret, _ in SAMPLES if secret in text]


def echo_model(body: dict[str, Any]) -> dict[str, Any]:
    """A valid draft whose rationale repeats everything the model was shown (as a careless model might)."""
    answer = json.loads(RECORDED["valid"][0]["content"])
    answer["rationale"] = "\n".join(str(m["content"]) for m in body["messages"])
    return {"content": json.dumps(answer)}


def test_the_draft_prompt_and_its_retry_leak_nothing(llm_server: OpenAIReceiver) -> None:
    llm_server.responder = lambda body: RECORDED["valid"][0]
    client = LLMClient.from_settings(Settings(llm_base_url=llm_server.api_base, llm_api_key=SecretStr(API_KEY),
                                              llm_model="sandbox-model", llm_token_budget=10_000_000,
                                              notify_urls=KNOWN_URLS))
    assert client is not None
    incident, _ = cart_incident()
    context = DraftContext(catalog=catalog_text(), rules=["crashloop-restart"], playbooks=["restart-workload"])
    for start in range(0, len(LINES), 60):  # the prompt caps each block: send the secrets in chunks
        chunk = LINES[start:start + 60]
        events = [TimelineEntry(kind="event", summary=line, data={"message": line}) for line in chunk]
        piece = incident.model_copy(update={"timeline": [*incident.timeline, *events]})
        evidence = Evidence(logs=chunk, events=chunk,
                            annotations={f"a{i}": as_json_annotation(x) for i, x in enumerate(chunk)})
        calls: list[int] = []

        def validate(text: str, chunk: list[str] = chunk, calls: list[int] = calls) -> list[str]:
            calls.append(1)  # the first draft "fails" with problems that quote secrets: they go back redacted
            return [f"rules/x.yaml:{i}: {line}" for i, line in enumerate(chunk[:20])] if len(calls) == 1 else []

        draft = draft_playbook(piece, evidence, client, context, validate)
        assert draft.ok and len(draft.attempts) == 2
    received = llm_server.received_text()
    assert len(llm_server.requests) == 34
    found = leaked(received)
    assert not found, f"{len(found)} secrets reached the LLM server, e.g. {found[:5]}"


def test_secrets_in_the_incident_reach_neither_the_llm_nor_the_branch_nor_the_pull_request(
        llm_server: OpenAIReceiver, rules_repo: RulesRepo, github: ForgeServer, tmp_path: Path) -> None:
    llm_server.responder = echo_model
    incident, _ = cart_incident()
    chunk = LINES[:60]
    incident = incident.model_copy(update={"timeline": [
        *incident.timeline, *(TimelineEntry(kind="event", summary=line, data={"message": line}) for line in chunk)]})
    evidence = Evidence.from_incident(incident, logs=LINES[60:120])
    proposer = proposer_for(llm_server, rules_repo, tmp_path / "data", github, notify_urls=KNOWN_URLS,
                            llm_token_budget=10_000_000)
    proposal = proposer.propose(incident, evidence)
    assert proposal.status == "proposed" and proposal.branch is not None

    assert not leaked(llm_server.received_text())
    assert "[REDACTED:" in proposal.description  # the echoed prompt did reach the description, masked
    forge_text = "\n".join(r.text for r in github.requests)
    assert forge_text and not leaked(forge_text)
    pushed = git_out("log", "-p", "-1", proposal.branch, cwd=rules_repo.remote)
    assert not leaked(pushed)
    assert proposal.description_file is not None and not leaked(proposal.description_file.read_text())


def test_the_explained_post_mortem_leaks_nothing(llm_server: OpenAIReceiver) -> None:
    llm_server.responder = lambda body: "### Likely cause\n" + str(body["messages"][1]["content"])
    client = LLMClient.from_settings(Settings(llm_base_url=llm_server.api_base, llm_api_key=SecretStr(API_KEY),
                                              llm_model="sandbox-model", notify_urls=KNOWN_URLS))
    incident, _ = cart_incident()
    chunk = LINES[:60]
    incident = incident.model_copy(update={"timeline": [
        *incident.timeline, *(TimelineEntry(kind="event", summary=line, data={"message": line}) for line in chunk)]})
    markdown = postmortem_with_explanation(incident, Evidence.from_incident(incident, logs=LINES[60:120]), client)
    assert "## AI explanation (written by sandbox-model" in markdown and "[REDACTED:" in markdown
    assert not leaked(llm_server.received_text())
    found = leaked(markdown)
    assert not found, f"{len(found)} secrets in the post-mortem, e.g. {found[:5]}"
