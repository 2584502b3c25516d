"""Playbook tests: the action harness (sandbox at speed 30, SQLite store, guard, receivers) plus a runner."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tagent.model.policy import PlaybookSpec
from tagent.playbooks import PlaybookRunner
from tagent.sandbox import Sandbox
from tests.actions.harness import Env, environment


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    with Sandbox(speed=30) as sandbox, environment(sandbox, tmp_path) as e:
        yield e


def runner_for(env: Env, **kw: Any) -> PlaybookRunner:
    kw.setdefault("retry_backoff", 0.01)
    return PlaybookRunner(env.store, env.registry, **kw)


def spec(steps: list[dict[str, Any]], on_failure: list[dict[str, Any]] | None = None,
         params: dict[str, Any] | None = None) -> PlaybookSpec:
    return PlaybookSpec.model_validate({"steps": steps, "on_failure": on_failure or [], "params": params or {}})
