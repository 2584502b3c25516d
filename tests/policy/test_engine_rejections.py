"""Issue 14, through a real engine on the sandbox: a rejected rules version is logged once with all its
problems, however often the rules source is polled afterwards, and the API lists every problem."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tagent.app.engine import Engine
from tests.api.conftest import api, engine, engine_settings, rules_dir  # noqa: F401 - fixtures

TWO_MISTAKES = """apiVersion: tagent.io/v1
kind: Rule
metadata: {name: broken-rule}
spec:
  severity: dire
  when:
    kubernetes: {reasn: CrashLoopBackOff}
  then:
    playbook: restart-workload
"""


def test_a_rejected_version_is_logged_once_and_served_whole(api: TestClient, engine: Engine,  # noqa: F811
                                                            rules_dir: Path,  # noqa: F811
                                                            caplog: pytest.LogCaptureFixture) -> None:
    (rules_dir / "rules" / "broken.yaml").write_text(TWO_MISTAKES)
    with caplog.at_level(logging.INFO, logger="tagent"):
        for _ in range(4):
            engine.poll_rules()
    rejected = api.get("/api/v1/rules").json()["last_rejected"]
    assert rejected is not None
    assert [p.split(": ")[0] for p in rejected["problems"]] == ["rules/broken.yaml:5", "rules/broken.yaml:7"]
    assert rejected["message"].startswith("2 problems"), rejected  # was empty: the API tells why in one line
    logged = [r.getMessage() for r in caplog.records if rejected["sha"][:12] in r.getMessage()]
    assert logged, caplog.text
    assert len(logged) == len(set(logged)) <= 2, logged  # once (the source; the engine may echo it once)
    assert any(all(p in line for p in rejected["problems"]) for line in logged), logged
