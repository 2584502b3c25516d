"""Fixtures for the action tests: a fast sandbox (speed 30) wired to a real store, guard and receivers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tagent.sandbox import Sandbox
from tests.actions.harness import Env, environment
from tests.clients import promstack
from tests.cloud.conftest import moto_url
from tests.cloud.motoserver import MotoAws

__all__ = ["moto_url"]  # the session's moto server, for the aws.* actions


@pytest.fixture(scope="module")
def prometheus_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Prometheus (no scrape target needed: the tests query constant expressions)."""
    if promstack.PROMETHEUS is None:
        pytest.fail("prometheus is not installed: run `make system-deps` (Debian package prometheus)")
    with promstack.prometheus(tmp_path_factory.mktemp("prom"), []) as url:
        yield url


@pytest.fixture
def env(tmp_path: Path, redis_url: str, prometheus_url: str, moto_url: str) -> Iterator[Env]:
    moto = MotoAws(moto_url)
    with Sandbox(speed=30) as sandbox, environment(sandbox, tmp_path, redis_url=redis_url,
                                                    prometheus_url=prometheus_url) as e:
        aws = e.variant(aws=moto.cloud())
        aws.extra["moto"] = moto
        yield aws
