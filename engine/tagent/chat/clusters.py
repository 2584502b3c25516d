"""Chat across several clusters: "scale payment-service in prod to 4" names a cluster; without one, a workload
found in more than one cluster is a question ("which one?"), never a guess.

    picked = pick_cluster("scale payment-service in the prod cluster to 4", ["east", "prod"])
    picked.cluster == "prod"; picked.text == "scale payment-service to 4"

A cluster phrase is "in|on|at [the] NAME", "in|on [the] cluster NAME" or "in|on the NAME cluster", with NAME
one of the configured clusters; "cluster NAME" with a NAME nobody configured is an `unknown` cluster (a
question listing the real ones), so a typo never falls back to another cluster. The phrase is taken out of
the text before parsing, so "in prod" is not read as a namespace.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tagent.chat.intent import ChatIntent, ChatParams, Intent
from tagent.chat.intents import TABLE, IntentTable
from tagent.errors import ExternalError

MAX_TEXT = 2000  # tagent.chat.parser.MAX_TEXT

_PREP = r"\b(?:in|on|at|for)\s+(?:the\s+)?"
_EXPLICIT = re.compile(_PREP + r"(?:cluster\s+(?P<a>[a-z0-9][-a-z0-9]*)|(?P<b>[a-z0-9][-a-z0-9]*)\s+cluster)\b",
                       re.I)


@dataclass(frozen=True)
class Picked:
    cluster: str | None  # the named cluster, None when the message names none
    text: str  # the message without the cluster phrase
    unknown: str | None = None  # a cluster named explicitly that is not configured


def pick_cluster(text: str, names: Sequence[str]) -> Picked:
    """The cluster `text` names among `names` (empty `names`: one cluster, nothing to pick)."""
    if not names:
        return Picked(None, text)
    known = {n.lower() for n in names}
    explicit = _EXPLICIT.search(text)
    if explicit is not None:
        name = (explicit.group("a") or explicit.group("b")).lower()
        if name not in known:
            return Picked(None, text, unknown=name)
        return Picked(name, _without(text, explicit))
    alt = "|".join(re.escape(n) for n in sorted(known, key=len, reverse=True))
    plain = re.search(_PREP + rf"(?P<c>{alt})\b(?![-/])", text, re.I)
    if plain is not None:
        return Picked(plain.group("c").lower(), _without(text, plain))
    hinglish = re.search(rf"\b(?P<c>{alt})(?:\s+cluster)?\s+(?:mein|me|pe|par)\b", text, re.I)  # "prod mein"
    if hinglish is not None:
        return Picked(hinglish.group("c").lower(), _without(text, hinglish))
    return Picked(None, text)


def _without(text: str, match: re.Match[str]) -> str:
    return re.sub(r"\s{2,}", " ", f"{text[:match.start()]} {text[match.end():]}").strip()


def in_cluster(intent: ChatIntent, cluster: str, text: str, table: IntentTable = TABLE) -> ChatIntent:
    """`intent` (parsed from the text without its cluster phrase) about `cluster`, with the user's own `text`
    and a summary that names the cluster."""
    target = intent.target
    if target is None:
        return intent.model_copy(update={"text": text})
    target = target.model_copy(update={"cluster": cluster})
    summary = table.summary(intent.intent, target, intent.params, intent.current_replicas) or intent.summary
    return intent.model_copy(update={"text": text, "target": target, "summary": summary,
                                     "candidates": [c.model_copy(update={"cluster": cluster})
                                                    for c in intent.candidates]})


def holds_workload(intent: ChatIntent) -> bool:
    """The parse found exactly one workload (the cluster holds it)."""
    target = intent.target
    return intent.actionable and target is not None and target.is_workload and bool(target.name)


def which_cluster(intent: ChatIntent, clusters: Sequence[str], text: str) -> ChatIntent:
    """The question to ask when the workload exists in more than one cluster."""
    target = intent.target
    assert target is not None
    listed = ", ".join(clusters)
    example = f"{text.rstrip('.?! ')} in {clusters[-1]}"
    return intent.model_copy(update={
        "text": text, "question_reason": "ambiguous_cluster", "requires_confirmation": False, "command": None,
        "params": ChatParams(),  # a question prepares nothing: no command, no parameters (as the parser's own)
        "candidates": [target.model_copy(update={"cluster": c}) for c in clusters],
        "question": f"{target} exists in {len(clusters)} clusters: {listed}. Which one? "
                    f"Say the cluster, e.g. \"{example}\". Nothing was changed."})


def unknown_cluster(intent: ChatIntent, name: str, clusters: Sequence[str]) -> ChatIntent:
    return intent.model_copy(update={
        "question_reason": "unknown_cluster", "requires_confirmation": False,
        "question": f"There is no cluster {name!r}; the clusters are {', '.join(clusters)}. Nothing was changed."})


def across_clusters(text: str, home: str, remotes: Sequence[str], parse_in: Callable[[str, str], ChatIntent],
                    table: IntentTable = TABLE) -> ChatIntent:
    """Understand `text` in the cluster it names, else in every cluster holding the workload it names (more than
    one: a question). `parse_in(cluster, text)` parses against that cluster's live inventory; a remote cluster
    that cannot be read (ExternalError) holds nothing we could act on now, unless the text named it."""
    names = [home, *sorted(remotes)]
    picked, text = pick_cluster(text, names), text[:MAX_TEXT]
    if picked.unknown is not None:
        return unknown_cluster(ChatIntent(text=text, intent=Intent.unknown), picked.unknown, names)
    parsed: list[tuple[str, ChatIntent]] = []
    for name in [picked.cluster] if picked.cluster else names:
        try:
            parsed.append((name, parse_in(name, picked.text)))
        except ExternalError:
            if picked.cluster or name == home:
                raise
            continue
    holders = [(name, intent) for name, intent in parsed if holds_workload(intent)]
    if len(holders) > 1:
        return which_cluster(holders[0][1], [name for name, _ in holders], text)
    name, intent = holders[0] if holders else parsed[0]
    return in_cluster(intent, name, text, table)
