"""A local OpenAI-compatible server per test, and a client pointed at it through the real openai library."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr

from tagent.llm import LLMClient
from tagent.model.core import Incident, IncidentStatus, Severity, TimelineEntry, WorkloadRef
from tagent.sandbox.receivers import OpenAIReceiver
from tagent.settings import Settings

API_KEY = "sk-test-" + "k" * 32


@pytest.fixture
def llm_server() -> Iterator[OpenAIReceiver]:
    with OpenAIReceiver(api_key=API_KEY, model="sandbox-model") as server:
        yield server


def client_for(server: OpenAIReceiver, **settings: object) -> LLMClient:
    client = LLMClient.from_settings(Settings(llm_base_url=server.api_base, llm_api_key=SecretStr(API_KEY),
                                              llm_model="sandbox-model", llm_max_retries=1, **settings))
    assert client is not None
    return client


def crashloop_incident() -> Incident:
    t0 = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
    return Incident(
        id="inc-9", fingerprint="crashloop-restart/Deployment/shop/payment-service", rule="crashloop-restart",
        target=WorkloadRef(namespace="shop", name="payment-service"), severity=Severity.critical,
        status=IncidentStatus.resolved, rules_version="3f2c1ab", opened_at=t0 + timedelta(seconds=4),
        resolved_at=t0 + timedelta(seconds=40),
        timeline=[
            TimelineEntry(at=t0, kind="event", summary="payment-service-7d9 CrashLoopBackOff",
                          data={"reason": "CrashLoopBackOff", "message": "back-off 40s restarting failed container",
                                "values": {"restarts": 6}}),
            TimelineEntry(at=t0 + timedelta(seconds=4), kind="decision", summary="restart-workload"),
            TimelineEntry(at=t0 + timedelta(seconds=5), kind="step", summary="restart",
                          data={"step": "restart", "action": "kubernetes.rollout_restart", "status": "ok"}),
        ])
