"""Replica counts are never guessed (issue 19): negative or fractional counts, relative changes against the
live count, two requests in one message, and Hindi/Hinglish number words next to English 'do'."""

from __future__ import annotations

import pytest

from tagent.chat.intent import Intent
from tagent.chat.parser import Parser
from tagent.model.inventory import Runtime
from tests.chat.inventory import sandbox_nodes, sandbox_workloads, workload


def _parser(cart: int = 2) -> Parser:
    rest = [w for w in sandbox_workloads() if w.ref.name != "cart"]
    return Parser([*rest, workload("shop", "cart", cart, Runtime.go)], sandbox_nodes())


@pytest.mark.parametrize("text, shown", [
    ("scale cart to -2 replicas", "-2"), ("scale cart to - 2 pods", "- 2"), ("scale cart to 2.5", "2.5"),
    ("kubectl scale deployment/cart -n shop --replicas=-3", "-3"), ("scale cart to minus three", "minus three"),
    ("cart ko negative 2 pods kar do", "negative 2"), ("add -1 pods to cart", "-1"),
])
def test_a_negative_or_fractional_count_is_a_question_naming_it(text: str, shown: str) -> None:
    parsed = _parser().parse(text)
    assert parsed.intent is Intent.scale and parsed.question_reason == "invalid_replicas", parsed
    assert parsed.command is None and parsed.params.replicas is None
    assert repr(shown) in (parsed.question or "") and "runs 2 now" in (parsed.question or "")


def test_names_and_flags_with_hyphens_or_dots_are_not_negative_numbers() -> None:
    parsed = _parser().parse("kubectl scale deployment/cart -n shop --replicas=3")
    assert parsed.params.replicas == 3 and parsed.question is None
    assert _parser().parse("scale node-2 pods").question_reason != "invalid_replicas"


@pytest.mark.parametrize("live, text, expected, said", [
    (2, "add three more pods to cart", 5, "+3, from the 2 running now"),
    (5, "add three more pods to cart", 8, "+3, from the 5 running now"),
    (5, "one pod less for cart", 4, "-1, from the 5 running now"),
    (3, "double the cart pods", 6, "doubled, from the 3 running now"),
    (4, "halve the cart replicas", 2, "halved, from the 4 running now"),
    (4, "cart mein 2 aur pods badhao", 6, "+2, from the 4 running now"),
])
def test_relative_changes_resolve_against_the_live_count_and_say_so(live: int, text: str, expected: int,
                                                                     said: str) -> None:
    parsed = _parser(live).parse(text)
    assert parsed.params.replicas == expected, parsed
    assert said in parsed.summary
    assert f"--replicas={expected}" in (parsed.command or "")


def test_from_a_count_that_is_not_the_live_one_is_a_question() -> None:
    assert _parser(2).parse("take cart from 2 to 5").params.replicas == 5
    wrong = _parser(4).parse("take cart from 2 to 5")
    assert wrong.question_reason == "count_mismatch" and "runs 4 now" in (wrong.question or "")
    below = _parser(1).parse("remove 3 pods from cart")
    assert below.question_reason == "replicas_out_of_range" and below.command is None
    odd = _parser(3).parse("halve the cart pods")
    assert odd.question_reason == "unclear_replicas" and odd.command is None


@pytest.mark.parametrize("text", [
    "restart checkout and then scale cart to 3", "restart checkout; scale cart to 3",
    "delete test-env then restart cart", "cart restart karo aur checkout ko 4 pods kar do",
])
def test_two_requests_are_listed_never_reduced_to_one(text: str) -> None:
    parsed = _parser().parse(text)
    assert parsed.question_reason == "compound_request" and parsed.command is None, parsed
    question = parsed.question or ""
    assert "1) " in question and "2) " in question and "one at a time" in question


def test_one_request_with_and_in_it_stays_one() -> None:
    assert _parser().parse("Is the database up and running?").intent is Intent.get
    one = _parser().parse("the cart pods keep crashing again and again, just restart cart for now")
    assert one.intent is Intent.restart and one.question is None


@pytest.mark.parametrize("text, intent, replicas", [
    ("cart ko do kar do", Intent.scale, 2), ("cart ke do replicas kar do", Intent.scale, 2),
    ("do scale cart to 3", Intent.scale, 3), ("can you do 4 replicas for cart", Intent.scale, 4),
    ("please do restart cart", Intent.restart, None), ("cart ko gyarah pods kar do", Intent.scale, 11),
])
def test_do_is_two_only_in_hinglish(text: str, intent: Intent, replicas: int | None) -> None:
    parsed = _parser().parse(text)
    assert parsed.intent is intent and parsed.params.replicas == replicas, parsed
