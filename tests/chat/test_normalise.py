"""Normalisation: fillers, Hinglish, number words."""

from __future__ import annotations

import pytest

from tagent.chat.normalise import normalise
from tagent.chat.numbers import words_to_numbers


@pytest.mark.parametrize(("text", "tokens"), [
    ("Kindly restart checkout, please do the needful", ["restart", "checkout"]),
    ("can you just restart cart yaar bhai", ["restart", "cart"]),
    ("restart checkout itself only ji", ["restart", "checkout"]),
    ("revert back cart", ["rollback", "cart"]),
    ("restart kar do cart ko", ["restart", "cart"]),
    ("logs dikhao", ["logs", "show"]),
    ("test env band karo", ["test", "env", "delete"]),
    ("test environment hata do", ["test", "env", "delete"]),
    ("kitne servers chal rahe hain", ["how", "many", "nodes", "running"]),
    ("scale cart --replicas=3 -n shop", ["scale", "cart", "replicas", "3", "namespace", "shop"]),
    ("pls prepone the restart", ["restart"]),
])
def test_normalise(text: str, tokens: list[str]) -> None:
    assert normalise(text) == tokens


@pytest.mark.parametrize(("words", "digits"), [
    ("ten", "10"), ("twenty five", "25"), ("twenty-five", "25"), ("a dozen", "12"), ("half a dozen", "6"),
    ("two hundred and five", "205"), ("three dozen", "36"), ("das", "10"), ("teen", "3"), ("a couple of", "2"),
])
def test_numbers(words: str, digits: str) -> None:
    assert words_to_numbers(words.split()) == [digits]


def test_do_is_two_only_before_a_replica_word() -> None:
    assert words_to_numbers(["do", "pods"]) == ["2", "pods"]
    assert words_to_numbers(["do", "it"]) == ["do", "it"]
