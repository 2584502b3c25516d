"""`ChatService`: a chat message in, an answer or a confirmation request out; a confirmation in, a result out.

    service = ChatService.from_settings(settings, kube=kube, store=store)
    reply = service.ask("Scale the payment-service to 10 replicas.", user="alice")
    reply.status == ReplyStatus.confirm; reply.token  # one-time, expires in 5 minutes
    result = service.confirm(reply.token, user="alice")          # deletes need typed_name="test-env"

Understanding is `tagent.chat.fallback.understand` (the deterministic parser, then the LLM when one is
configured and the parser is unsure) against the live inventory. Reads are answered at once from live data.
A mutation is never run by `ask`: it is summarised with its kubectl equivalent and a one-time token is
issued through `store.approvals` (only its hash is stored; it expires and works once, for the user who
asked). `confirm` runs it through the catalog actions, hence the same guard and audit as automation.
Every request and result is written to the audit log (who, the redacted text, the parse, the command, the
outcome), so what people asked Tagent to do is as traceable as what Tagent did.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from tagent.actions import ActionDeps, build_registry
from tagent.chat.acting import ActionRunner, action_of, run_action, to_result
from tagent.chat.cloud import unsupported_answer, unsupported_intent
from tagent.chat.clusters import across_clusters
from tagent.chat.fallback import ToolCaller, understand
from tagent.chat.intent import ChatIntent, ChatTarget, Intent
from tagent.chat.intents import TABLE, AnswerDeps, IntentTable
from tagent.chat.parser import HELP, MAX_TEXT
from tagent.chat.reply import ChatReply, ChatResult, ReplyStatus, ResultStatus
from tagent.clients.kubernetes import KubeClient
from tagent.errors import ExternalError, ValidationError
from tagent.guard import Clock, Guard
from tagent.llm.chat_fallback import ChatFallbackLLM
from tagent.llm.redact import Redactor
from tagent.model import utcnow
from tagent.settings import Settings
from tagent.store import ApprovalRecord, ApprovalStatus, Store

TOKEN_TTL = timedelta(minutes=5)
APPROVAL_KIND = "chat"


class ChatService:
    def __init__(self, kube: KubeClient, store: Store, guard: Guard, clock: Clock = utcnow,
                 llm: ToolCaller | None = None, actions: Mapping[str, ActionRunner] | None = None, *,
                 protected_namespaces: Collection[str] = ("kube-system",), redactor: Redactor | None = None,
                 timezone: tzinfo | Callable[[], tzinfo] = UTC, token_ttl: timedelta = TOKEN_TTL,
                 action_timeout: float = 120.0, clusters: Mapping[str, KubeClient] | None = None,
                 home_cluster: str = "default", table: IntentTable = TABLE) -> None:
        """`actions` defaults to the catalog registry over the same store, guard, client and clock.
        `protected_namespaces` only lets `ask` refuse before issuing a token; the guard decides at `confirm`.
        `timezone`: the team's (the escalation policy's), or a function giving it as the rules change.
        `clusters`: the remote clusters' clients by name (`kube` is the home cluster's, `home_cluster`).
        `table`: the intents understood, answered and acted on (tagent.chat.intents)."""
        self.kube, self.store, self.guard, self.clock, self.llm = kube, store, guard, clock, llm
        self.clusters, self.home = dict(clusters or {}), home_cluster
        self.actions: Mapping[str, ActionRunner] = actions if actions is not None else build_registry(
            ActionDeps(store=store, guard=guard, kube=kube, clock=clock, clusters=self.clusters))
        self.protected = frozenset(protected_namespaces)
        self.redactor = redactor or Redactor()
        self.timezone, self.token_ttl, self.action_timeout = timezone, token_ttl, action_timeout
        self.table = table

    @classmethod
    def from_settings(cls, settings: Settings, *, kube: KubeClient, store: Store, clock: Clock = utcnow,
                      llm: ToolCaller | None = None, timezone: tzinfo | Callable[[], tzinfo] | None = None
                      ) -> ChatService:
        """Guard, actions, redaction and the LLM fallback (when configured) from one Settings. `timezone`:
        the team's (tagent.debrief.localtime.team_timezone), UTC when not given."""
        guard = Guard(store, settings, clock)
        return cls(kube, store, guard, clock, llm if llm is not None else ChatFallbackLLM.from_settings(settings),
                   protected_namespaces=[*settings.protected_namespaces, *settings.excluded_namespaces],
                   redactor=Redactor.from_settings(settings), timezone=timezone or UTC)

    # ------------------------------------------------------------------ ask

    def ask(self, text: str, user: str) -> ChatReply:
        """Understand `text` from `user`; answer a read, or prepare a mutation for confirmation."""
        _check_user(user)
        now = self._now()
        try:
            intent = self._understand(text)
            reply = self._reply(intent, user, now)
        except ExternalError as exc:
            intent = ChatIntent(text=text[:MAX_TEXT], intent=Intent.unknown)
            reply = ChatReply(intent=intent, status=ReplyStatus.error, reason="cluster_unavailable",
                              answer=f"I could not read the cluster, so I did nothing: {exc}")
        self._audit("chat.request", user, reply.intent, reply.status.value, now, answer=reply.answer,
                    approval_id=reply.approval_id)
        return reply

    def _understand(self, text: str) -> ChatIntent:
        """Parse against the live inventory: of the cluster the text names, else of every cluster holding the
        workload (in more than one: a question; tagent.chat.clusters)."""
        if not self.clusters:
            return understand(text, self.kube.list_workloads(), self.kube.list_nodes(), llm=self.llm, table=self.table)

        def parse_in(cluster: str, said: str) -> ChatIntent:
            kube = self._kube(cluster)
            return understand(said, kube.list_workloads(), kube.list_nodes(), llm=self.llm, table=self.table)

        return across_clusters(text, self.home, list(self.clusters), parse_in, self.table)

    def _kube(self, cluster: str) -> KubeClient:
        return self.clusters.get(cluster, self.kube) if cluster and cluster != self.home else self.kube

    def _reply(self, intent: ChatIntent, user: str, now: datetime) -> ChatReply:
        spec = self.table.get(intent.intent)
        followup = spec.followups.get(intent.question_reason or "") if spec is not None else None
        if followup is not None:  # a question our own records answer ("wake up X": the savings ledger)
            intent = followup(self._deps(intent, now), intent)
        mutating = spec is not None and spec.mutating
        cloud = unsupported_intent(intent, self.table.mutating) if mutating or not intent.actionable else None
        if cloud is not None:
            return ChatReply(intent=cloud, status=ReplyStatus.not_executed, answer=unsupported_answer(cloud),
                             reason="cloud_resource")
        if not intent.actionable:
            return ChatReply(intent=intent, status=ReplyStatus.question, answer=intent.question or HELP,
                             reason=intent.question_reason)
        if spec is None or spec.answer is None:
            return self._prepare(intent, user, now)
        answer = spec.answer(self._deps(intent, now), intent)
        return ChatReply(intent=intent, status=ReplyStatus.answered, answer=answer.text, data=answer.data)

    def _deps(self, intent: ChatIntent, now: datetime) -> AnswerDeps:
        """What an entry's answer or follow-up may read: the target's cluster, the store, now, the team's zone."""
        zone = self.timezone() if callable(self.timezone) else self.timezone
        kube = self._kube(intent.target.cluster if intent.target else "")
        return AnswerDeps(kube=kube, store=self.store, now=now, tz=zone)

    def _prepare(self, intent: ChatIntent, user: str, now: datetime) -> ChatReply:
        target = intent.target
        assert target is not None
        if target.namespace in self.protected:
            return ChatReply(intent=intent, status=ReplyStatus.refused, reason="protected_namespace",
                             answer=f"Refused: namespace {target.namespace} is protected, so Tagent never changes "
                                    f"{target} (not even when asked). Nothing was changed.")
        action = action_of(intent, self.table)
        if target.kind not in action.kinds:
            kinds = " and ".join(sorted(f"{k.value}s" for k in action.kinds))
            return ChatReply(intent=intent, status=ReplyStatus.refused, reason="unsupported_target",
                             answer=f"Refused: chat {self.table[intent.intent].verb}s {kinds} only, and {target} is a "
                                    f"{target.kind.value}. Nothing was changed.")
        stored = intent.model_copy(update={"text": self.redactor(intent.text)})
        record, token = self.store.approvals.request(
            at=now, kind=APPROVAL_KIND, expires_at=now + self.token_ttl, action=action.name,
            target_key=self._target_key(target), summary=intent.summary, requested_by=_actor(user),
            payload={"intent": stored.model_dump(mode="json")})
        minutes = round(self.token_ttl.total_seconds() / 60)
        how = (f"Type the name {target.name} to confirm" if action.typed_name else "Confirm")
        answer = f"{intent.summary[0].upper()}{intent.summary[1:]}.\nkubectl equivalent: {intent.command}\n" \
                 f"{how} within {minutes} minutes; nothing changes until then."
        return ChatReply(intent=intent, status=ReplyStatus.confirm, answer=answer, token=token,
                         approval_id=record.id, expires_at=record.expires_at,
                         confirm_name=target.name if action.typed_name else None)

    # ------------------------------------------------------------------ confirm

    def confirm(self, token: str, user: str, typed_name: str | None = None, *,
                approver: bool = False) -> ChatResult:
        """Run the mutation a token stands for, once, through the guard and the actions. Only the user who
        asked may confirm, unless the caller vouches that `user` is an allowed approver (a chat channel's
        approve role): then anyone's request may be confirmed, and the audit names the approver."""
        _check_user(user)
        now = self._now()
        record, problem = self._usable(token, user, now, approver=approver)
        intent = _intent_of(record) if record is not None else None
        if problem is None and intent is not None and self._typed_name(intent) and intent.target is not None \
                and (typed_name or "").strip() != intent.target.name:
            problem = ("wrong_name", f"To delete, type the name {intent.target.name} exactly"
                       + (f" (you typed {typed_name.strip()!r})" if typed_name else "") + ". Nothing was changed.")
        if problem is None and self.store.approvals.decide(token, approve=True, by=_actor(user), at=now) is None:
            problem = ("used", "This confirmation was used or expired a moment ago. Nothing was changed.")
        if problem is not None or intent is None or record is None:
            reason, answer = problem or ("unknown_token", "Unknown confirmation.")
            result = ChatResult(status=ResultStatus.refused, intent=intent, reason=reason, answer=answer,
                                command=intent.command if intent else None)
        else:
            result = to_result(intent, run_action(self.actions, intent, _actor(user), self.action_timeout,
                                                  home=self.home, table=self.table))
        self._audit("chat.confirm", user, intent, result.status.value, now, answer=result.answer,
                    approval_id=record.id if record else None, command=result.command or "",
                    dry_run=result.status is ResultStatus.dry_run)
        return result

    def _typed_name(self, intent: ChatIntent) -> bool:
        """Whether this change runs only once its target's name is typed back (deletes)."""
        spec = self.table.get(intent.intent)
        return spec is not None and spec.action is not None and spec.action.typed_name

    def decline(self, token: str, user: str) -> ChatResult:
        """The user said no: the token is spent and nothing runs."""
        _check_user(user)
        now = self._now()
        record, problem = self._usable(token, user, now)
        intent = _intent_of(record) if record is not None else None
        if problem is None:
            self.store.approvals.decide(token, approve=False, by=_actor(user), at=now, reason="declined in chat")
            result = ChatResult(status=ResultStatus.declined, intent=intent, reason="declined",
                                answer="Cancelled. Nothing was changed.")
        else:
            result = ChatResult(status=ResultStatus.refused, intent=intent, reason=problem[0], answer=problem[1])
        self._audit("chat.confirm", user, intent, result.status.value, now, answer=result.answer,
                    approval_id=record.id if record else None)
        return result

    def _usable(self, token: str, user: str, now: datetime, *,
                approver: bool = False) -> tuple[ApprovalRecord | None, tuple[str, str] | None]:
        """The approval behind a token, and why it cannot be used (None when it can)."""
        record = self.store.approvals.lookup(token) if token and len(token) <= 200 else None
        if record is None or record.kind != APPROVAL_KIND:
            return None, ("unknown_token", "Unknown confirmation token. Nothing was changed.")
        if record.status is ApprovalStatus.approved:
            return record, ("used", "This confirmation was already used; a token works once. Nothing was changed.")
        if record.status is ApprovalStatus.denied:
            return record, ("declined", "This request was cancelled. Nothing was changed.")
        if record.status is ApprovalStatus.expired or (record.expires_at is not None and record.expires_at <= now):
            return record, ("expired", "This confirmation expired (tokens last "
                            f"{round(self.token_ttl.total_seconds() / 60)} minutes). Ask again. Nothing was changed.")
        if record.requested_by != _actor(user) and not approver:
            return record, ("other_user", "This confirmation belongs to someone else. Nothing was changed.")
        return record, None

    # ------------------------------------------------------------------ audit

    def _audit(self, action: str, user: str, intent: ChatIntent | None, outcome: str, at: datetime, *,
               answer: str, approval_id: str | None, command: str = "", dry_run: bool = False) -> None:
        # read answers carry live data (log lines, tables): the audit keeps their first line only
        kept = answer.split("\n", 1)[0] if outcome == ReplyStatus.answered.value else answer
        detail: dict[str, Any] = {"answer": self.redactor(kept[:1000]), "approval_id": approval_id}
        if intent is not None:
            detail["text"] = self.redactor(intent.text[:MAX_TEXT])
            detail["parse"] = {"intent": str(intent.intent), "source": intent.source,
                               "confidence": intent.confidence, "question_reason": intent.question_reason,
                               "target": intent.target.model_dump(mode="json") if intent.target else None,
                               "params": intent.params.model_dump(mode="json", exclude_none=True),
                               "notes": intent.notes}
        target = intent.target if intent is not None else None
        self.store.audit.add(at=at, actor=_actor(user), action=action, target_key=self._target_key(target),
                             namespace=target.namespace if target else "", cluster=self._ident(target),
                             command=command or (intent.command if intent and intent.command else ""),
                             result=outcome, detail=json.dumps(detail, ensure_ascii=False), dry_run=dry_run)

    def _ident(self, target: ChatTarget | None) -> str:
        """The cluster as records name it ("" for the home cluster)."""
        return "" if target is None or target.cluster in ("", self.home) else target.cluster

    def _target_key(self, target: ChatTarget | None) -> str:
        key, cluster = _target_key(target), self._ident(target)
        return f"{cluster}:{key}" if cluster and key else key

    def _now(self) -> datetime:
        now = self.clock()
        if now.tzinfo is None:
            raise ValueError("the chat service's clock must return timezone-aware datetimes")
        return now


def _actor(user: str) -> str:
    return f"chat:{user}"


def _check_user(user: str) -> None:
    if not user or len(user) > 200 or not user.isprintable():
        raise ValidationError("a chat user name is required (1..200 printable characters)")


def _intent_of(record: ApprovalRecord) -> ChatIntent | None:
    data = record.payload.get("intent")
    return ChatIntent.model_validate(data) if isinstance(data, dict) else None


def _target_key(target: ChatTarget | None) -> str:
    if target is None:
        return ""
    if target.is_workload and target.name:
        return f"{target.kind.value}/{target.namespace}/{target.name}"
    parts = [target.kind.value, target.namespace, target.name]
    return "/".join(p for p in parts if p)
