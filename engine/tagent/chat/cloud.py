"""Cloud resources in chat: "scale the RDS instance", "resize the s3 bucket" name no Kubernetes workload.

Such a request is recognised by its resource words, answered with the Terraform equivalent (a targeted
`terraform plan`) as the command to review, and stops there: `requires_confirmation` is set and nothing
runs, because Tagent does not apply infrastructure changes (that comes with the cloud integration). It only
takes over when the Kubernetes parse found no workload the user actually named, so "restart payment-service,
it cannot reach RDS" still restarts payment-service.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tagent.chat.intent import MAX_REPLICAS, MUTATING, ChatIntent, ChatParams, ChatTarget, Intent, TargetKind
from tagent.chat.resolve import compact


@dataclass(frozen=True)
class CloudKind:
    pattern: str  # regex over the lower-cased message
    resource: str  # Terraform resource type
    label: str
    count_var: str  # the variable a number usually sets for this kind


KINDS: tuple[CloudKind, ...] = (
    CloudKind(r"\b(?:rds|aurora)(?: (?:db |database )?instances?)?\b|\bdb instances?\b", "aws_db_instance",
              "AWS RDS instance", "instance_count"),
    CloudKind(r"\bs3(?: buckets?)?\b|\bbuckets?\b", "aws_s3_bucket", "AWS S3 bucket", "bucket_count"),
    CloudKind(r"\bnode ?groups?\b", "aws_eks_node_group", "EKS node group", "desired_size"),
    CloudKind(r"\basg\b|\bauto ?scaling groups?\b", "aws_autoscaling_group", "AWS Auto Scaling group",
              "desired_capacity"),
    CloudKind(r"\bec2(?: instances?)?\b|\bvms?\b|\bvirtual machines?\b", "aws_instance", "AWS EC2 instance",
              "instance_count"),
    CloudKind(r"\belasticache\b", "aws_elasticache_cluster", "AWS ElastiCache cluster", "num_cache_nodes"),
    CloudKind(r"\bdynamo ?db\b", "aws_dynamodb_table", "AWS DynamoDB table", "read_capacity"),
    CloudKind(r"\blambdas?\b", "aws_lambda_function", "AWS Lambda function", "reserved_concurrent_executions"),
    CloudKind(r"\b(?:load balancer|elb|alb|nlb)s?\b", "aws_lb", "AWS load balancer", "instance_count"),
    CloudKind(r"\bcloud ?sql\b", "google_sql_database_instance", "Google Cloud SQL instance", "instance_count"),
    CloudKind(r"\bgcs(?: buckets?)?\b", "google_storage_bucket", "Google Cloud Storage bucket", "bucket_count"),
)
_VERBS = ((Intent.scale, r"\b(?:scale|resize|grow|shrink|upgrade|downsize|upsize|increase|decrease|bump)\b"),
          (Intent.delete, r"\b(?:delete|remove|destroy|drop|terminate|tear down|deprovision)\b"),
          (Intent.restart, r"\b(?:restart|reboot|recreate|bounce|replace)\b"))
_NOT_A_NAME = frozenset({"the", "a", "an", "my", "our", "your", "this", "that", "prod", "production", "instance",
                         "instances", "to", "of", "in", "on", "for", "and", "please", "kindly", "cluster", "class",
                         "size", "type", "with", "aws", "gcp", "azure", "database", "db", "it", "nodes", "by"})
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{1,62}$")
_SIZE = re.compile(r"\b(?:db|cache)\.[a-z0-9]+\.[a-z0-9]+\b|\b[a-z][0-9][a-z]?\.(?:nano|micro|small|medium|"
                   r"large|xlarge|\d+xlarge)\b")


def _kind(text: str) -> tuple[CloudKind, re.Match[str]] | None:
    for kind in KINDS:
        if m := re.search(kind.pattern, text):
            return kind, m
    return None


def _name(text: str, match: re.Match[str]) -> str:
    """The resource's name: the word right after the resource words, else the one right before them."""
    after = re.findall(r"[a-z0-9][a-z0-9_.-]*", text[match.end():])
    before = re.findall(r"[a-z0-9][a-z0-9_.-]*", text[:match.start()])
    for word in [*after[:2], *reversed(before[-1:])]:
        word = word.strip(".-")
        if word not in _NOT_A_NAME and _NAME.match(word) and not word.isdigit() and not _SIZE.fullmatch(word):
            return word
    return "NAME"


def _user_named(parsed: ChatIntent) -> bool:
    """Whether the parse's target is a workload the message names outright (not a runtime word or a guess)."""
    target = parsed.target
    return (target is not None and target.is_workload and parsed.question is None
            and compact(target.name) in compact(parsed.text))


def terraform_intent(parsed: ChatIntent) -> ChatIntent | None:
    """The cloud reading of a message, or None when it is about Kubernetes (or not a change at all)."""
    text = parsed.text.lower()
    found = _kind(text)
    if found is None or _user_named(parsed):
        return None
    intent = parsed.intent if parsed.intent in MUTATING else next(
        (i for i, pattern in _VERBS if re.search(pattern, text)), None)
    if intent is None or intent is Intent.rollback:
        return None
    kind, match = found
    address = f"{kind.resource}.{_name(text, match)}"
    size = _SIZE.search(text)
    number = next((int(n) for n in re.findall(r"\b(\d{1,4})\b", text[match.end():] or text)
                   if int(n) <= MAX_REPLICAS), None)
    if intent is Intent.delete:
        command = f"terraform plan -destroy -target={address}"
    elif intent is Intent.restart:
        command = f"terraform plan -replace={address}"
    else:
        setting = (f" -var='instance_class={size.group(0)}'" if size else
                   f" -var='{kind.count_var}={number}'" if number is not None else "")
        command = f"terraform plan -target={address}{setting}"
    verb = {Intent.scale: "resize", Intent.delete: "delete", Intent.restart: "replace"}[intent]
    return ChatIntent(
        text=parsed.text, intent=intent, target=ChatTarget(kind=TargetKind.cloud, name=address),
        params=ChatParams(replicas=number if intent is Intent.scale and not size else None),
        command=command, requires_confirmation=True, confidence=0.6, source=parsed.source,
        summary=f"{verb} the {kind.label} {address} (Terraform; Tagent does not apply it)",
        notes=[*parsed.notes, f"cloud resource ({kind.label}): Terraform plan shown, not executed"],
    )


def not_executed_answer(intent: ChatIntent) -> str:
    target = intent.target.name if intent.target is not None else "the resource"
    placeholder = " Replace NAME with the resource's name in your Terraform code." if "NAME" in target else ""
    return (f"{target} is a cloud resource, not a Kubernetes workload. Tagent does not change cloud resources: "
            f"review the change with `{intent.command}` in your infrastructure repository and apply it there "
            f"(the variable name depends on your module).{placeholder} Nothing was run.")
