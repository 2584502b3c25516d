"""LLMClient through the real openai library against the local OpenAI-compatible server."""

from __future__ import annotations

import time
from typing import Any

import pytest
from pydantic import SecretStr

from tagent.errors import PermanentError, TransientError
from tagent.llm import BudgetExceeded, ChatMessage, LLMClient
from tagent.sandbox.receivers import OpenAIReceiver
from tagent.settings import Settings
from tests.llm.conftest import API_KEY, client_for


def test_completion_text_usage_and_cost_are_recorded(llm_server: OpenAIReceiver) -> None:
    llm_server.responder = lambda body: f"you said {len(body['messages'])} messages at t={body['temperature']}"
    seen = []
    client = client_for(llm_server, llm_input_price_per_mtok=2.0, llm_output_price_per_mtok=8.0)
    client._on_usage = seen.append
    answer = client.complete([ChatMessage("system", "be brief"), ChatMessage("user", "hello")],
                             purpose="explain", incident_id="inc-1", max_tokens=50)
    assert answer.text == "you said 2 messages at t=0.2"
    assert answer.model == "sandbox-model" and answer.finish_reason == "stop"
    [request] = llm_server.requests
    assert request.headers["authorization"] == f"Bearer {API_KEY}"
    assert request.json()["max_tokens"] == 50 and "tools" not in request.json()
    usage = answer.usage
    assert usage.prompt_tokens > 0 and usage.completion_tokens > 0
    assert usage.cost_usd == pytest.approx((usage.prompt_tokens * 2 + usage.completion_tokens * 8) / 1e6)
    assert client.usage == [usage] == seen
    assert client.spent("inc-1") == usage.prompt_tokens + usage.completion_tokens


def test_the_token_budget_per_incident_is_enforced_before_calling(llm_server: OpenAIReceiver) -> None:
    llm_server.responder = lambda body: "x" * 400  # ~100 completion tokens
    client = client_for(llm_server, llm_token_budget=600)
    client.complete([ChatMessage("user", "a" * 800)], purpose="explain", incident_id="inc-1", max_tokens=100)
    spent = client.spent("inc-1")
    assert 250 <= spent <= 600
    with pytest.raises(BudgetExceeded, match="inc-1"):
        client.complete([ChatMessage("user", "a" * 1600)], purpose="explain", incident_id="inc-1", max_tokens=100)
    assert len(llm_server.requests) == 1  # refused before anything left
    client.complete([ChatMessage("user", "short")], purpose="explain", incident_id="inc-2", max_tokens=100)
    assert client.spent("inc-1") == spent and client.spent("inc-2") > 0


def test_a_failing_server_is_retried_then_reported(llm_server: OpenAIReceiver) -> None:
    client = client_for(llm_server)  # llm_max_retries=1
    llm_server.fail_next(1, status=500)
    assert client.complete([ChatMessage("user", "hi")], purpose="chat").text
    assert [r.status for r in llm_server.requests] == [500, 200]
    llm_server.fail_next(2, status=503)
    with pytest.raises(TransientError, match="InternalServerError"):
        client.complete([ChatMessage("user", "hi")], purpose="chat")


def test_errors_map_to_the_error_tree(llm_server: OpenAIReceiver) -> None:
    wrong_key = LLMClient(model="sandbox-model", base_url=llm_server.api_base, api_key=SecretStr("sk-wrong-key"),
                          max_retries=0)
    with pytest.raises(PermanentError, match="401") as caught:
        wrong_key.complete([ChatMessage("user", "hi")], purpose="chat")
    assert "sk-wrong-key" not in str(caught.value)

    def slow(body: dict[str, Any]) -> str:
        time.sleep(1.0)
        return "late"

    llm_server.responder = slow
    impatient = LLMClient(model="m", base_url=llm_server.api_base, api_key=SecretStr(API_KEY), timeout=0.2,
                          max_retries=0)
    with pytest.raises(TransientError, match="Timeout"):
        impatient.complete([ChatMessage("user", "hi")], purpose="chat")


def test_tool_calls_are_dropped_and_only_text_returns(llm_server: OpenAIReceiver) -> None:
    llm_server.responder = lambda body: {"content": None, "tool_calls": [{
        "id": "call_1", "type": "function",
        "function": {"name": "delete_namespace", "arguments": '{"name": "prod"}'}}]}
    answer = client_for(llm_server).complete([ChatMessage("user", "hi")], purpose="explain")
    assert answer.text == "" and answer.usage.dropped_tool_calls == 1 and answer.finish_reason == "tool_calls"


def test_not_configured_means_no_client() -> None:
    assert LLMClient.from_settings(Settings()) is None
    assert LLMClient.from_settings(Settings(llm_base_url="http://127.0.0.1:1/v1")) is not None


def test_json_mode_and_models_endpoint(llm_server: OpenAIReceiver) -> None:
    llm_server.responder = lambda body: '{"ok": true}' if body.get("response_format") else "prose"
    answer = client_for(llm_server).complete([ChatMessage("user", "json please")], purpose="draft", json_mode=True)
    assert answer.text == '{"ok": true}'
    import httpx
    models = httpx.get(f"{llm_server.api_base}/models", headers={"Authorization": f"Bearer {API_KEY}"}).json()
    assert models["data"][0]["id"] == "sandbox-model"
