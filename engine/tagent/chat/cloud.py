"""Cloud servers in chat: what a message asks of EC2 instances and Auto Scaling groups, read against the live
cloud inventory.

    parsed = cloud_intent("stop the batch worker instance", servers, groups, workloads=names, endpoint=url)

- list: "list the servers", "which instances are running" -> `Intent.get` on all servers;
- stop / start / reboot an instance, named by id (`i-0abc...`) or by its Name tag, fuzzily like workloads
  ("batch wroker" finds batch-worker); two close names are a question, never a guess;
- scale an Auto Scaling group: "scale the web asg to 4".

A message that names a Kubernetes workload and no server word stays Kubernetes ("restart payment-service").
Resource kinds Tagent does not manage (RDS, S3, DynamoDB, Lambda, ...) get `unsupported_intent`: a plain
"not managed here, nothing was run", and no guessed Terraform command.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from rapidfuzz.distance import DamerauLevenshtein

from tagent.actions.catalog import CATALOG
from tagent.chat.intent import MAX_REPLICAS, ChatIntent, ChatParams, ChatTarget, Intent, TargetKind
from tagent.chat.intents import TABLE, IntentTable, ServerVerb
from tagent.chat.resolve import allowed_edits, compact
from tagent.cloud.aws.provider import cli_endpoint
from tagent.cloud.base import Server, ServerGroup

SERVER_WORDS = re.compile(r"\b(?:ec2|instances?|servers?|vms?|virtual machines?|machines?|hosts?|boxes)\b")
GROUP_WORDS = re.compile(r"\b(?:asgs?|auto ?scaling(?: groups?)?|scaling groups?|server groups?)\b")
_INSTANCE_ID = re.compile(r"\bi-[0-9a-f]{8,17}\b")

def server_verbs(table: IntentTable = TABLE) -> tuple[tuple[Intent, re.Pattern[str]], ...]:
    """The intents that have a verb for cloud servers (their entries' `server`), in the order they are tried."""
    specs = sorted((s for s in table if s.server is not None and s.name in Intent.__members__),
                   key=lambda s: s.server.rank if s.server else 0)
    return tuple((Intent(s.name), re.compile(s.server.pattern)) for s in specs if s.server is not None)


_VERBS = server_verbs()
_LIST = re.compile(r"\b(?:list|show|which|what|how many|count|running|all)\b")
_COUNT = re.compile(r"\bhow many\b")
_FILLER = frozenset({"the", "a", "an", "my", "our", "please", "instance", "instances", "server", "servers", "ec2",
                     "vm", "asg", "group", "to", "in", "on", "of", "and", "now", "it", "its", "desired",
                     "capacity", "auto", "scaling", "stop", "start", "reboot", "restart", "scale", "set", "can",
                     "you", "could", "machine", "host", "for", "me"})
SERVER_VERB: dict[Intent, ServerVerb] = {Intent(s.name): s.server for s in TABLE
                                         if s.server is not None and s.name in Intent.__members__}
ACTION_OF: dict[Intent, str] = {intent: verb.action for intent, verb in SERVER_VERB.items()}

UNMANAGED: tuple[tuple[str, str], ...] = (
    (r"\b(?:rds|aurora)\b|\bdb instances?\b", "RDS database"),
    (r"\bs3(?: buckets?)?\b|\bbuckets?\b", "S3 bucket"),
    (r"\bnode ?groups?\b|\beks\b", "EKS node group"),
    (r"\belasticache\b", "ElastiCache cluster"),
    (r"\bdynamo ?db\b", "DynamoDB table"),
    (r"\blambdas?\b", "Lambda function"),
    (r"\b(?:load balancer|elb|alb|nlb)s?\b", "load balancer"),
    (r"\bcloud ?sql\b|\bgcs\b|\bgke\b", "Google Cloud resource"),
    (r"\bazure\b|\baks\b", "Azure resource"),
)


@dataclass(frozen=True)
class _Hit:
    score: float
    label: str
    target: ChatTarget
    current: int | None = None


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9][a-z0-9_.-]*", text)


def _match(words: Sequence[str], name: str) -> float:
    """How well a span of the message names `name` (1.0 exact, less for typos, 0.9 for a distinctive part of a
    longer name, as "web" for web-1; 0 otherwise)."""
    key, best = compact(name), 0.0
    if not key:
        return 0.0
    parts = [p for p in re.split(r"[-_. ]+", name.lower()) if len(p) >= 3 and not p.isdigit()]
    if (len(parts) > 1 or (parts and compact(parts[0]) != key)) and any(
            part in words for part in parts if part not in _FILLER):
        best = 0.9
    for start in range(len(words)):
        for end in range(start + 1, min(len(words), start + 3) + 1):
            span = list(words[start:end])
            if span[0] in _FILLER or span[-1] in _FILLER:
                continue
            got = compact("".join(span))
            if got == key:
                return 1.0
            distance = DamerauLevenshtein.distance(got, key)
            if distance <= allowed_edits(len(key)) and distance:
                best = max(best, 1.0 - distance / (len(key) + 1))
    return best


def _servers(words: Sequence[str], text: str, servers: Sequence[Server]) -> list[_Hit]:
    ids = set(_INSTANCE_ID.findall(text))
    hits = []
    for s in servers:
        score = 1.0 if s.id in ids else _match(words, s.tags.get("Name", ""))
        if score > 0:
            hits.append(_Hit(score, s.label, ChatTarget(kind=TargetKind.instance, namespace=s.region, name=s.id)))
    return sorted(hits, key=lambda h: -h.score)


