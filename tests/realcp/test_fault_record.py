"""The fault record the real sandbox keeps in a ConfigMap, read back by the simulated kubelet: what an injector
wrote becomes the same FaultBook the emulator uses; garbage anyone else wrote there is skipped, not fatal."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from tagent.sandbox.faults import Fault
from tagent.sandbox.real.faults import book_from


def entry(**extra: object) -> str:
    crash = Fault("crashloop", "shop", "cart", "Deployment", {"after": 2.0}, datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
                  revision="abc123")
    return json.dumps({"namespace": "shop", "workload": "cart", "faults": {"crashloop": crash.as_dict()}, **extra})


def test_an_entry_becomes_the_emulators_fault_book() -> None:
    book = book_from({"shop.cart": entry(badCode={"h1": 0.6}, missingImages=["golang:1.22-does-not-exist"])})
    [crash] = book.active()
    assert (crash.name, crash.revision, crash.params, crash.injected_at.year) == ("crashloop", "abc123",
                                                                                   {"after": 2.0}, 2026)
    fx = book.effects("shop", "cart", "abc123", "h1")
    assert fx.crash_after == 2.0 and fx.error_share == 0.6 and fx.bad_code
    assert fx.missing_images == frozenset({"golang:1.22-does-not-exist"})
    assert book.effects("shop", "cart", "other-revision", "h2").crash_after is None


def test_garbage_is_skipped_and_the_book_is_rebuilt_not_merged() -> None:
    book = book_from({"shop.cart": entry()})
    garbage = {"a": "not json", "b": "[]", "c": json.dumps({"faults": {"x": {"name": "x"}}}), "d": "null",
               "e": json.dumps({"faults": "nope"}), "f": entry(badCode={"h": "high"}), "g": entry(missingImages=7),
               "shop.cart": entry()}
    book_from(garbage, book)
    assert [f.name for f in book.active()] == ["crashloop"]
    book_from({}, book)
    assert book.active() == [] and book.bad_code == {} and book.missing_images == {}
