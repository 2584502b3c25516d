"""One entry of the intent table: everything a chat intent is, in one place.

An `IntentSpec` says how the intent is recognised (weighted cue phrases), what it needs (a workload, or any read
target), which parameters it reads from the message (and the question to ask instead of guessing one), its
kubectl equivalent and one-line summary, what runs it (a read answer, or a catalog action behind a confirmation),
the function the LLM fallback may call for it, and the verb it has for cloud servers. The parser, the service,
the acting step, the LLM fallback and the cloud servers read the entry; none of them names an intent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any, Literal

from tagent.chat.intent import WORKLOAD_KINDS, ChatIntent, ChatParams, ChatTarget, TargetKind
from tagent.model import WorkloadRef

if TYPE_CHECKING:  # the answers read the cluster; parsing alone never loads its client
    from tagent.chat.answers import Answer
    from tagent.clients.kubernetes import KubeClient
    from tagent.store import Store


@dataclass(frozen=True)
class Cue:
    """A phrase (a regular expression over the normalised tokens) that points to the intent, and how strongly.
    `overrides`: intents this cue rules out when it matches ("remove 2 pods" is a scale, not a delete); such a
    cue counts once, whatever precedes it."""

    pattern: str
    weight: float
    overrides: tuple[str, ...] = ()


@dataclass(frozen=True)
class ParamInput:
    """What a parameter reader sees: the raw text, its normalised tokens, and the target with its live count."""

    text: str
    tokens: list[str]
    target: ChatTarget | None = None
    current: int | None = None


@dataclass(frozen=True)
class Read:
    """Parameters read from a message (ChatParams fields); `note` is added to the summary."""

    values: Mapping[str, object] = field(default_factory=dict)
    note: str = ""


@dataclass(frozen=True)
class Ask:
    """The question to ask instead of guessing a parameter; nothing runs."""

    text: str
    reason: str


def no_params(_: ParamInput) -> Read | Ask:
    return Read()


def no_command(_target: ChatTarget, _params: ChatParams, _labels: Mapping[str, str]) -> str | None:
    return None


@dataclass(frozen=True)
class AnswerDeps:
    """What a read answer may use: the cluster (the one the target is in), the store, now and the team's zone."""

    kube: KubeClient
    store: Store
    now: datetime
    tz: tzinfo


@dataclass(frozen=True)
class Action:
    """The catalog action a confirmed change runs (through the guard, like automation)."""

    name: str
    params: Callable[[ChatIntent, WorkloadRef], dict[str, Any]]
    kinds: frozenset[TargetKind] = WORKLOAD_KINDS  # what chat may change this way; others are refused
    typed_name: bool = False  # the target's name must be typed back before it runs (deletes)


@dataclass(frozen=True)
class Tool:
    """The function the LLM fallback may call. `params`: the ChatParams fields it fills, with their default when
    the model leaves one out (None: none). `asks`: a field the intent cannot run without, and the question
    (formatted with {target} and {current}) with its reason."""

    description: str
    properties: Mapping[str, Mapping[str, Any]]
    required: tuple[str, ...] = ()
    params: Mapping[str, object] = field(default_factory=dict)
    asks: Mapping[str, tuple[str, str]] = field(default_factory=dict)

    def schema(self, name: str) -> dict[str, Any]:
        """The OpenAI-style function definition (JSON schema of its arguments, nothing else allowed)."""
        return {"type": "function", "function": {"name": name, "description": self.description, "parameters": {
            "type": "object", "properties": {k: dict(v) for k, v in self.properties.items()},
            "required": list(self.required), "additionalProperties": False}}}


NAMESPACE = {"type": "string", "description": "namespace, exactly as listed"}
NAME = {"type": "string", "description": "workload or node name, exactly as listed"}
KIND = {"type": "string", "enum": ["workload", "node", "pods", "deployments", "namespaces"]}
TARGET = {"namespace": NAMESPACE, "name": NAME}
"""The target arguments every tool shares (the fallback resolves them against the live inventory)."""


def instance_params(target: ChatTarget, _count: int | None) -> dict[str, Any]:
    return {"instance_id": target.name, "region": target.namespace}


@dataclass(frozen=True)
class ServerVerb:
    """The intent on cloud servers (tagent.chat.cloud): its verb pattern (the lowest `rank` is tried first),
    the catalog action, its parameters (from the target and the count asked for) and the word for the summary."""

    pattern: str
    action: str
    word: str
    rank: int = 0
    params: Callable[[ChatTarget, int | None], dict[str, Any]] = instance_params


@dataclass(frozen=True)
class IntentSpec:
    """One chat intent. `takes`: "workload" needs exactly one Deployment/StatefulSet; "read" takes a workload,
    a node or a collection; "server" is for cloud servers only (no cues of its own). `priority` breaks ties
    between equal cue scores (lowest first). `untargeted`: what a read naming no target is about (a
    collection, the nodes when no namespace is named either, or nothing)."""

    name: str
    verb: str  # "Which workload should I {verb}?"
    cues: tuple[Cue, ...] = ()
    priority: int = 100
    takes: Literal["workload", "read", "server"] = "read"
    mutating: bool = False
    params: Callable[[ParamInput], Read | Ask] = no_params
    kubectl: Callable[[ChatTarget, ChatParams, Mapping[str, str]], str | None] = no_command
    summary: Callable[[ChatTarget | None, ChatParams, int | None], str] = lambda _t, _p, _c: ""
    answer: Callable[[AnswerDeps, ChatIntent], Answer] | None = None
    action: Action | None = None
    tool: Tool | None = None
    server: ServerVerb | None = None
    untargeted: Literal["collection", "nodes", "none"] = "collection"
    one_at_a_time: bool = False  # "delete everything" is refused: one named target only
    clause_confidence: float = 0.55  # what a clause of a compound message needs to count as this request
    followups: Mapping[str, Callable[[AnswerDeps, ChatIntent], ChatIntent]] = field(default_factory=dict)
    """Questions (by reason) the service answers from its own records before asking: the intent back, runnable
    or still a question ("wake up cart": the savings ledger knows its count from before the scale-down)."""

    def __post_init__(self) -> None:
        if not self.name or not self.name.isidentifier() or self.name == "unknown":
            raise ValueError(f"intent name {self.name!r}: a lower-case identifier other than 'unknown'")
        if self.takes != "server" and self.mutating != (self.action is not None):
            raise ValueError(f"intent {self.name}: a change has an action, a read has none")
        if not self.mutating and self.takes != "server" and self.answer is None:
            raise ValueError(f"intent {self.name}: a read needs an answer")
