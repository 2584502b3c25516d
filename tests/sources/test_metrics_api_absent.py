"""A real cluster without metrics-server: metrics.k8s.io answers 404. The metrics source still reports
restarts, asks the missing API again only every METRICS_API_RETRY_S, and does not log it every poll."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest

from tagent.clients.kubernetes import KubeClient
from tagent.sources.metrics import METRICS_API_RETRY_S, MetricsSource
from tests.fixtures.realk8s import REAL, RealK8s

pytestmark = REAL


def test_missing_metrics_api_is_asked_again_only_after_a_while(real_k8s: RealK8s,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    now = [datetime(2026, 12, 2, 2, 0, tzinfo=UTC)]
    kube = KubeClient.from_kubeconfig(real_k8s.kubeconfig)
    try:
        source = MetricsSource(lambda event: None, kube=kube, clock=lambda: now[0])
        with caplog.at_level(logging.DEBUG):
            for _ in range(5):
                source.poll_once()
                now[0] += timedelta(seconds=1)
        assert source.stats["metrics_api_errors"] == 1  # one 404, then not asked for METRICS_API_RETRY_S
        assert "404" in caplog.text or "not found" in caplog.text.lower()
        warnings = [r for r in caplog.records if r.levelno >= logging.WARNING and "metrics_api_errors" in r.message]
        assert len(warnings) == 1
        now[0] += timedelta(seconds=METRICS_API_RETRY_S)
        source.poll_once()
        assert source.stats["metrics_api_errors"] == 2  # asked again after the pause, still missing
    finally:
        kube.close()
