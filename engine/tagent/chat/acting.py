"""From a confirmed chat intent to an action of the catalog, and from its `StepResult` to a chat result.

Chat never mutates by itself: a confirmed scale/restart/rollback/delete becomes the catalog action of its
intent's entry (tagent.chat.intents) and runs through `BaseAction.run`, the same path as a playbook step, so
validation, the guard (protected namespaces, rate limits, blast radius, restart backoff, rollback loops,
dry-run), the ledger and the audit record of the mutation are exactly the ones automation gets.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Protocol

from tagent.actions import ActionContext
from tagent.chat.intent import ChatIntent
from tagent.chat.intents import TABLE, Action, IntentTable
from tagent.chat.reply import ChatResult, ResultStatus
from tagent.model import StepResult, StepStatus, WorkloadRef

_GUARD = re.compile(r"^guard: ([a-z_]+): ?(.*)$", re.S)


class ActionRunner(Protocol):
    """One ready action (tagent.actions.BaseAction satisfies it)."""

    def run(self, params: Mapping[str, Any], ctx: ActionContext) -> StepResult: ...


def target_ref(intent: ChatIntent, home: str = "") -> WorkloadRef:
    """The workload a chat intent is about; its cluster as records name it ("" for the home cluster `home`)."""
    target = intent.target
    assert target is not None and target.is_workload
    cluster = "" if target.cluster in ("", home) else target.cluster
    return WorkloadRef(kind=target.kind.value, namespace=target.namespace, name=target.name, cluster=cluster)


def action_of(intent: ChatIntent, table: IntentTable = TABLE) -> Action:
    """The catalog action behind a mutating intent (its entry's `action`)."""
    spec = table.get(intent.intent)
    if spec is None or spec.action is None:
        raise ValueError(f"chat intent {intent.intent} changes nothing")
    return spec.action


def action_params(intent: ChatIntent, table: IntentTable = TABLE) -> dict[str, Any]:
    """The catalog parameters of the action behind a mutating intent."""
    return action_of(intent, table).params(intent, target_ref(intent))


def run_action(actions: Mapping[str, ActionRunner], intent: ChatIntent, actor: str,
               timeout: float = 120.0, home: str = "", table: IntentTable = TABLE) -> StepResult:
    ctx = ActionContext(origin=actor, target=target_ref(intent, home), automatic=False, timeout=timeout)
    return actions[action_of(intent, table).name].run(action_params(intent, table), ctx)


def to_result(intent: ChatIntent, step: StepResult) -> ChatResult:
    """A chat result that says what happened, or why nothing did, in one or two sentences. The command shown
    is the intent's (CLI.md's form); the action's own rendering is in its audit record."""
    command = intent.command or step.command
    if step.status is StepStatus.ok:
        return ChatResult(status=ResultStatus.done, intent=intent, command=command, step=step,
                          answer=f"Done: {step.detail or intent.summary}. (`{command}`)")
    if step.status is StepStatus.dry_run:
        return ChatResult(status=ResultStatus.dry_run, intent=intent, command=command, step=step, reason="dry_run",
                          answer=f"Dry-run: the guard allows it and nothing was changed; it would run `{command}`.")
    if step.status is StepStatus.blocked:
        m = _GUARD.match(step.detail)
        reason, why = (m.group(1), m.group(2)) if m else ("refused", step.detail)
        return ChatResult(status=ResultStatus.refused, intent=intent, command=command, step=step, reason=reason,
                          answer=f"Refused by the guard ({reason}): {why}. Nothing was changed.")
    return ChatResult(status=ResultStatus.failed, intent=intent, command=command, step=step, reason="failed",
                      answer=f"Failed: {step.detail or step.status.value}.")
