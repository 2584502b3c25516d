"""The LLM fallback through the real `openai` client against a local OpenAI-compatible server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest
from pydantic import SecretStr

from tagent.chat.fallback import tool_schema, understand
from tagent.chat.intent import Intent
from tagent.llm.chat_fallback import ChatFallbackLLM
from tagent.settings import Settings
from tests.chat.inventory import sandbox_nodes, sandbox_workloads
from tests.chat.llm_server import LocalLLM, local_llm, object_arguments_answer, prose_answer, tool_call_answer

UNCLEAR = "payment-service needs a fresh start"  # no intent cue the parser knows, but the name is there
KEY = "sk-test-not-a-real-key"


@pytest.fixture
def server() -> Iterator[LocalLLM]:
    with local_llm() as state:
        yield state


def client(server: LocalLLM, retries: int = 0) -> ChatFallbackLLM:
    return ChatFallbackLLM(openai.OpenAI(api_key=KEY, base_url=server.url, max_retries=retries, timeout=10),
                           "local-model")


def ask(server: LocalLLM, text: str = UNCLEAR) -> Any:
    return understand(text, sandbox_workloads(), sandbox_nodes(), llm=client(server))


def test_the_unclear_message_is_not_understood_by_the_parser_alone() -> None:
    result = understand(UNCLEAR, sandbox_workloads(), sandbox_nodes(), llm=None)
    assert result.intent is Intent.unknown and result.question


def test_a_valid_tool_call_becomes_an_intent_that_still_needs_confirmation(server: LocalLLM) -> None:
    server.answer(tool_call_answer("restart", {"namespace": "shop", "name": "payment-service"}))
    result = ask(server)
    assert result.intent is Intent.restart
    assert result.source == "llm"
    assert result.question is None
    assert result.requires_confirmation is True
    assert result.command == "kubectl rollout restart deployment/payment-service -n shop"
    assert result.summary.startswith("restart shop/payment-service")


def test_the_request_follows_the_chat_completions_api(server: LocalLLM) -> None:
    server.answer(tool_call_answer("restart", {"name": "payment-service"}))
    ask(server)
    assert len(server.requests) == 1
    body, headers = server.requests[0], server.headers[0]
    assert headers["authorization"] == f"Bearer {KEY}"
    assert body["model"] == "local-model"
    assert body["messages"][0]["role"] == "system" and "shop/payment-service" in body["messages"][0]["content"]
    assert body["messages"][1] == {"role": "user", "content": UNCLEAR}
    names = [tool["function"]["name"] for tool in body["tools"]]
    assert names == [i.value for i in Intent if i not in (Intent.stop, Intent.start)]  # servers: not the LLM's
    assert body["tools"] == tool_schema()


def test_namespace_is_inferred_when_the_llm_leaves_it_out(server: LocalLLM) -> None:
    server.answer(tool_call_answer("restart", {"name": "payment-service"}))
    result = ask(server)
    assert result.target is not None and result.target.namespace == "shop"


def test_arguments_sent_as_an_object_are_accepted(server: LocalLLM) -> None:
    server.answer(object_arguments_answer("scale", {"namespace": "shop", "name": "payment-service", "replicas": 4}))
    result = ask(server, "payment-service should have 4 of them, thanks")
    assert result.intent is Intent.scale and result.params.replicas == 4
    assert result.summary == "scale shop/payment-service from 2 to 4 replicas"


@pytest.mark.parametrize(("name", "arguments", "why"), [
    ("exec_shell", {"command": "kubectl delete ns shop"}, "unknown intent"),
    ("restart", {"namespace": "shop", "name": "billing"}, "does not exist"),
    ("restart", {"namespace": "prod", "name": "payment-service"}, "namespace 'prod' does not exist"),
    ("scale", {"namespace": "shop", "name": "payment-service", "replicas": 10000}, "replicas"),
    ("scale", {"namespace": "shop", "name": "payment-service", "replicas": -1}, "replicas"),
    ("delete", {"namespace": "shop", "name": "payment-service", "force": True}, "force"),
    ("restart", {"namespace": "shop", "name": "payment-service", "replicas": 3}, "not an argument of restart"),
    ("restart", "this is not json", "not a JSON object"),
    ("logs", {"name": "payment-service", "since": "1h; rm -rf /"}, "since"),
    ("delete", {"namespace": "shop", "name": "checkout"}, "not named in the message"),
])
def test_invalid_or_malicious_answers_are_rejected(server: LocalLLM, name: str, arguments: Any, why: str) -> None:
    server.answer(tool_call_answer(name, arguments))
    result = ask(server)
    assert result.source == "parser"
    assert result.intent is Intent.unknown
    assert result.command is None and result.question
    assert any(why in note for note in result.notes), result.notes


def test_the_llm_cannot_choose_a_target_the_user_did_not_name(server: LocalLLM) -> None:
    server.answer(tool_call_answer("restart", {"namespace": "shop", "name": "payment-service"}))
    result = ask(server, "the java one needs a fresh start")
    assert result.intent is Intent.unknown and result.command is None
    assert any("not named in the message" in note for note in result.notes)


def test_a_read_intent_may_use_what_the_llm_inferred(server: LocalLLM) -> None:
    server.answer(tool_call_answer("get", {"kind": "workload", "namespace": "shop", "name": "payment-service"}))
    result = ask(server, "how is the java one")
    assert result.intent is Intent.get and result.source == "llm"
    assert result.command == "kubectl get deployment/payment-service -n shop"


def test_scale_without_a_count_from_the_llm_is_a_question(server: LocalLLM) -> None:
    server.answer(tool_call_answer("scale", {"name": "payment-service"}))
    result = ask(server)
    assert result.intent is Intent.scale and result.command is None
    assert result.question_reason == "missing_replicas"


@pytest.mark.parametrize("reply", [prose_answer("Sure! I restarted it for you."),
                                   tool_call_answer("unknown", {"reason": "unclear"})])
def test_no_usable_call_keeps_the_question(server: LocalLLM, reply: dict[str, Any]) -> None:
    server.answer(reply)
    result = ask(server)
    assert result.intent is Intent.unknown and result.question and result.command is None
    assert result.notes


@pytest.mark.parametrize(("status", "word"), [(500, "unavailable"), (401, "unavailable"), (429, "unavailable")])
def test_server_errors_fall_back_to_the_parse(server: LocalLLM, status: int, word: str) -> None:
    server.answer({"error": {"message": "boom", "type": "server_error"}}, status=status)
    result = ask(server)
    assert result.intent is Intent.unknown and result.question
    assert any(word in note for note in result.notes)


def test_confident_parses_never_reach_the_llm(server: LocalLLM) -> None:
    server.answer(tool_call_answer("delete", {"namespace": "shop", "name": "checkout"}))
    result = ask(server, "restart checkout")
    assert result.intent is Intent.restart and result.source == "parser"
    assert server.requests == []


@pytest.mark.parametrize("text", ["restart payment", "scale checkout", "delete everything"])
def test_questions_for_the_user_are_not_sent_to_the_llm(server: LocalLLM, text: str) -> None:
    server.answer(tool_call_answer("restart", {"namespace": "shop", "name": "checkout"}))
    understand(text, sandbox_workloads(), sandbox_nodes(), llm=client(server))
    assert server.requests == []


def test_from_settings_needs_a_url_or_a_key(server: LocalLLM) -> None:
    assert ChatFallbackLLM.from_settings(Settings(llm_base_url=None, llm_api_key=None)) is None
    llm = ChatFallbackLLM.from_settings(Settings(llm_base_url=server.url, llm_api_key=SecretStr(KEY),
                                                 llm_model="deepseek-chat"))
    assert llm is not None and llm.model == "deepseek-chat"
    server.answer(tool_call_answer("restart", {"name": "payment-service"}))
    result = understand(UNCLEAR, sandbox_workloads(), sandbox_nodes(), llm=llm)
    assert result.intent is Intent.restart
    assert server.requests[0]["model"] == "deepseek-chat"
    assert server.headers[0]["authorization"] == f"Bearer {KEY}"


def test_from_settings_without_a_key_sends_a_placeholder(server: LocalLLM) -> None:
    """Ollama needs no key; the client still sends one, and never the environment's OPENAI_API_KEY."""
    llm = ChatFallbackLLM.from_settings(Settings(llm_base_url=server.url))
    assert llm is not None
    server.answer(tool_call_answer("unknown", {}))
    understand(UNCLEAR, sandbox_workloads(), sandbox_nodes(), llm=llm)
    assert server.headers[0]["authorization"] == "Bearer not-needed"
