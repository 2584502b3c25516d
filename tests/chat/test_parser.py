"""Per-intent behaviour of the deterministic parser, and the CLI.md contract it feeds."""

from __future__ import annotations

import random
import string

import pytest

from tagent.chat.intent import ChatIntent, Intent, TargetKind
from tagent.chat.intents import TABLE
from tagent.chat.parser import Parser, parse
from tagent.model.inventory import Runtime
from tests.chat.inventory import sandbox_nodes, sandbox_workloads, workload


def p(text: str) -> ChatIntent:
    return parse(text, sandbox_workloads(), sandbox_nodes())


# -- the three seed examples of the issue, and CLI.md's command column ----------------------------------

def test_seed_how_many_servers() -> None:
    r = p("How many servers are running right now?")
    assert (r.intent, r.target and r.target.kind, r.command) == (Intent.get, TargetKind.node, "kubectl get nodes")
    assert r.requires_confirmation is False and r.actionable


def test_seed_scale_payment_service() -> None:
    r = p("Scale the payment-service to 10 replicas.")
    assert r.command == "kubectl scale deployment/payment-service -n shop --replicas=10"
    assert r.summary == "scale shop/payment-service from 2 to 10 replicas"
    assert r.requires_confirmation is True and r.current_replicas == 2 and r.confidence >= 0.9


def test_seed_delete_test_environment() -> None:
    r = p("Delete the test environment deployment.")
    assert r.command == "kubectl delete deployment/test-env -n test"
    assert r.requires_confirmation is True and "cannot be undone" in r.summary


@pytest.mark.parametrize(("text", "command"), [
    ("restart checkout", "kubectl rollout restart deployment/checkout -n shop"),
    ("roll back payment service to the last version", "kubectl rollout undo deployment/payment-service -n shop"),
    ("rollback checkout to revision 3", "kubectl rollout undo deployment/checkout -n shop --to-revision=3"),
    ("show me the logs of cart", "kubectl logs deployment/cart -n shop --tail=100"),
    ("logs of cart for the last 10 minutes", "kubectl logs deployment/cart -n shop --tail=100 --since=10m"),
    ("show me CPU usage of frontend", "kubectl top pods -n shop -l app=frontend"),
    ("cpu of all nodes", "kubectl top nodes"),
    ("scale postgres to 2", "kubectl scale statefulset/postgres -n shop --replicas=2"),
    ("list pods in shop namespace", "kubectl get pods -n shop"),
    ("status of node-b", "kubectl get node node-b"),
])
def test_commands_follow_cli_md(text: str, command: str) -> None:
    assert p(text).command == command


@pytest.mark.parametrize("text", ["what happened last night?", "asdf", "error rate of checkout"])
def test_intents_without_a_kubectl_form_have_no_command(text: str) -> None:
    assert p(text).command is None


def test_contract_shape_is_exactly_cli_md() -> None:
    contract = p("Scale the payment-service to 10 replicas.").contract()
    assert list(contract) == ["intent", "target", "params", "command", "requires_confirmation", "answer"]
    assert contract["target"] == {"kind": "Deployment", "namespace": "shop", "name": "payment-service"}
    assert contract["params"] == {"replicas": 10}
    assert contract["answer"] == "scale shop/payment-service from 2 to 10 replicas"
    unknown = p("order me a pizza").contract()
    assert unknown["intent"] == "unknown" and unknown["command"] is None and unknown["answer"]


@pytest.mark.parametrize("intent", sorted(s.name for s in TABLE if s.mutating and s.takes == "workload"))
def test_every_mutating_intent_requires_confirmation(intent: str) -> None:
    text = {Intent.scale: "scale cart to 3", Intent.restart: "restart cart", Intent.rollback: "rollback cart",
            Intent.delete: "delete cart"}[Intent(intent)]
    r = p(text)
    assert r.intent is Intent(intent) and r.requires_confirmation and r.command


# -- scale: numbers, relative changes, limits -------------------------------------------------------------

@pytest.mark.parametrize(("text", "replicas"), [
    ("scale cart to twenty five", 25), ("scale cart to a dozen", 12), ("scale cart to half a dozen", 6),
    ("cart ko paanch pods kar do", 5), ("add two more pods to cart", 4), ("scale down cart by 1", 1),
    ("double cart", 4), ("scale frontend from 3 to 7", 7), ("scale cart to 0", 0),
])
def test_replica_counts(text: str, replicas: int) -> None:
    r = p(text)
    assert (r.intent, r.params.replicas, r.question) == (Intent.scale, replicas, None)


