"""The phrasing set: at least 150 cases of our own, and the parser at or above 95 % on it."""

from __future__ import annotations

from collections import Counter

from tests.chat.accuracy import evaluate, report


def test_the_set_is_large_and_varied() -> None:
    outcomes = evaluate()
    assert len(outcomes) >= 150
    per_intent = Counter(o.case["intent"] for o in outcomes)
    assert all(per_intent[i] >= 10 for i in
               ("get", "scale", "restart", "rollback", "delete", "logs", "metrics", "explain", "unknown")), per_intent
    assert sum(1 for o in outcomes if o.case.get("question")) >= 30  # ambiguous/unknown/missing: questions back


def test_accuracy_is_at_least_95_percent() -> None:
    outcomes = evaluate()
    text = report(outcomes)
    print(text)
    passed = sum(1 for o in outcomes if not o.problems)
    assert passed / len(outcomes) >= 0.95, text


def test_no_phrasing_that_expects_a_question_gets_a_command() -> None:
    """Whatever the accuracy, a case expecting a question must never come back runnable."""
    for o in evaluate():
        if o.case.get("question"):
            assert o.result.command is None, o.case["text"]
            assert not o.result.actionable, o.case["text"]