def _groups(words: Sequence[str], groups: Sequence[ServerGroup]) -> list[_Hit]:
    hits = [_Hit(score, g.name, ChatTarget(kind=TargetKind.server_group, namespace=g.region, name=g.name), g.desired)
            for g in groups if (score := _match(words, g.name)) > 0]
    return sorted(hits, key=lambda h: -h.score)


def _pick(hits: list[_Hit], what: str, text: str, intent: Intent) -> tuple[_Hit | None, ChatIntent | None]:
    """The one target, or a question when none or two equally good ones were named."""
    if not hits:
        return None, None
    if len(hits) > 1 and hits[1].score >= hits[0].score - 0.06:
        names = ", ".join(h.label for h in hits[:4])
        return None, ChatIntent(text=text, intent=intent, question=f"Which {what} do you mean: {names}?",
                                question_reason="ambiguous_target", confidence=0.5,
                                candidates=[h.target for h in hits[:4]])
    return hits[0], None


def command(action: str, params: dict[str, object], endpoint: str | None) -> str:
    return CATALOG[action].render_command(params) + cli_endpoint(endpoint)


def cloud_intent(text: str, servers: Sequence[Server], groups: Sequence[ServerGroup], *,
                 workloads: Collection[str] = (), endpoint: str | None = None) -> ChatIntent | None:
    """The cloud reading of a message, or None when it is not about servers or groups."""
    lowered = text.lower()
    words = _words(lowered)
    server_word, group_word = SERVER_WORDS.search(lowered), GROUP_WORDS.search(lowered)
    verb = next((intent for intent, pattern in _VERBS if pattern.search(lowered)), None)
    names_workload = any(compact(w) in compact(lowered) for w in workloads if len(compact(w)) >= 3)
    if verb is Intent.scale or group_word:
        hit, question = _pick(_groups(words, groups), "Auto Scaling group", text, Intent.scale)
        if (hit is not None or question is not None) and (group_word or not names_workload):
            return question or _scale(text, lowered, hit, endpoint)
    if verb in (Intent.stop, Intent.start, Intent.restart):
        hits = _servers(words, lowered, servers)
        hit, question = _pick(hits, "server", text, verb)
        if (hit is not None or question is not None) and (server_word or not names_workload):
            return question or _instance(text, verb, hit, endpoint)
        if server_word and not names_workload and verb is not Intent.restart:
            return ChatIntent(text=text, intent=verb, question="Which server? Name it by its Name tag or its "
                              "instance id (say \"list the servers\" to see them).", question_reason="missing_target")
        return None
    if server_word and _LIST.search(lowered) and verb is None:
        return ChatIntent(text=text, intent=Intent.get, target=ChatTarget(kind=TargetKind.instance),
                          summary="count the running servers" if _COUNT.search(lowered) else "list the servers",
                          confidence=0.9, command="aws ec2 describe-instances" + cli_endpoint(endpoint))
    return None


def _instance(text: str, verb: Intent, hit: _Hit | None, endpoint: str | None) -> ChatIntent:
    assert hit is not None
    target = hit.target
    server = SERVER_VERB[verb]
    return ChatIntent(text=text, intent=verb, target=target, requires_confirmation=True, confidence=hit.score,
                      command=command(server.action, server.params(target, None), endpoint),
                      summary=f"{server.word} the EC2 instance {hit.label} in {target.namespace}")


def _scale(text: str, lowered: str, hit: _Hit | None, endpoint: str | None) -> ChatIntent:
    assert hit is not None
    target = hit.target
    numbers = [int(n) for n in re.findall(r"\b(\d{1,5})\b", lowered) if int(n) <= MAX_REPLICAS]
    if not numbers:
        return ChatIntent(text=text, intent=Intent.scale, target=target, question_reason="missing_replicas",
                          question=f"To how many instances should {target.name} scale?", current_replicas=hit.current)
    desired = numbers[-1]
    return ChatIntent(text=text, intent=Intent.scale, target=target, params=ChatParams(replicas=desired),
                      requires_confirmation=True, confidence=hit.score, current_replicas=hit.current,
                      command=command(SERVER_VERB[Intent.scale].action,
                                      SERVER_VERB[Intent.scale].params(target, desired), endpoint),
                      summary=f"scale the Auto Scaling group {target.name} in {target.namespace} from "
                              f"{hit.current} to {desired} instances")


def unsupported_intent(parsed: ChatIntent, mutating: Collection[str] = TABLE.mutating) -> ChatIntent | None:
    """A change to a kind of cloud resource Tagent does not manage, or None. Nothing is guessed or run."""
    text = parsed.text.lower()
    label = next((label for pattern, label in UNMANAGED if re.search(pattern, text)), None)
    if label is None and (SERVER_WORDS.search(text) or GROUP_WORDS.search(text)) \
            and any(p.search(text) for _, p in _VERBS):
        label = "Auto Scaling group" if GROUP_WORDS.search(text) else "cloud server"
    target = parsed.target
    if label is None or (target is not None and target.is_workload and compact(target.name) in compact(text)):
        return None
    changes = str(parsed.intent) in mutating
    if not changes and not any(p.search(text) for _, p in _VERBS):
        return None
    return ChatIntent(text=parsed.text, intent=parsed.intent if changes else Intent.unknown,
                      target=ChatTarget(kind=TargetKind.cloud, name=label), source=parsed.source, confidence=0.6,
                      summary=f"change a {label} (not managed by Tagent)",
                      notes=[*parsed.notes, f"cloud resource ({label}): not managed by Tagent, nothing run"])


def unsupported_answer(intent: ChatIntent) -> str:
    label = intent.target.name if intent.target is not None else "cloud resource"
    return (f"That is a {label}. Tagent manages Kubernetes workloads, EC2 instances and Auto Scaling groups (when "
            "AWS is configured with TAGENT_AWS_REGIONS); change this one in your infrastructure code. Nothing was run.")

