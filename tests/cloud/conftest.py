"""Cloud fixtures: one moto server process per session, reset before each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.cloud.motoserver import MotoAws, moto_server


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    with moto_server() as url:
        yield url


@pytest.fixture
def moto(moto_url: str) -> MotoAws:
    account = MotoAws(moto_url)
    account.reset()
    return account
