"""The deterministic chat parser: text + live inventory -> `ChatIntent`, no network, no LLM.

Pipeline: normalise (fillers, Hinglish, numbers) -> fix verb typos -> score intents -> find the
namespace hint and the named targets -> read parameters -> build the intent. Whenever the target or a
number is missing, unknown or ambiguous, the result carries a `question` and no command: the parser
asks, it never guesses something that mutates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from tagent.chat import params as p
from tagent.chat.compound import compound
from tagent.chat.cues import score_intents
from tagent.chat.intent import (
    MAX_REPLICAS,
    MUTATING,
    WORKLOAD_INTENTS,
    ChatIntent,
    ChatParams,
    ChatTarget,
    Intent,
    TargetKind,
    kubectl_command,
    summarise,
)
from tagent.chat.normalise import normalise
from tagent.chat.resolve import Mention, Resolver, pick
from tagent.chat.vocabulary import ENVIRONMENT_WORDS, VOCABULARY, fix_verb_typos
from tagent.model.inventory import NodeInfo, WorkloadInfo

MAX_TEXT = 2000
HELP = ("I can list nodes and workloads, scale, restart, roll back or delete a workload, show its logs or "
        "metrics, and explain incidents. For example: \"scale payment-service to 5 replicas\".")
_VERB = {Intent.scale: "scale", Intent.restart: "restart", Intent.rollback: "roll back", Intent.delete: "delete",
         Intent.logs: "show the logs of", Intent.metrics: "show metrics of", Intent.get: "show",
         Intent.explain: "explain"}
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

    def __init__(self, workloads: Sequence[WorkloadInfo], nodes: Sequence[NodeInfo]) -> None:
        self.resolver = Resolver(workloads, nodes)

    def parse(self, text: str) -> ChatIntent:
        if not text.strip():
            return ChatIntent(text=text, intent=Intent.unknown, question=HELP, question_reason="not_understood")
        if len(text) > MAX_TEXT:
            return ChatIntent(text=text[:MAX_TEXT], intent=Intent.unknown, question_reason="not_understood",
                              question=f"That message is too long (over {MAX_TEXT} characters). {HELP}")
        return compound(text, self._parse_one) or self._parse_one(text)

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
        scored = score_intents(tokens)
        if scored.intent is Intent.unknown:
            return ChatIntent(text=text, intent=Intent.unknown, confidence=scored.confidence,
                              question=f"Sorry, I did not understand that. {HELP}", question_reason="not_understood")
        if scored.intent in WORKLOAD_INTENTS:
            result = self._workload_intent(ctx, scored.intent)
        else:
            result = self._read_intent(ctx, scored.intent)
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

    def _pick_workload(self, ctx: _Context, intent: Intent) -> tuple[Mention | None, ChatIntent | None]:
        """The one workload a message names, or a question intent explaining why there is none."""
        chosen, close = pick(ctx.workloads)
        if chosen is not None:
            return chosen, None
        if close:
            names = " or ".join(str(m.target) for m in close)
            return None, self._ask(ctx, intent, f"Which one do you mean: {names}?", "ambiguous_target",
                                   candidates=[m.target for m in close])
        if ctx.namespace_error:
            return None, self._ask(ctx, intent, ctx.namespace_error, "unknown_namespace")
        if intent in MUTATING and ctx.nodes:
            return None, self._ask(ctx, intent, f"I do not change nodes from chat. Which workload should I "
                                   f"{_VERB[intent]}? I know: {self.resolver.names()}.", "unsupported_target")
        if intent is Intent.delete and any(t in _ALL_WORDS for t in ctx.tokens):
            return None, self._ask(ctx, intent, "I delete one workload at a time, never a whole namespace or "
                                   f"everything. Which workload? I know: {self.resolver.names()}.",
                                   "unsupported_target")
        scope = f" in namespace {ctx.namespace}" if ctx.namespace else ""
        if ctx.unknown_words:
            word = " ".join(ctx.unknown_words[:3])
            return None, self._ask(ctx, intent, f"I could not find a workload called '{word}'{scope}. "
                                   f"I know: {self.resolver.names()}.", "unknown_target")
        return None, self._ask(ctx, intent, f"Which workload should I {_VERB[intent]}{scope}? "
                               f"I know: {self.resolver.names()}.", "missing_target")

    # -- intents -------------------------------------------------------------------------------------

    def _workload_intent(self, ctx: _Context, intent: Intent) -> ChatIntent:
        mention, question = self._pick_workload(ctx, intent)
        if mention is None:
            assert question is not None
            return question
        target, current = mention.target, mention.replicas
        values: dict[str, object] = {}
        request: p.ReplicaRequest | None = None
        if intent is Intent.scale:
            asked = self._replicas(ctx, target, current)
            if isinstance(asked, ChatIntent):
                return asked
            replicas, request = asked
            values["replicas"] = replicas
        elif intent is Intent.rollback:
            values["revision"] = p.revision(ctx.tokens)
        elif intent is Intent.logs:
            tail = p.tail_lines(ctx.tokens)
            values["tail"] = min(tail or 100, 10000)
            values["since"] = p.duration_after(ctx.tokens, ("last", "past", "since", "previous"))
        made = self._make(ctx, intent, target, ChatParams(**values), mention.score, current, mention.labels)
        if request is not None and request.relative and current is not None:
            change = (f"{request.delta:+d}" if request.delta is not None
                      else {2.0: "doubled", 3.0: "tripled", 0.5: "halved"}.get(request.factor or 0, "changed"))
            made = made.model_copy(update={"summary": f"{made.summary} ({change}, from the {current} running now)"})
        return made

    def _replicas(self, ctx: _Context, target: ChatTarget, current: int | None
                  ) -> tuple[int, p.ReplicaRequest] | ChatIntent:
        """The replica count a scale message asks for, or the question to ask instead of guessing one."""
        def ask(text: str, reason: str) -> ChatIntent:
            question = f"{text} How many replicas should {target} have? It runs {current} now."
            return self._ask(ctx, Intent.scale, question.strip(), reason, target, current)

        bad = p.invalid_count(ctx.text)
        if bad is not None:
            return ask(f"I read {bad.strip()!r}: a replica count is a whole number, 0 or more, and I do not turn "
                       "it into another one.", "invalid_replicas")
        request = p.replica_request(ctx.tokens)
        if request.unclear:
            return ask(request.unclear, "unclear_replicas")
        if request.stated_from is not None and current is not None and request.stated_from != current:
            return ask(f"You said from {request.stated_from}, but {target} runs {current} now.", "count_mismatch")
        if request.relative and current is not None and not request.exact(current):
            return ask(f"That is not a whole number of replicas from the {current} running now.", "unclear_replicas")
        if request.delta is not None and current is not None and current + request.delta < 0:
            return ask(f"{abs(request.delta)} fewer than the {current} running now is below zero.",
                       "replicas_out_of_range")
        replicas = request.resolve(current)
        if replicas is None and p.wakes(ctx.tokens):
            return ask("Waking it up restores its count from before Tagent scaled it down, if Tagent did.",
                       "restore_replicas")
        if replicas is None:
            return ask("", "missing_replicas")
        if replicas > MAX_REPLICAS:
            return ask(f"{replicas} replicas is over the limit of {MAX_REPLICAS}.", "replicas_out_of_range")
        return replicas, request

    def _read_intent(self, ctx: _Context, intent: Intent) -> ChatIntent:
        mention, close = pick(ctx.workloads)
        if close:
            names = " or ".join(str(m.target) for m in close)
            return self._ask(ctx, intent, f"Which one do you mean: {names}?", "ambiguous_target",
                             candidates=[m.target for m in close])
        node, _ = pick(ctx.nodes)
        values: dict[str, object] = {}
        if intent is Intent.metrics:
            values["metric"] = p.metric(ctx.tokens)
        if intent is Intent.explain:
            values["period"] = p.period(ctx.tokens)
        score = 1.0
        if mention is not None:
            target, score = mention.target, mention.score
        elif node is not None:
            target, score = node.target, node.score
        elif ctx.namespace_error:
            return self._ask(ctx, intent, ctx.namespace_error, "unknown_namespace")
        elif intent is Intent.explain:
            return self._make(ctx, intent, None, ChatParams(**values), 1.0)
        else:
            target = self._collection(ctx, intent)
        labels = mention.labels if mention is not None else {}
        current = mention.replicas if mention is not None else None
        return self._make(ctx, intent, target, ChatParams(**values), score, current, labels)

    def _collection(self, ctx: _Context, intent: Intent) -> ChatTarget:
        """What a read request without a named target is about: nodes, namespaces, or pods."""
        toks = set(ctx.tokens)
        if "nodes" in toks or "node" in toks or "cluster" in toks:
            return ChatTarget(kind=TargetKind.node)
        if "namespace" in toks and ctx.namespace is None:
            return ChatTarget(kind=TargetKind.namespace)
        if ctx.namespace is None and intent is Intent.metrics:
            return ChatTarget(kind=TargetKind.node)
        if "deployment" in toks or "service" in toks or "app" in toks or "workload" in toks:
            return ChatTarget(kind=TargetKind.deployment, namespace=ctx.namespace or "")
        return ChatTarget(kind=TargetKind.pod, namespace=ctx.namespace or "")

    # -- building ------------------------------------------------------------------------------------

    def _make(self, ctx: _Context, intent: Intent, target: ChatTarget | None, params: ChatParams, score: float,
              current: int | None = None, labels: dict[str, str] | None = None) -> ChatIntent:
        return ChatIntent(
            text=ctx.text, intent=intent, target=target, params=params,
            command=kubectl_command(intent, target, params, labels),
            requires_confirmation=intent in MUTATING, confidence=score,
            summary=summarise(intent, target, params, current), current_replicas=current,
        )

    def _ask(self, ctx: _Context, intent: Intent, question: str, reason: str, target: ChatTarget | None = None,
             current: int | None = None, candidates: list[ChatTarget] | None = None) -> ChatIntent:
        return ChatIntent(
            text=ctx.text, intent=intent, target=target, requires_confirmation=intent in MUTATING,
            confidence=0.5, question=question, question_reason=reason, current_replicas=current,
            candidates=candidates or [],
        )


def parse(text: str, workloads: Sequence[WorkloadInfo], nodes: Sequence[NodeInfo]) -> ChatIntent:
    """Understand one message against the live inventory (workloads and nodes listed by the caller)."""
    return Parser(workloads, nodes).parse(text)



def _could_name(word: str) -> bool:
    """Whether a word next to "namespace" may be its name ("staging namespace", not "list namespaces")."""
    return word not in VOCABULARY or word in ENVIRONMENT_WORDS
