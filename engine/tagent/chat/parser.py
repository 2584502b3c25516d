"""The deterministic chat parser: text + live inventory -> `ChatIntent`, no network, no LLM.

Pipeline: normalise (fillers, Hinglish, numbers) -> fix verb typos -> score intents (the cues of the intent
table, tagent.chat.intents) -> find the namespace hint and the named targets -> read the entry's parameters ->
build the intent with the entry's kubectl equivalent and summary. Whenever the target or a
number is missing, unknown or ambiguous, the result carries a `question` and no command: the parser
asks, it never guesses something that mutates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from tagent.chat.compound import compound
from tagent.chat.intent import ChatIntent, ChatParams, ChatTarget, Intent, TargetKind
from tagent.chat.intents import TABLE, Ask, IntentSpec, IntentTable, ParamInput
from tagent.chat.normalise import normalise
from tagent.chat.resolve import Mention, Resolver, pick
from tagent.chat.vocabulary import ENVIRONMENT_WORDS, VOCABULARY, fix_verb_typos
from tagent.model.inventory import NodeInfo, WorkloadInfo

MAX_TEXT = 2000
HELP = ("I can list nodes and workloads, scale, restart, roll back or delete a workload, show its logs or "
        "metrics, and explain incidents. For example: \"scale payment-service to 5 replicas\".")
_ALL_WORDS = {"all", "everything", "every", "namespace", "cluster", "whole", "sabhi", "poora", "pura"}


@dataclass
class _Context:
    text: str
    tokens: list[str]
    namespace: str | None = None
    namespace_error: str | None = None
    skip: set[int] = field(default_factory=set)
    soft_namespace: bool = False
    soft_tokens: set[int] = field(default_factory=set)
    workloads: list[Mention] = field(default_factory=list)
    nodes: list[Mention] = field(default_factory=list)
    unknown_words: list[str] = field(default_factory=list)


class Parser:
    """Parses messages against one inventory snapshot (build one per request; it is cheap)."""

    def __init__(self, workloads: Sequence[WorkloadInfo], nodes: Sequence[NodeInfo], table: IntentTable = TABLE
                 ) -> None:
        self.resolver = Resolver(workloads, nodes)
        self.table = table

    def parse(self, text: str) -> ChatIntent:
        if not text.strip():
            return ChatIntent(text=text, intent=Intent.unknown, question=HELP, question_reason="not_understood")
        if len(text) > MAX_TEXT:
            return ChatIntent(text=text[:MAX_TEXT], intent=Intent.unknown, question_reason="not_understood",
                              question=f"That message is too long (over {MAX_TEXT} characters). {HELP}")
        return compound(text, self._parse_one, self.table) or self._parse_one(text)

    def _parse_one(self, text: str) -> ChatIntent:
        tokens = fix_verb_typos(normalise(text), self.resolver.alias_distances(normalise(text)))
        ctx = _Context(text=text, tokens=tokens)
        self._namespace_hint(ctx)
        mentions = self.resolver.mentions(tokens, VOCABULARY, frozenset(ctx.skip))
        workloads = [m for m in mentions if m.target.is_workload]
        ctx.workloads = [m for m in workloads if ctx.namespace is None or m.target.namespace == ctx.namespace]
        if ctx.soft_namespace and workloads and not ctx.workloads:
            ctx.namespace, ctx.workloads = None, workloads
        if ctx.namespace_error:
            ctx.workloads = []  # nothing lives in a namespace that does not exist
        ctx.nodes = [m for m in mentions if m.target.kind is TargetKind.node]
        ctx.unknown_words = self._unknown_words(ctx, mentions)
        scored = self.table.score(tokens)
        spec = self.table.get(scored.intent)
        if spec is None:
            return ChatIntent(text=text, intent=Intent.unknown, confidence=scored.confidence,
                              question=f"Sorry, I did not understand that. {HELP}", question_reason="not_understood")
        result = self._workload_intent(ctx, spec) if spec.takes == "workload" else self._read_intent(ctx, spec)
        confidence = scored.confidence * (result.confidence or 1.0)
        return result.model_copy(update={"confidence": round(min(confidence, 1.0), 3)})

    # -- targets -------------------------------------------------------------------------------------

    def _namespace_hint(self, ctx: _Context) -> None:
        toks = ctx.tokens
        for i, tok in enumerate(toks):
            word, explicit = None, False
            if tok == "namespace":
                if i + 1 < len(toks) and _could_name(toks[i + 1]):
                    word, explicit, at = toks[i + 1], True, i + 1
                elif i > 0 and _could_name(toks[i - 1]):
                    word, explicit, at = toks[i - 1], True, i - 1
            elif tok == "/" and i > 0:
                word, explicit, at = toks[i - 1], True, i - 1
            elif tok in ("in", "from", "on", "inside", "within", "of") and i + 1 < len(toks):
                word, at = toks[i + 1], i + 1
            if word is None or word.isdigit():
                continue
            ns = self.resolver.namespace_named(word, explicit)
            if ns is not None:
                ctx.namespace = ns
                ctx.skip.update({at, i})
                return
            if explicit and tok == "namespace":
                ctx.namespace_error = (f"There is no namespace '{word}'. Namespaces: "
                                       f"{', '.join(self.resolver.namespaces)}.")
                ctx.skip.update({at, i})
                return
        # Hinglish puts the place after the noun ("shop mein", and "mein" is dropped): a bare namespace
        # name is a soft hint, kept only when it does not contradict a named workload
        for i, tok in enumerate(toks):
            if tok not in VOCABULARY and (ns := self.resolver.namespace_named(tok, explicit=False)):
                ctx.namespace, ctx.soft_namespace = ns, True
                ctx.soft_tokens.add(i)
                return

    def _unknown_words(self, ctx: _Context, mentions: list[Mention]) -> list[str]:
        covered = ctx.skip | ctx.soft_tokens
        for m in mentions:
            covered.update(range(m.start, m.end))
        return [t for i, t in enumerate(ctx.tokens) if i not in covered and t not in VOCABULARY
                and not t.isdigit() and len(t) >= 3 and t != "/"]

    def _pick_workload(self, ctx: _Context, spec: IntentSpec) -> tuple[Mention | None, ChatIntent | None]:
        """The one workload a message names, or a question intent explaining why there is none."""
        chosen, close = pick(ctx.workloads)
        if chosen is not None:
            return chosen, None
        if close:
            names = " or ".join(str(m.target) for m in close)
            return None, self._ask(ctx, spec, f"Which one do you mean: {names}?", "ambiguous_target",
                                   candidates=[m.target for m in close])
        if ctx.namespace_error:
            return None, self._ask(ctx, spec, ctx.namespace_error, "unknown_namespace")
        if spec.mutating and ctx.nodes:
            return None, self._ask(ctx, spec, f"I do not change nodes from chat. Which workload should I "
                                   f"{spec.verb}? I know: {self.resolver.names()}.", "unsupported_target")
        if spec.one_at_a_time and any(t in _ALL_WORDS for t in ctx.tokens):
            return None, self._ask(ctx, spec, "I delete one workload at a time, never a whole namespace or "
                                   f"everything. Which workload? I know: {self.resolver.names()}.",
                                   "unsupported_target")
        scope = f" in namespace {ctx.namespace}" if ctx.namespace else ""
        if ctx.unknown_words:
            word = " ".join(ctx.unknown_words[:3])
            return None, self._ask(ctx, spec, f"I could not find a workload called '{word}'{scope}. "
                                   f"I know: {self.resolver.names()}.", "unknown_target")
        return None, self._ask(ctx, spec, f"Which workload should I {spec.verb}{scope}? "
                               f"I know: {self.resolver.names()}.", "missing_target")

    # -- intents -------------------------------------------------------------------------------------

    def _workload_intent(self, ctx: _Context, spec: IntentSpec) -> ChatIntent:
        mention, question = self._pick_workload(ctx, spec)
        if mention is None:
            assert question is not None
            return question
        target, current = mention.target, mention.replicas
        read = spec.params(ParamInput(ctx.text, ctx.tokens, target, current))
        if isinstance(read, Ask):
            return self._ask(ctx, spec, read.text, read.reason, target, current)
        made = self._make(ctx, spec, target, ChatParams(**read.values), mention.score, current, mention.labels)
        if read.note:
            made = made.model_copy(update={"summary": f"{made.summary} {read.note}"})
        return made

    def _read_intent(self, ctx: _Context, spec: IntentSpec) -> ChatIntent:
        mention, close = pick(ctx.workloads)
        if close:
            names = " or ".join(str(m.target) for m in close)
            return self._ask(ctx, spec, f"Which one do you mean: {names}?", "ambiguous_target",
                             candidates=[m.target for m in close])
        node, _ = pick(ctx.nodes)
        read = spec.params(ParamInput(ctx.text, ctx.tokens))
        if isinstance(read, Ask):
            return self._ask(ctx, spec, read.text, read.reason)
        params = ChatParams(**read.values)
        score = 1.0
        if mention is not None:
            target, score = mention.target, mention.score
        elif node is not None:
            target, score = node.target, node.score
        elif ctx.namespace_error:
            return self._ask(ctx, spec, ctx.namespace_error, "unknown_namespace")
        elif spec.untargeted == "none":
            return self._make(ctx, spec, None, params, 1.0)
        else:
            target = self._collection(ctx, spec)
        labels = mention.labels if mention is not None else {}
        current = mention.replicas if mention is not None else None
        return self._make(ctx, spec, target, params, score, current, labels)

    def _collection(self, ctx: _Context, spec: IntentSpec) -> ChatTarget:
        """What a read request without a named target is about: nodes, namespaces, or pods."""
        toks = set(ctx.tokens)
        if "nodes" in toks or "node" in toks or "cluster" in toks:
            return ChatTarget(kind=TargetKind.node)
        if "namespace" in toks and ctx.namespace is None:
            return ChatTarget(kind=TargetKind.namespace)
        if ctx.namespace is None and spec.untargeted == "nodes":
            return ChatTarget(kind=TargetKind.node)
        if "deployment" in toks or "service" in toks or "app" in toks or "workload" in toks:
            return ChatTarget(kind=TargetKind.deployment, namespace=ctx.namespace or "")
        return ChatTarget(kind=TargetKind.pod, namespace=ctx.namespace or "")

    # -- building ------------------------------------------------------------------------------------

    def _make(self, ctx: _Context, spec: IntentSpec, target: ChatTarget | None, params: ChatParams, score: float,
              current: int | None = None, labels: dict[str, str] | None = None) -> ChatIntent:
        return ChatIntent(
            text=ctx.text, intent=spec.name, target=target, params=params,
            command=self.table.command(spec.name, target, params, labels),
            requires_confirmation=spec.mutating, confidence=score,
            summary=self.table.summary(spec.name, target, params, current), current_replicas=current,
        )

    def _ask(self, ctx: _Context, spec: IntentSpec, question: str, reason: str, target: ChatTarget | None = None,
             current: int | None = None, candidates: list[ChatTarget] | None = None) -> ChatIntent:
        return ChatIntent(
            text=ctx.text, intent=spec.name, target=target, requires_confirmation=spec.mutating,
            confidence=0.5, question=question, question_reason=reason, current_replicas=current,
            candidates=candidates or [],
        )


def parse(text: str, workloads: Sequence[WorkloadInfo], nodes: Sequence[NodeInfo], table: IntentTable = TABLE
          ) -> ChatIntent:
    """Understand one message against the live inventory (workloads and nodes listed by the caller)."""
    return Parser(workloads, nodes, table).parse(text)



def _could_name(word: str) -> bool:
    """Whether a word next to "namespace" may be its name ("staging namespace", not "list namespaces")."""
    return word not in VOCABULARY or word in ENVIRONMENT_WORDS
