"""The intent table (tagent.chat.intents) is the single source of what an intent is: every entry is complete and
consistent with the catalog and the LLM contract, the modules that parse, answer, act and ask the LLM name no
intent of their own, and a new intent is one entry passed as a table: parsed, answered and offered to the LLM
without touching any other module."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import openai
import pytest

from tagent.actions.catalog import CATALOG
from tagent.chat.answers import Answer
from tagent.chat.fallback import LlmArguments, tool_schema, understand
from tagent.chat.intent import ChatIntent, ChatParams, ChatTarget, Intent, TargetKind
from tagent.chat.intents import TABLE, AnswerDeps, Cue, IntentSpec, IntentTable, Tool
from tagent.chat.parser import Parser
from tagent.chat.reply import ReplyStatus
from tagent.chat.service import ChatService
from tagent.clients.kubernetes import KubeClient
from tagent.guard import Guard
from tagent.llm.chat_fallback import ChatFallbackLLM
from tagent.model import WorkloadRef
from tagent.settings import Settings
from tagent.store import Store
from tests.chat.inventory import sandbox_nodes, sandbox_workloads
from tests.chat.llm_server import LocalLLM, local_llm, tool_call_answer

CHAT = Path(__file__).resolve().parents[2] / "engine" / "tagent" / "chat"
CART = ChatTarget(kind=TargetKind.deployment, namespace="shop", name="cart")
SHARED_ARGUMENTS = {"kind", "namespace", "name", "reason"}  # the target arguments every tool may share


def test_every_entry_is_complete() -> None:
    assert [s.name for s in TABLE][:8] == ["get", "scale", "restart", "rollback", "delete", "logs", "metrics",
                                           "explain"]
    assert {s.name for s in TABLE} == {i.value for i in Intent} - {"unknown"}
    for spec in TABLE:
        if spec.takes == "server":  # cloud servers: parsed by tagent.chat.cloud, never by cues or the LLM
            assert spec.server is not None and not spec.cues and spec.tool is None, spec.name
            continue
        assert spec.cues and spec.tool is not None and spec.verb, spec.name
        for cue in spec.cues:
            re.compile(cue.pattern)
            assert cue.weight > 0 and all(o in TABLE for o in cue.overrides), (spec.name, cue)
        if spec.mutating:
            assert spec.takes == "workload" and spec.action is not None and spec.answer is None, spec.name
            params = ChatParams(replicas=3) if "replicas" in spec.tool.properties else ChatParams()
            command = TABLE.command(spec.name, CART, params)
            assert command is not None and command.startswith("kubectl ") and "cart" in command, spec.name
            assert spec.name in TABLE.summary(spec.name, CART, params, 2) or spec.verb in TABLE.summary(
                spec.name, CART, params, 2)
        else:
            assert spec.answer is not None and spec.action is None, spec.name


def test_the_actions_are_catalog_actions_with_catalog_parameters() -> None:
    ref = WorkloadRef(kind="Deployment", namespace="shop", name="cart")
    for spec in TABLE:
        for action in (spec.action.name if spec.action else None, spec.server.action if spec.server else None):
            if action is not None:
                assert action in CATALOG and CATALOG[action].mutates, (spec.name, action)
        if spec.action is not None:
            intent = ChatIntent(text="x", intent=spec.name, target=CART, params=ChatParams(replicas=3, revision=2))
            given = spec.action.params(intent, ref)
            known = {p.name for p in CATALOG[spec.action.name].params}
            assert set(given) <= known and {"namespace", "name"} <= set(given), (spec.name, given, known)
            assert CATALOG[spec.action.name].render_command(given)


def test_the_tool_schemas_are_valid_and_the_llm_is_offered_exactly_the_table() -> None:
    tools = tool_schema()
    assert tools == TABLE.tools()
    assert [t["function"]["name"] for t in tools] == [s.name for s in TABLE if s.tool is not None] + ["unknown"]
    for tool in tools:
        parameters = tool["function"]["parameters"]
        jsonschema.Draft202012Validator.check_schema(parameters)
        assert parameters["additionalProperties"] is False
        assert set(parameters["required"]) <= set(parameters["properties"])
        # every argument is one the fallback validates: a shared target argument or a ChatParams field
        assert set(parameters["properties"]) <= SHARED_ARGUMENTS | set(ChatParams.model_fields), tool
        assert set(parameters["properties"]) <= set(LlmArguments.model_fields), tool
    for spec in TABLE:
        if spec.tool is not None:
            assert set(spec.tool.params) <= set(spec.tool.properties) & set(ChatParams.model_fields), spec.name
    validator = jsonschema.Draft202012Validator(TABLE["scale"].tool.schema("scale")["function"]["parameters"]
                                                if TABLE["scale"].tool else {})
    assert validator.is_valid({"name": "cart", "replicas": 3})
    assert not validator.is_valid({"name": "cart", "replicas": -1})
    assert not validator.is_valid({"name": "cart", "replicas": 3, "force": True})


def test_no_module_that_parses_answers_or_acts_names_an_intent_of_its_own() -> None:
    """The if/elif chains over intents are gone: these modules read the table."""
    named = re.compile(r"Intent\.(?:get|scale|restart|rollback|delete|logs|metrics|explain|stop|start)\b")
    for module in ("parser.py", "service.py", "acting.py", "fallback.py", "compound.py", "clusters.py", "reply.py"):
        source = (CHAT / module).read_text(encoding="utf-8")
        assert not named.findall(source), (module, named.findall(source))


# -- a new intent is one entry ---------------------------------------------------------------------------------


def _ping(deps: AnswerDeps, intent: ChatIntent) -> Answer:
    nodes = deps.kube.list_nodes()
    return Answer(f"pong: the API server answers and lists {len(nodes)} nodes.", {"nodes": len(nodes)})


PING = IntentSpec(
    name="ping", verb="ping", priority=9, cues=(Cue(r"ping", 4.0), Cue(r"reachable", 2.5)),
    kubectl=lambda _t, _p, _l: "kubectl get --raw /readyz", summary=lambda _t, _p, _c: "check the API server answers",
    answer=_ping, tool=Tool("Check that the cluster's API server answers.", {"reason": {"type": "string"}}),
)


def _with_ping() -> IntentTable:
    return TABLE.adding(PING)


def test_an_added_entry_is_parsed_from_its_cues_and_the_shipped_table_is_untouched() -> None:
    table = _with_ping()
    parsed = Parser(sandbox_workloads(), sandbox_nodes(), table).parse("can you ping the cluster?")
    assert parsed.intent == "ping" and parsed.actionable and not parsed.requires_confirmation
    assert parsed.command == "kubectl get --raw /readyz" and parsed.summary == "check the API server answers"
    assert parsed.contract()["intent"] == "ping"
    assert Parser(sandbox_workloads(), sandbox_nodes()).parse("can you ping the cluster?").intent is Intent.unknown
    assert "ping" not in TABLE and len(table) == len(TABLE) + 1
    with pytest.raises(ValueError, match="twice"):
        table.adding(PING)
    with pytest.raises(ValueError, match="read needs an answer"):
        IntentSpec(name="pong", verb="pong", cues=(Cue("pong", 1.0),))


@pytest.fixture
def server() -> Iterator[LocalLLM]:
    with local_llm() as state:
        yield state


def test_an_added_entry_is_offered_to_the_llm_and_its_call_accepted(server: LocalLLM) -> None:
    table = _with_ping()
    llm = ChatFallbackLLM(openai.OpenAI(api_key="sk-test", base_url=server.url, max_retries=0, timeout=10), "m")
    server.answer(tool_call_answer("ping", {}))
    result = understand("is the control plane alive out there", sandbox_workloads(), sandbox_nodes(), llm=llm,
                        table=table)
    sent = [t["function"]["name"] for t in server.requests[0]["tools"]]
    assert sent == [*(s.name for s in TABLE if s.tool is not None), "ping", "unknown"]
    assert result.intent == "ping" and result.source == "llm" and result.command == "kubectl get --raw /readyz"
    server.answer(tool_call_answer("ping", {"replicas": 3}))  # not an argument of ping's tool
    rejected = understand("is the control plane alive out there", sandbox_workloads(), sandbox_nodes(), llm=llm,
                          table=table)
    assert rejected.source == "parser" and any("not an argument of ping" in n for n in rejected.notes)


@pytest.mark.parametrize("sandbox", [{}], indirect=True)
def test_an_added_entry_is_answered_by_the_chat_service(kubeconfig: Path, tmp_path: Path) -> None:
    kube = KubeClient.from_kubeconfig(kubeconfig)
    store = Store.open(f"sqlite:///{tmp_path / 'chat.db'}")
    try:
        settings = Settings(data_dir=tmp_path)
        service = ChatService(kube, store, Guard(store, settings), table=_with_ping())
        reply = service.ask("please ping the cluster", "alice")
        assert reply.status is ReplyStatus.answered and reply.token is None, reply.answer
        live = len(kube.list_nodes())
        assert reply.answer == f"pong: the API server answers and lists {live} nodes." and reply.data == {"nodes": live}
        audit = [a for a in store.audit.list(limit=10) if a.action == "chat.request"]
        assert audit and '"intent": "ping"' in audit[0].detail
        assert ChatService(kube, store, Guard(store, settings)).ask("please ping the cluster", "alice").status \
            is ReplyStatus.question
    finally:
        store.close()
        kube.close()

