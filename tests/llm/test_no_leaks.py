"""1,000 generated secrets through every prompt path: none reaches the LLM server."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from tagent.llm import ChatMessage, Evidence, LLMClient, build_messages, explain_incident
from tagent.llm.prompts import DataBlock
from tagent.model.core import TimelineEntry
from tagent.sandbox.receivers import OpenAIReceiver
from tagent.settings import Settings
from tests.llm.conftest import API_KEY, crashloop_incident
from tests.llm.secrets_gen import as_json_annotation, generate

SAMPLES, KNOWN = generate(1000, seed=2026)


def leak_client(server: OpenAIReceiver) -> LLMClient:
    """The production path: secrets known to settings (notify URLs, tokens) + patterns; big budget."""
    settings = Settings(llm_base_url=server.api_base, llm_api_key=SecretStr(API_KEY), llm_model="sandbox-model",
                        llm_token_budget=10_000_000,
                        notify_urls={f"route{i}": SecretStr(v) for i, v in enumerate(KNOWN)})
    client = LLMClient.from_settings(settings)
    assert client is not None
    return client


def assert_nothing_leaked(server: OpenAIReceiver) -> None:
    received = server.received_text()
    assert received, "the server received nothing"
    leaked = [(kind, secret) for kind, secret, _ in SAMPLES if secret in received]
    assert not leaked, f"{len(leaked)} secrets reached the LLM server, e.g. {leaked[:5]}"
    assert API_KEY not in received.replace(f"Bearer {API_KEY}", "")  # only in the auth header


@pytest.mark.parametrize("path", ["logs", "events", "annotations", "timeline"])
def test_explain_prompt_paths_leak_nothing(llm_server: OpenAIReceiver, path: str) -> None:
    incident = crashloop_incident()
    lines = [line for _, _, line in SAMPLES]
    if path == "logs":
        evidence = Evidence(logs=lines)
    elif path == "events":
        evidence = Evidence(events=lines)
    elif path == "annotations":
        evidence = Evidence(annotations={f"tagent.io/a{i}": as_json_annotation(x) for i, x in enumerate(lines)})
    else:
        incident = incident.model_copy(update={"timeline": [
            *incident.timeline,
            *(TimelineEntry(kind="event", summary=line, data={"message": line}) for line in lines)]})
        evidence = Evidence.from_incident(incident)
    # the prompt builder caps each block, so feed the secrets in chunks until all have been sent
    client = leak_client(llm_server)
    for start in range(0, len(lines), 60):
        chunk = slice(start, start + 60)
        part = Evidence(logs=evidence.logs[chunk], events=evidence.events[chunk],
                        annotations=dict(list(evidence.annotations.items())[chunk]), metrics=evidence.metrics)
        piece = incident if path != "timeline" else incident.model_copy(
            update={"timeline": incident.timeline[:3] + incident.timeline[3:][chunk]})
        explanation = explain_incident(piece, part, client)
        assert explanation.generated, explanation.error
    assert_nothing_leaked(llm_server)
    assert len(llm_server.requests) == 17


def test_direct_completions_and_raw_blocks_leak_nothing(llm_server: OpenAIReceiver) -> None:
    client = leak_client(llm_server)
    lines = [line for _, _, line in SAMPLES]
    for start in range(0, len(lines), 100):
        text = "\n".join(lines[start:start + 100])
        client.complete([ChatMessage("system", text), ChatMessage("user", text)], purpose="chat")
        client.complete(build_messages("role", "task", [DataBlock("logs", text)]), purpose="draft")
    assert_nothing_leaked(llm_server)
