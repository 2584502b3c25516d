"""Request bodies. Unknown fields are refused so a typo (`{"resaon": ...}`) is an error, not a no-op."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ByBody(_Body):
    by: str = Field(default="dashboard", min_length=1, max_length=200, description="who acts (shown in the timeline)")


class DenyBody(ByBody):
    reason: str = Field(default="", max_length=2000)


class RuleTestBody(_Body):
    rule: str = Field(min_length=1, max_length=200_000, description="an active rule's name, or Rule YAML text")
    event: dict[str, Any] | list[dict[str, Any]] = Field(description="one Event, or a list processed in order")


class ChatBody(_Body):
    text: str = Field(min_length=1, max_length=2000)
    user: str = Field(default="dashboard", min_length=1, max_length=200)


class ConfirmBody(_Body):
    token: str = Field(min_length=1, max_length=500)
    typed_name: str = Field(default="", max_length=300, description="the workload name, typed to confirm")
    user: str = Field(default="dashboard", min_length=1, max_length=200)


class DeclineBody(_Body):
    token: str = Field(min_length=1, max_length=500)
    user: str = Field(default="dashboard", min_length=1, max_length=200)
