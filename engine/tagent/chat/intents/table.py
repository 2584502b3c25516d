"""The intent table: the entries in order, and what is computed from all of them at once.

Which intent a normalised message expresses is scored here from every entry's cues: a mutating verb that
follows a question or auxiliary word ("why did checkout restart?", "after the restart") is a mention, not a
command, and counts for little; the highest total wins (ties by the entries' priority), and a close runner-up
lowers the confidence. The LLM fallback's tools are the entries that have one, plus `unknown`.

    table = TABLE.adding(my_spec)   # a copy with one more intent: pass it to Parser / understand / ChatService
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from tagent.chat.intent import ChatParams, ChatTarget, Intent
from tagent.chat.intents.spec import IntentSpec, Tool

_MENTION_BEFORE = frozenset({"why", "did", "was", "were", "been", "has", "have", "had", "when", "who", "after",
                             "before", "since", "last", "recent", "latest", "any", "how", "what"})
UNKNOWN_TOOL = Tool("The message is not one of the other requests, or it does not clearly name its target.",
                    {"reason": {"type": "string"}})


@dataclass(frozen=True)
class IntentScore:
    intent: str
    score: float
    runner_up: float

    @property
    def confidence(self) -> float:
        """Strong cues near 1.0; a weak single cue or a close runner-up lower."""
        if self.intent == Intent.unknown:
            return 0.1
        base = min(1.0, 0.45 + self.score / 8)
        if self.score - self.runner_up < 1.0:
            base *= 0.8
        return round(base, 3)


@dataclass(frozen=True)
class _Compiled:
    intent: str
    pattern: re.Pattern[str]
    weight: float
    overrides: tuple[str, ...]
    mutating: bool


class IntentTable:
    """The chat intents, in the order the LLM is offered them. Immutable: `adding` returns a new table."""

    def __init__(self, specs: Iterable[IntentSpec]) -> None:
        self._specs: dict[str, IntentSpec] = {}
        for spec in specs:
            if spec.name in self._specs:
                raise ValueError(f"intent {spec.name} is in the table twice")
            self._specs[spec.name] = spec
        self._cues = [_Compiled(s.name, re.compile(rf"(?<![\w-])(?:{c.pattern})(?![\w-])"), c.weight, c.overrides,
                                s.mutating) for s in self._specs.values() for c in s.cues]

    def adding(self, spec: IntentSpec) -> IntentTable:
        return IntentTable([*self._specs.values(), spec])

    def __iter__(self) -> Iterator[IntentSpec]:
        return iter(self._specs.values())

    def __len__(self) -> int:
        return len(self._specs)

    def __contains__(self, name: object) -> bool:
        return str(name) in self._specs

    def get(self, name: object) -> IntentSpec | None:
        return self._specs.get(str(name))

    def __getitem__(self, name: object) -> IntentSpec:
        return self._specs[str(name)]

    @property
    def mutating(self) -> frozenset[str]:
        return frozenset(s.name for s in self if s.mutating)

    def is_mutating(self, name: object) -> bool:
        spec = self.get(name)
        return spec is not None and spec.mutating

    # ------------------------------------------------------------------ recognising

    def score(self, tokens: list[str]) -> IntentScore:
        """The winning intent of a token list, with its score and the runner-up's."""
        text = " ".join(tokens)
        totals: dict[str, float] = {}
        ruled_out: set[str] = set()
        for cue in self._cues:
            if cue.overrides:
                if cue.pattern.search(text):
                    totals[cue.intent] = totals.get(cue.intent, 0.0) + cue.weight
                    ruled_out.update(cue.overrides)
                continue
            for match in cue.pattern.finditer(text):
                factor = _mention_factor(text, match.start()) if cue.mutating else 1.0
                totals[cue.intent] = totals.get(cue.intent, 0.0) + cue.weight * factor
        totals = {name: total for name, total in totals.items() if total and name not in ruled_out}
        if not totals:
            return IntentScore(Intent.unknown, 0.0, 0.0)
        ranked = sorted(totals.items(), key=lambda kv: (-kv[1], self[kv[0]].priority))
        runner = ranked[1][1] if len(ranked) > 1 else 0.0
        return IntentScore(ranked[0][0], ranked[0][1], runner)

    # ------------------------------------------------------------------ rendering

    def command(self, name: object, target: ChatTarget | None, params: ChatParams,
                labels: Mapping[str, str] | None = None) -> str | None:
        """The kubectl equivalent, or None where there is none (no target, explain, unknown)."""
        spec = self.get(name)
        if spec is None or target is None:
            return None
        return spec.kubectl(target, params, labels or {})

    def summary(self, name: object, target: ChatTarget | None, params: ChatParams, current: int | None) -> str:
        """A one-line human summary, e.g. "scale shop/payment-service from 2 to 10 replicas"."""
        spec = self.get(name)
        if spec is None or (target is None and spec.untargeted != "none"):
            return ""
        return spec.summary(target, params, current)

    # ------------------------------------------------------------------ the LLM fallback

    def tools(self) -> list[dict[str, Any]]:
        """One function per entry the LLM may propose, then `unknown`."""
        return [*(s.tool.schema(s.name) for s in self if s.tool is not None), UNKNOWN_TOOL.schema("unknown")]


def _mention_factor(text: str, pos: int) -> float:
    """0.3 when the verb at `pos` is talked about ("why did it restart") rather than asked for."""
    before = text[:pos].split()[-3:]
    return 0.3 if any(word in _MENTION_BEFORE for word in before) else 1.0
