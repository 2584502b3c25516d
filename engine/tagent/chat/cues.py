"""Which intent a normalised message expresses: weighted cue phrases, scored and compared.

Cues are data (pattern, weight). A mutating verb that follows a question or auxiliary word ("why did
checkout restart?", "after the restart") is a mention, not a command, and counts for little; the
highest total wins, and a close runner-up lowers the confidence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tagent.chat.intent import MUTATING, Intent

_CUES: dict[Intent, list[tuple[str, float]]] = {
    Intent.rollback: [(r"rollback", 4.0), (r"rollout rollback", 4.0), (r"previous-version", 2.5)],
    Intent.delete: [(r"delete", 4.0)],
    Intent.restart: [(r"restart", 4.0), (r"redeploy", 3.0), (r"kick", 2.5), (r"cycle", 2.5), (r"reload", 2.0),
                     (r"refresh", 2.0), (r"rollout", 1.5)],
    Intent.scale: [(r"scale", 4.0), (r"(?:increase|decrease|reduce|bump|raise|lower|double|triple|halve|add)", 2.0),
                   (r"\d+ (?:more |less |fewer |extra )?replicas", 2.5), (r"replicas (?:to )?\d+", 2.5),
                   (r"need \d+", 1.5), (r"make (?:it )?\d+", 2.5), (r"set (?:it )?to \d+", 2.0),
                   (r"(?:stop|pause|shutdown|shut down|switch off|turn off)", 3.0),
                   (r"(?:to|by) \d+", 0.5), (r"spin (?:up|down)", 3.0), (r"\d+ (?:more|extra|fewer|less)", 1.5),
                   (r"wake", 4.5), (r"bring(?: \S+){0,3} back", 4.5), (r"restore(?: \S+){0,4} replicas", 4.5)],
    Intent.logs: [(r"logs", 4.0), (r"tail", 2.0), (r"stack ?trace", 2.0)],
    Intent.metrics: [(r"(?:cpu|memory|utili[sz]ation|metrics|top|latency|error_rate|request_rate)", 2.5),
                     (r"usage|consum\w*|load|using|hogging|eating|resources", 1.5), (r"restarts", 2.0),
                     (r"slow|slowness|sluggish", 2.0)],
    Intent.explain: [(r"what happened", 3.5), (r"why", 3.0), (r"explain", 3.5), (r"incidents?", 2.5),
                     (r"root cause|rca|post ?mortem|postmortem|outages?|went wrong|went down|what broke", 2.5),
                     (r"who (?:deleted|restarted|scaled|changed|broke|did|rolled)", 2.5),
                     (r"crash\w*|fail\w*|alert\w*|issue|issues|problem|problems", 1.0)],
    Intent.get: [(r"how many", 2.0), (r"list", 2.0), (r"status|state", 2.0), (r"describe", 2.0), (r"get", 1.5),
                 (r"count", 1.5), (r"show", 1.0), (r"running", 1.0), (r"health|healthy|up|alive|ready", 1.0),
                 (r"check", 1.0), (r"which|what is running|are there|is there", 1.0), (r"nodes", 0.5),
                 (r"how (?:is|are)", 1.0), (r"doing|looking", 0.5), (r"looks? like", 1.5)],
}
_COMPILED = {intent: [(re.compile(rf"(?<![\w-])(?:{p})(?![\w-])"), w) for p, w in cues]
             for intent, cues in _CUES.items()}
_MENTION_BEFORE = frozenset({"why", "did", "was", "were", "been", "has", "have", "had", "when", "who", "after",
                             "before", "since", "last", "recent", "latest", "any", "how", "what"})
_PRIORITY = [Intent.logs, Intent.metrics, Intent.rollback, Intent.delete, Intent.restart, Intent.scale,
             Intent.explain, Intent.get]
# Scale-down phrasing that uses a delete word: "remove 2 pods from checkout", "kill 1 instance".
_DELETE_REPLICAS = re.compile(r"(?<![\w-])delete (?:\d+|couple)(?: more| extra)? replicas(?![\w-])")


@dataclass(frozen=True)
class IntentScore:
    intent: Intent
    score: float
    runner_up: float

    @property
    def confidence(self) -> float:
        """Strong cues near 1.0; a weak single cue or a close runner-up lower."""
        if self.intent is Intent.unknown:
            return 0.1
        base = min(1.0, 0.45 + self.score / 8)
        if self.score - self.runner_up < 1.0:
            base *= 0.8
        return round(base, 3)


def score_intents(tokens: list[str]) -> IntentScore:
    """The winning intent of a token list, with its score and the runner-up's."""
    text = " ".join(tokens)
    totals: dict[Intent, float] = {}
    for intent, cues in _COMPILED.items():
        total = 0.0
        for pattern, weight in cues:
            for match in pattern.finditer(text):
                factor = _mention_factor(text, match.start()) if intent in MUTATING else 1.0
                total += weight * factor
        if total:
            totals[intent] = total
    if _DELETE_REPLICAS.search(text):
        totals[Intent.scale] = totals.get(Intent.scale, 0.0) + 6.0
        totals.pop(Intent.delete, None)
    if not totals:
        return IntentScore(Intent.unknown, 0.0, 0.0)
    ranked = sorted(totals.items(), key=lambda kv: (-kv[1], _PRIORITY.index(kv[0])))
    runner = ranked[1][1] if len(ranked) > 1 else 0.0
    return IntentScore(ranked[0][0], ranked[0][1], runner)


def _mention_factor(text: str, pos: int) -> float:
    """0.3 when the verb at `pos` is talked about ("why did it restart") rather than asked for."""
    before = text[:pos].split()[-3:]
    return 0.3 if any(word in _MENTION_BEFORE for word in before) else 1.0
