"""Name resolution: which workload or node of the live inventory a message talks about.

The inventory is data passed in (the caller lists it from the cluster), so resolution is pure and
testable. Every workload gets aliases: its name with separators removed ("paymentservice"), its
distinctive parts ("payment", "redis") and, when unique, its runtime ("database" -> postgres).
Contiguous token spans of the message are compared to the aliases with rapidfuzz's Damerau-Levenshtein
distance, allowing more typos in longer names. Two close candidates are an ambiguity, never a guess.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from rapidfuzz.distance import DamerauLevenshtein

from tagent.chat.intent import ChatTarget, TargetKind
from tagent.model.inventory import NodeInfo, Runtime, WorkloadInfo

GENERIC_WORDS = frozenset({"service", "deployment", "app", "application", "statefulset", "microservice",
                           "workload", "replicas", "api", "server", "pods", "component"})
_GENERIC_PARTS = GENERIC_WORDS | {"svc", "env", "deploy", "worker", "web", "v1", "v2"}
_RUNTIME_WORDS = {Runtime.database: ("database", "postgres", "postgresql"), Runtime.cache: ("cache", "redis")}
_MAX_SPAN = 4
AMBIGUITY_MARGIN = 0.06


def compact(text: str) -> str:
    """"Payment Service", "payment-service", "payment_service" -> "paymentservice"."""
    return "".join(ch for ch in text.lower() if ch.isalnum())


def allowed_edits(length: int) -> int:
    """Typos tolerated for a name of this length: none for short names, where one edit is a new word."""
    return 0 if length < 5 else 1 if length < 8 else 2


@dataclass(frozen=True)
class Mention:
    """A span of the message that names a target, with how sure the match is (0..1)."""

    target: ChatTarget
    score: float
    start: int
    end: int
    replicas: int | None = None
    labels: dict[str, str] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class _Alias:
    key: str
    weight: float
    target: ChatTarget
    replicas: int | None
    labels: dict[str, str] = field(hash=False, compare=False)


class Resolver:
    """Aliases of one inventory snapshot, and the span matching over a token list."""

    def __init__(self, workloads: Sequence[WorkloadInfo], nodes: Sequence[NodeInfo]) -> None:
        self.workloads = list(workloads)
        self.nodes = list(nodes)
        self.namespaces = sorted({w.ref.namespace for w in self.workloads if w.ref.namespace})
        self._aliases = self._build_aliases()

    def _build_aliases(self) -> list[_Alias]:
        aliases: list[_Alias] = []
        part_owners: dict[str, set[str]] = {}
        for w in self.workloads:
            for part in w.ref.name.lower().replace("_", "-").split("-"):
                part_owners.setdefault(part, set()).add(w.ref.name)
        runtime_count: dict[Runtime, int] = {}
        for w in self.workloads:
            runtime_count[w.runtime] = runtime_count.get(w.runtime, 0) + 1
        for w in self.workloads:
            kind = TargetKind.statefulset if w.ref.kind.lower() == "statefulset" else TargetKind.deployment
            target = ChatTarget(kind=kind, namespace=w.ref.namespace, name=w.ref.name)
            keys: dict[str, float] = {compact(w.ref.name): 1.0}
            parts = [p for p in w.ref.name.lower().replace("_", "-").split("-") if p]
            for part in parts:
                if len(parts) > 1 and part not in _GENERIC_PARTS and len(part) >= 3 and not part.isdigit():
                    keys.setdefault(part, 0.9)
            for word in _RUNTIME_WORDS.get(w.runtime, ()):
                if runtime_count[w.runtime] == 1:
                    keys.setdefault(word, 0.85)
            for key, weight in keys.items():
                aliases.append(_Alias(key, weight, target, w.replicas, dict(w.labels)))
        for n in self.nodes:
            target = ChatTarget(kind=TargetKind.node, name=n.name)
            aliases.append(_Alias(compact(n.name), 1.0, target, None, {}))
        return aliases

    def mentions(self, tokens: Sequence[str], vocabulary: frozenset[str], skip: frozenset[int] = frozenset()
                 ) -> list[Mention]:
        """The best mention per distinct target, best first."""
        best: dict[ChatTarget, Mention] = {}
        for start in range(len(tokens)):
            for end in range(start + 1, min(len(tokens), start + _MAX_SPAN) + 1):
                span = tokens[start:end]
                if any(i in skip for i in range(start, end)) or span[0] in ("/", "to", "of", "in", "and"):
                    break
                for mention in self._match_span(span, start, end, vocabulary):
                    old = best.get(mention.target)
                    if old is None or mention.score > old.score:
                        best[mention.target] = mention
        return sorted(best.values(), key=lambda m: (-m.score, -(m.end - m.start), m.start))

    def _match_span(self, span: Sequence[str], start: int, end: int, vocabulary: frozenset[str]
                    ) -> list[Mention]:
        variants = [(span, 1.0)]
        trimmed = list(span)
        while len(trimmed) > 1 and trimmed[-1] in GENERIC_WORDS:
            trimmed = trimmed[:-1]
            variants.append((trimmed, 0.98))
        found: list[Mention] = []
        for words, variant_weight in variants:
            key = compact("".join(words))
            if not key:
                continue
            known = sum(1 for w in words if w in vocabulary)
            # joining common words ("check out") is a weaker sign than a name typed as one word;
            # "payment service" is not: "service" is a usual part of a name
            common = any(w in vocabulary and w not in GENERIC_WORDS for w in words)
            join_weight = 0.8 if common and len(words) > 1 else 1.0
            for alias in self._aliases:
                score = _similarity(key, alias.key, fuzzy=known == 0)
                if score > 0:
                    found.append(Mention(alias.target, round(score * alias.weight * variant_weight * join_weight, 4),
                                         start, end, alias.replicas, alias.labels))
        return found

    def alias_distances(self, tokens: Sequence[str]) -> dict[str, int]:
        """Each token's edit distance to the closest alias (for telling name typos from verb typos)."""
        return {tok: min((DamerauLevenshtein.distance(tok, a.key) for a in self._aliases), default=99)
                for tok in set(tokens)}

    def namespace_named(self, word: str, explicit: bool) -> str | None:
        """The inventory namespace a word names (typos allowed when the word is explicitly a namespace)."""
        key = compact(word)
        for ns in self.namespaces:
            if compact(ns) == key:
                return ns
        if explicit:
            close = [ns for ns in self.namespaces
                     if DamerauLevenshtein.distance(compact(ns), key) <= allowed_edits(len(ns))]
            if len(close) == 1:
                return close[0]
        return None

    def workload(self, target: ChatTarget) -> WorkloadInfo | None:
        for w in self.workloads:
            if w.ref.namespace == target.namespace and w.ref.name == target.name:
                return w
        return None

    def names(self, limit: int = 12) -> str:
        """A short list of what exists, for questions back."""
        shown = [f"{w.ref.namespace}/{w.ref.name}" for w in self.workloads][:limit]
        more = len(self.workloads) - len(shown)
        return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def _similarity(key: str, alias: str, fuzzy: bool) -> float:
    if key == alias:
        return 1.0
    if key == alias + "s" and fuzzy:
        return 0.95  # plural: "payments", "carts"
    if not fuzzy or min(len(key), len(alias)) < 4:
        return 0.0
    dist = DamerauLevenshtein.distance(key, alias)
    if dist > allowed_edits(len(alias)):
        return 0.0
    return 1.0 - 0.08 * dist


def pick(mentions: Sequence[Mention]) -> tuple[Mention | None, list[Mention]]:
    """(the chosen mention, []) or (None, the close candidates) when two are too close to tell apart."""
    if not mentions:
        return None, []
    top = mentions[0]
    close = [m for m in mentions if top.score - m.score < AMBIGUITY_MARGIN]
    if len(close) > 1:
        return None, close
    return top, []
