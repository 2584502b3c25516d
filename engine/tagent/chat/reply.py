"""What `ChatService.ask` and `ChatService.confirm` return: plain data the CLI prints and the API serialises.

`contract()` gives CLI.md's JSON (`{intent, target, params, command, requires_confirmation, answer}`);
the rest (status, confirmation token, structured data, the guard's reason) is for the API and dashboard.
The token is in the reply exactly once: the store keeps only its hash.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tagent.chat.intent import ChatIntent
from tagent.model import StepResult


class ReplyStatus(StrEnum):
    answered = "answered"  # a read intent, answered from live data
    question = "question"  # not understood, ambiguous or incomplete: ask back, nothing runs
    confirm = "confirm"  # a mutation waits for confirmation (token, typed name for deletes)
    refused = "refused"  # a mutation that will not run (protected namespace, unsupported target)
    not_executed = "not_executed"  # a change to a cloud resource Tagent does not manage: nothing runs
    error = "error"  # the cluster (or store) could not be read


class ResultStatus(StrEnum):
    done = "done"  # the action ran and succeeded
    dry_run = "dry_run"  # the guard passed it in dry-run: nothing was mutated
    refused = "refused"  # the guard (or the confirmation check) said no; nothing was mutated
    failed = "failed"  # the action ran and failed
    declined = "declined"  # the user said no


class ChatReply(BaseModel):
    model_config = ConfigDict(extra="forbid")

    intent: ChatIntent
    status: ReplyStatus
    answer: str
    data: dict[str, Any] = Field(default_factory=dict)
    token: str | None = None  # one-time confirmation token (mutations only)
    approval_id: str | None = None
    expires_at: datetime | None = None
    confirm_name: str | None = None  # the name to type back before a delete runs
    reason: str | None = None  # machine-readable refusal reason

    @property
    def needs_confirmation(self) -> bool:
        return self.status is ReplyStatus.confirm

    def contract(self) -> dict[str, Any]:
        return self.intent.contract(self.answer)


class ChatResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: ResultStatus
    answer: str
    intent: ChatIntent | None = None  # None when the token was unknown
    command: str | None = None
    reason: str | None = None  # guard reason or confirmation problem (expired, used, wrong_name, ...)
    step: StepResult | None = None

    @property
    def ok(self) -> bool:
        return self.status in (ResultStatus.done, ResultStatus.dry_run)

    def contract(self) -> dict[str, Any]:
        if self.intent is None:
            return {"intent": "unknown", "target": None, "params": {}, "command": None,
                    "requires_confirmation": False, "answer": self.answer}
        return self.intent.contract(self.answer)
