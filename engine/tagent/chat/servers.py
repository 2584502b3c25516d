"""`ServerChat`: the chat service with cloud servers. Messages about EC2 instances and Auto Scaling groups are
answered and confirmed here; everything else goes to the Kubernetes `ChatService` it wraps.

    chat = ServerChat(ChatService.from_settings(settings, kube=kube, store=store), AwsCloud(aws_settings))
    reply = chat.ask("stop the batch-worker instance", "alice")     # status confirm, token, AWS CLI command
    result = chat.confirm(reply.token, "alice")                     # aws.ec2_stop through guard and audit

Changes are confirmed exactly like Kubernetes changes: a one-time token through `store.approvals` (kind
`chat`, only its hash stored, expiring, for the user who asked), then the catalog action (`aws.*`) runs
through `BaseAction.run`: the same guard, ledger and audit as automation. "How many servers are running?"
is the Kubernetes answer (nodes) plus the running instances per region.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from tagent.actions import ActionContext, ActionDeps, build_registry
from tagent.chat.acting import ActionRunner, to_result
from tagent.chat.cloud import SERVER_VERB, cloud_intent
from tagent.chat.intent import ChatIntent, ChatTarget, Intent, TargetKind
from tagent.chat.reply import ChatReply, ChatResult, ReplyStatus, ResultStatus
from tagent.chat.service import APPROVAL_KIND, ChatService
from tagent.cloud.aws.provider import AwsCloud
from tagent.cloud.base import Server, ServerGroup
from tagent.errors import ExternalError, ValidationError
from tagent.model import WorkloadRef
from tagent.store import ApprovalRecord, ApprovalStatus

PAYLOAD_KEY = "cloud"  # the approval payload of a cloud change (ChatService ignores approvals without "intent")


class ServerChat:
    def __init__(self, inner: ChatService, cloud: AwsCloud, *, terraform: Any = None,
                 actions: Mapping[str, ActionRunner] | None = None) -> None:
        self.inner, self.cloud = inner, cloud
        self.actions: Mapping[str, ActionRunner] = actions if actions is not None else build_registry(
            ActionDeps(store=inner.store, guard=inner.guard, kube=inner.kube, clock=inner.clock, aws=cloud,
                       terraform=terraform))

    # ------------------------------------------------------------------ ask
    def ask(self, text: str, user: str) -> ChatReply:
        _check_user(user)
        now = self.inner.clock()
        try:
            servers, groups = self._inventory()
            workloads = [w.ref.name for w in self.inner.kube.list_workloads()]
        except ExternalError as exc:
            unknown = ChatIntent(text=text[:2000], intent=Intent.unknown)
            reply = ChatReply(intent=unknown, status=ReplyStatus.error, reason="cloud_unavailable",
                              answer=f"I could not read the servers, so I did nothing: {exc}")
            self._audit("chat.request", user, unknown, reply.status.value, now, answer=reply.answer)
            return reply
        intent = cloud_intent(text, servers, groups, workloads=workloads, endpoint=self.cloud.endpoint_url)
        if intent is None:
            return self.inner.ask(text, user)
        if intent.intent is Intent.get:
            return self._count(text, user, intent, servers, now)
        if intent.question is not None:
            reply = ChatReply(intent=intent, status=ReplyStatus.question, answer=intent.question,
                              reason=intent.question_reason)
        else:
            reply = self._prepare(intent, user, now)
        self._audit("chat.request", user, intent, reply.status.value, now, answer=reply.answer,
                    approval_id=reply.approval_id)
        return reply

    def _inventory(self) -> tuple[list[Server], list[ServerGroup]]:
        servers: list[Server] = []
        groups: list[ServerGroup] = []
        for region in self.cloud.regions:
            servers += self.cloud.servers(region)
            groups += self.cloud.groups(region)
        return servers, groups

    def _count(self, text: str, user: str, intent: ChatIntent, servers: list[Server], now: datetime) -> ChatReply:
        running = [s for s in servers if s.running]
        per_region = {r: sum(1 for s in running if s.region == r) for r in self.cloud.regions}
        regions = ", ".join(f"{r}: {n}" for r, n in per_region.items())
        line = f"AWS: {len(running)} running EC2 instance{'s' if len(running) != 1 else ''} ({regions})."
        listing = [f"- {s.label}: {s.state}, {s.type}, {s.region}" for s in servers]
        data = {"aws_running": per_region, "servers": [
            {"id": s.id, "name": s.tags.get("Name", ""), "state": s.state, "type": s.type, "region": s.region}
            for s in servers]}
        if intent.summary.startswith("count"):
            nodes = self.inner.ask(text, user)
            if nodes.status is ReplyStatus.answered:
                return nodes.model_copy(update={"answer": f"{nodes.answer}\n{line}", "data": {**nodes.data, **data}})
            answer = line
        else:
            answer = "\n".join([line, *listing]) if listing else "No EC2 instances in " + ", ".join(self.cloud.regions)
        reply = ChatReply(intent=intent, status=ReplyStatus.answered, answer=answer, data=data)
        self._audit("chat.request", user, intent, reply.status.value, now, answer=answer)
        return reply

    def _prepare(self, intent: ChatIntent, user: str, now: datetime) -> ChatReply:
        target = intent.target
        assert target is not None
        server = SERVER_VERB[Intent(intent.intent)]
        action, params = server.action, server.params(target, intent.params.replicas)
        stored = intent.model_copy(update={"text": self.inner.redactor(intent.text)})
        record, token = self.inner.store.approvals.request(
            at=now, kind=APPROVAL_KIND, expires_at=now + self.inner.token_ttl, action=action,
            target_key=_key(target), summary=intent.summary, requested_by=_actor(user),
            payload={PAYLOAD_KEY: {"intent": stored.model_dump(mode="json"), "action": action, "params": params}})
        minutes = round(self.inner.token_ttl.total_seconds() / 60)
        answer = (f"{intent.summary[0].upper()}{intent.summary[1:]}.\nAWS CLI equivalent: {intent.command}\n"
                  f"Confirm within {minutes} minutes; nothing changes until then.")
        return ChatReply(intent=intent, status=ReplyStatus.confirm, answer=answer, token=token,
                         approval_id=record.id, expires_at=record.expires_at)

    # ------------------------------------------------------------------ confirm
    def confirm(self, token: str, user: str, typed_name: str | None = None, *, approver: bool = False) -> ChatResult:
        """Run a confirmed cloud change. `approver`: the caller vouches that `user` may confirm anyone's request
        (a chat channel's approve role); otherwise only the user who asked may."""
        record = self._record(token)
        if record is None:
            return (self.inner.confirm(token, user, typed_name, approver=True) if approver
                    else self.inner.confirm(token, user, typed_name))
        _check_user(user)
        now = self.inner.clock()
        change = record.payload[PAYLOAD_KEY]
        intent = ChatIntent.model_validate(change["intent"])
        problem = _problem(record, user, now, approver=approver)
        if problem is None and self.inner.store.approvals.decide(token, approve=True, by=_actor(user), at=now) is None:
            problem = ("used", "This confirmation was used or expired a moment ago. Nothing was changed.")
        if problem is not None:
            result = ChatResult(status=ResultStatus.refused, intent=intent, reason=problem[0], answer=problem[1],
                                command=intent.command)
        else:
            target = intent.target
            assert target is not None
            ctx = ActionContext(origin=_actor(user), automatic=False, timeout=self.inner.action_timeout,
                                target=WorkloadRef(kind=target.kind.value, namespace=target.namespace,
                                                   name=target.name))
            result = to_result(intent, self.actions[str(change["action"])].run(dict(change["params"]), ctx))
        self._audit("chat.confirm", user, intent, result.status.value, now, answer=result.answer,
                    approval_id=record.id, command=result.command or "",
                    dry_run=result.status is ResultStatus.dry_run)
        return result

    def decline(self, token: str, user: str) -> ChatResult:
        record = self._record(token)
        if record is None:
            return self.inner.decline(token, user)
        _check_user(user)
        now = self.inner.clock()
        intent = ChatIntent.model_validate(record.payload[PAYLOAD_KEY]["intent"])
        problem = _problem(record, user, now)
        if problem is None:
            self.inner.store.approvals.decide(token, approve=False, by=_actor(user), at=now, reason="declined in chat")
            result = ChatResult(status=ResultStatus.declined, intent=intent, reason="declined",
                                answer="Cancelled. Nothing was changed.")
        else:
            result = ChatResult(status=ResultStatus.refused, intent=intent, reason=problem[0], answer=problem[1])
        self._audit("chat.confirm", user, intent, result.status.value, now, answer=result.answer,
                    approval_id=record.id)
        return result

    def _record(self, token: str) -> ApprovalRecord | None:
        """The approval behind a token when it is a cloud change (else the inner service handles it)."""
        record = self.inner.store.approvals.lookup(token) if token and len(token) <= 200 else None
        if record is None or record.kind != APPROVAL_KIND or not isinstance(record.payload.get(PAYLOAD_KEY), dict):
            return None
        return record

    def _audit(self, action: str, user: str, intent: ChatIntent, outcome: str, at: datetime, *, answer: str,
               approval_id: str | None = None, command: str = "", dry_run: bool = False) -> None:
        kept = answer.split("\n", 1)[0] if outcome == ReplyStatus.answered.value else answer
        redact = self.inner.redactor
        detail = {"answer": redact(kept[:1000]), "approval_id": approval_id, "text": redact(intent.text[:2000]),
                  "parse": {"intent": str(intent.intent), "source": intent.source, "confidence": intent.confidence,
                            "question_reason": intent.question_reason,
                            "target": intent.target.model_dump(mode="json") if intent.target else None,
                            "params": intent.params.model_dump(mode="json", exclude_none=True)}}
        target = intent.target
        self.inner.store.audit.add(at=at, actor=_actor(user), action=action,
                                   target_key=_key(target) if target else "",
                                   namespace=target.namespace if target else "",
                                   command=command or intent.command or "", result=outcome,
                                   detail=json.dumps(detail, ensure_ascii=False), dry_run=dry_run)


def _problem(record: ApprovalRecord, user: str, now: datetime, *, approver: bool = False) -> tuple[str, str] | None:
    if record.status is ApprovalStatus.approved:
        return "used", "This confirmation was already used; a token works once. Nothing was changed."
    if record.status is ApprovalStatus.denied:
        return "declined", "This request was cancelled. Nothing was changed."
    if record.status is ApprovalStatus.expired or (record.expires_at is not None and record.expires_at <= now):
        return "expired", "This confirmation expired. Ask again. Nothing was changed."
    if record.requested_by != _actor(user) and not approver:
        return "other_user", "This confirmation belongs to someone else. Nothing was changed."
    return None


def _key(target: ChatTarget) -> str:
    if target.kind in (TargetKind.instance, TargetKind.server_group) and target.name:
        return f"{target.kind.value}/{target.namespace}/{target.name}"
    return "/".join(p for p in (target.kind.value, target.namespace, target.name) if p)


def _actor(user: str) -> str:
    return f"chat:{user}"


def _check_user(user: str) -> None:
    if not user or len(user) > 200 or not user.isprintable():
        raise ValidationError("a chat user name is required (1..200 printable characters)")
