"""The chat fallback redacts what it sends: a secret typed into a chat message never reaches the LLM server.

Through the production path (`ChatFallbackLLM.from_settings` + `tagent.chat.fallback.understand`) and the
real `openai` client, against the sandbox's OpenAI-compatible receiver, which records every byte received.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from tagent.chat.fallback import understand
from tagent.chat.intent import Intent
from tagent.llm.chat_fallback import ChatFallbackLLM
from tagent.sandbox.receivers import OpenAIReceiver
from tagent.settings import Settings
from tests.chat.inventory import sandbox_nodes, sandbox_workloads
from tests.llm.conftest import API_KEY
from tests.llm.secrets_gen import generate

KNOWN_WEBHOOK = "https://hooks.example.com/services/T000/B000/knownwebhooksecretvalue"
SAMPLES, KNOWN = generate(300, seed=55)


def restart_payment(_: dict[str, Any]) -> dict[str, Any]:
    """The model proposes restarting payment-service (a valid, named target)."""
    return {"content": None, "tool_calls": [{"id": "call_1", "type": "function", "function": {
        "name": "restart", "arguments": '{"namespace": "shop", "name": "payment-service"}'}}]}


@pytest.fixture
def receiver() -> Iterator[OpenAIReceiver]:
    with OpenAIReceiver(restart_payment, api_key=API_KEY) as server:
        yield server


def fallback(server: OpenAIReceiver, known: list[str] | None = None) -> ChatFallbackLLM:
    notify = {f"r{i}": SecretStr(v) for i, v in enumerate([KNOWN_WEBHOOK, *(known or [])])}
    llm = ChatFallbackLLM.from_settings(Settings(llm_base_url=server.api_base, llm_api_key=SecretStr(API_KEY),
                                                 llm_model="sandbox-model", notify_urls=notify))
    assert llm is not None
    return llm


def user_messages(server: OpenAIReceiver) -> list[str]:
    return [str(m["content"]) for prompt in server.prompts() for m in prompt if m["role"] == "user"]


def test_a_password_in_the_chat_text_is_masked_and_the_answer_still_validates(receiver: OpenAIReceiver) -> None:
    text = "payment-service needs a fresh start, db password=Hunter2Secret! and ghp_" + "a1B2" * 9
    result = understand(text, sandbox_workloads(), sandbox_nodes(), llm=fallback(receiver))
    assert result.intent is Intent.restart and result.source == "llm"  # the call happened and was used
    received = receiver.received_text()
    assert "Hunter2Secret!" not in received and "a1B2a1B2" not in received
    [sent] = user_messages(receiver)
    assert "payment-service needs a fresh start" in sent
    assert "[REDACTED:secret_value]" in sent and "[REDACTED:github_token]" in sent


def test_secrets_known_to_settings_and_the_api_key_are_masked(receiver: OpenAIReceiver) -> None:
    llm = fallback(receiver)
    understand(f"payment-service needs a fresh start, the hook is {KNOWN_WEBHOOK} and key {API_KEY}",
               sandbox_workloads(), sandbox_nodes(), llm=llm)
    received = receiver.received_text()
    assert KNOWN_WEBHOOK not in received and "knownwebhooksecretvalue" not in received
    assert API_KEY not in received  # the body; the key travels only in the Authorization header
    assert llm.last_redacted.get("known_secret", 0) >= 2


def test_hundreds_of_generated_secrets_never_reach_the_server(receiver: OpenAIReceiver) -> None:
    llm = fallback(receiver, known=KNOWN)
    tools: list[dict[str, Any]] = []
    for start in range(0, len(SAMPLES), 30):
        chunk = "\n".join(line for _, _, line in SAMPLES[start:start + 30])
        llm.propose(system=f"classify this; context:\n{chunk}", user=f"restart cart please\n{chunk}", tools=tools)
    received = receiver.received_text()
    leaked = [(kind, secret) for kind, secret, _ in SAMPLES if secret in received]
    assert not leaked, f"{len(leaked)} secrets reached the LLM server, e.g. {leaked[:5]}"
    assert "restart cart please" in received  # the ordinary words still go through


def test_nothing_is_sent_when_the_parser_is_sure(receiver: OpenAIReceiver) -> None:
    result = understand("restart checkout, my password=Hunter2Secret!", sandbox_workloads(), sandbox_nodes(),
                        llm=fallback(receiver))
    assert result.intent is Intent.restart and result.source == "parser"
    assert receiver.requests == []