@pytest.mark.parametrize(("text", "reason"), [
    ("scale cart", "missing_replicas"), ("scale cart to 1001", "replicas_out_of_range"),
    ("scale cart to 2 or 3", "unclear_replicas"), ("scale cart by 2", "unclear_replicas"),
])
def test_unclear_counts_ask(text: str, reason: str) -> None:
    r = p(text)
    assert r.question_reason == reason and r.command is None and not r.actionable
    assert r.target is not None and r.target.name == "cart"  # the question names what it is about


def test_durations_and_times_are_not_replica_counts() -> None:
    r = p("scale checkout to 4 replicas for the next 30 minutes before 9 pm")
    assert r.params.replicas == 4


# -- name resolution ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "name"), [
    ("restart paymnet service", "payment-service"), ("restart Payment Service", "payment-service"),
    ("restart cart svc", "cart"), ("restart check out", "checkout"), ("restart the database", "postgres"),
    ("restart redis", "redis-cache"), ("restart PAYMENT_SERVICE", "payment-service"),
    ("restart frntend", "frontend"), ("restart shop/checkout", "checkout"),
])
def test_names_are_resolved(text: str, name: str) -> None:
    r = p(text)
    assert r.target is not None and r.target.name == name, r


def test_short_names_are_not_fuzzy() -> None:
    """One edit turns a short word into another word: "card" must not become "cart"."""
    r = p("restart card")
    assert r.target is None and r.question_reason == "unknown_target"


def test_same_name_in_two_namespaces_is_a_question_unless_the_namespace_is_said() -> None:
    workloads = [*sandbox_workloads(), workload("staging", "checkout", 1, Runtime.python)]
    parser = Parser(workloads, sandbox_nodes())
    r = parser.parse("restart checkout")
    assert r.question_reason == "ambiguous_target"
    assert {str(c) for c in r.candidates} == {"shop/checkout", "staging/checkout"}
    assert "shop/checkout" in (r.question or "") and "staging/checkout" in (r.question or "")
    for text in ("restart checkout in staging", "restart checkout in the staging namespace",
                 "restart checkout -n staging", "restart staging/checkout"):
        r = parser.parse(text)
        assert r.target is not None and str(r.target) == "staging/checkout", text


def test_shared_name_parts_are_ambiguous() -> None:
    workloads = [*sandbox_workloads(), workload("shop", "payment-gateway", 2, Runtime.go)]
    r = Parser(workloads, sandbox_nodes()).parse("restart payment")
    assert r.question_reason == "ambiguous_target" and r.command is None
    exact = Parser(workloads, sandbox_nodes()).parse("restart payment gateway")
    assert exact.target is not None and exact.target.name == "payment-gateway"


def test_two_runtimes_of_a_kind_make_the_runtime_word_no_alias() -> None:
    workloads = [*sandbox_workloads(), workload("shop", "mysql", 1, Runtime.database)]
    r = Parser(workloads, sandbox_nodes()).parse("restart the database")
    assert r.target is None and r.question


def test_an_empty_inventory_asks() -> None:
    r = Parser([], []).parse("restart checkout")
    assert r.intent is Intent.restart and r.question_reason == "unknown_target"


# -- explain, logs, metrics params --------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "period"), [
    ("what happened last night", "last-night"), ("kal raat kya hua", "last-night"), ("incidents today", "today"),
    ("what happened in the last 6 hours", "6h"), ("what went wrong this morning", "this-morning"),
])
def test_explain_periods(text: str, period: str) -> None:
    r = p(text)
    assert r.intent is Intent.explain and r.params.period == period


def test_why_did_it_restart_is_a_question_about_the_past_not_a_restart() -> None:
    assert p("why did checkout restart?").intent is Intent.explain
    assert p("show me the logs of cart after the restart").intent is Intent.logs


# -- robustness ---------------------------------------------------------------------------------------------

def test_too_long_and_empty_messages_ask() -> None:
    assert p("").question_reason == "not_understood"
    assert p("restart checkout " * 300).question_reason == "not_understood"


def test_random_input_never_raises_and_never_mutates_without_a_name() -> None:
    rng = random.Random(5)
    alphabet = string.ascii_letters + string.digits + string.punctuation + " " * 10 + "éट漢🙂"
    for _ in range(300):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 80)))
        r = p(text)
        if TABLE.is_mutating(r.intent) and r.command is not None:
            assert r.target is not None and r.target.is_workload
        assert 0.0 <= r.confidence <= 1.0


def test_summaries_say_what_would_happen() -> None:
    assert p("what happened last night").summary == "explain the incidents of last-night"
    assert p("restart checkout").summary == "restart shop/checkout (rolling restart of its pods)"
    assert p("rollback cart").summary == "roll back shop/cart to the previous revision"
    assert p("last 20 lines of cart logs").summary == "show the last 20 log lines of shop/cart"
