"""A thin, synchronous wrapper around durable_rules 2.0.28 rulesets.

What durable does and how this wrapper copes (each checked against the installed engine):

- `Host()` starts two timer threads that re-arm themselves forever to poll for queued actions and timers.
  Tagent posts synchronously (actions run inside `post`) and uses no durable timers, so `QuietHost` does
  not start them: a rules version then costs no thread, and dropping it leaves nothing running.
- A message matching no rule raises `MessageNotHandledException`: `post` returns None instead.
- A message is consumed by the first rule it completes, so two rules on the same event cannot share a
  ruleset (the compiler puts them in different lanes).
- At most 1,024 sessions (`sid`) live in one ruleset (`MemoryError` past that), each about 110 KB before
  it holds anything; `delete_state` frees one. Tagent uses one shared session per ruleset.
- `delete_ruleset` does not free the sessions still in it (about 14 KB per session and rule would leak on
  every reload), so `close` deletes every session it created first.
- `delete_state` frees the session's action context, which a new session leaves uninitialised until an
  action has run in it: deleting a session in which no rule ever fired frees a garbage pointer and
  crashes the process (seen as SIGSEGV with two pending events). So every new session is *primed*: a
  private rule fires once on a private event, which leaves the context cleared.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import durable_rules_engine
from durable import engine

Fired = tuple[str, dict[str, dict[str, Any]]]
"""(durable rule name, alias -> matched message) for one rule completion."""

SHARED_SESSION = "0"
"""Tagent posts every event to one session per ruleset (sequences join on the workload instead)."""
PRIME_RULE, PRIME_PROP = "tagent$prime", "tagent_prime"
NOT_HANDLED, OBSERVED, QUEUED = 1, 2, 3
"""Result codes of durable_rules_engine.assert_event (see durable.engine.Ruleset._handle_result)."""


class QuietHost(engine.Host):  # durable ships no type hints: Host is Any
    """A durable Host without its polling threads (see the module docstring)."""

    def _run(self) -> None:
        return None


def _action(name: str, sink: list[Fired]) -> Callable[[Any], None]:
    """A durable action that only records the match; it must not raise (durable would hide the error)."""

    def act(closure: Any) -> None:
        matched = {alias: dict(msg) for alias, msg in closure._m.items()}
        sink.append((name, matched))

    return act


class DurableRuleset:
    """One durable ruleset: post a message, read what fired, free sessions, close."""

    def __init__(self, host: QuietHost, name: str, rules: Mapping[str, Mapping[str, Any]]) -> None:
        self.name = name
        self._host = host
        self._fired: list[Fired] = []
        self._primed: list[Fired] = []
        self._sids: set[str] = set()
        definition: dict[str, Any] = {rule: {**json.loads(json.dumps(spec)), "run": _action(rule, self._fired)}
                                      for rule, spec in rules.items()}
        definition[PRIME_RULE] = {"all": [{"m": {PRIME_PROP: 1}}], "run": _action(PRIME_RULE, self._primed)}
        host.register_rulesets({name: definition})
        self._ruleset = host.get_ruleset(name)
        self._handle = self._ruleset._handle  # durable's Python API exposes no other way to the C ruleset
        self._closed = False

    def _prime(self, sid: str) -> None:
        self._sids.add(sid)
        self._primed.clear()
        self._assert(json.dumps({"sid": sid, PRIME_PROP: 1}))
        if not self._primed:
            raise RuntimeError(f"durable_rules did not prime session {sid!r} of {self.name}")

    def post(self, message: dict[str, Any]) -> list[Fired] | None:
        """Assert one event in session `message['sid']` (see `post_text`)."""
        return self.post_text(str(message["sid"]), json.dumps(message, ensure_ascii=False))

    def post_text(self, sid: str, text: str) -> list[Fired] | None:
        """Assert one JSON-encoded event of session `sid`: the rules it completed (often none), or None when
        no condition of any rule matched it (the event is not kept).

        This is `Host.post` without its two costs per unmatched event (durable raises an exception whose
        constructor encodes the message again), so one encoding serves every ruleset an event goes to."""
        if sid not in self._sids:
            self._prime(sid)
        self._fired.clear()
        if not self._assert(text):
            return None
        fired = list(self._fired)
        self._fired.clear()
        return fired

    def _assert(self, text: str) -> bool:
        code, state = durable_rules_engine.assert_event(self._handle, text)
        if code in (NOT_HANDLED, OBSERVED):
            return False
        errors: list[BaseException] = []
        self._ruleset.do_actions(0 if code == QUEUED else state,
                                 lambda error, _state: errors.append(error) if error else None)
        if errors:
            raise errors[0]
        return True

    def pending(self, sid: str) -> list[dict[str, Any]]:
        """Events durable keeps in a session, waiting for the rest of a sequence."""
        if sid not in self._sids:
            return []
        return list(self._ruleset.get_pending_events(sid))

    def forget(self, sid: str) -> None:
        """Delete a session (its pending events too), freeing its slot and its memory."""
        if sid in self._sids:
            self._sids.discard(sid)
            self._ruleset.delete_state(sid)

    @property
    def sessions(self) -> int:
        return len(self._sids)

    def close(self) -> None:
        """Free every session, then the ruleset itself (durable's Python API has no call for the latter)."""
        if self._closed:
            return
        self._closed = True
        for sid in list(self._sids):
            self.forget(sid)
        durable_rules_engine.delete_ruleset(self._handle)
