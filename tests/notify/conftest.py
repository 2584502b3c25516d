"""Local Slack/Teams/JSON webhook and Twilio receivers on free ports, one set per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tagent.sandbox.receivers import TwilioReceiver, WebhookReceiver


@pytest.fixture
def hooks() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture
def teams(tmp_path: Path) -> Iterator[WebhookReceiver]:
    with WebhookReceiver(tls=True, cert_dir=tmp_path / "tls") as receiver:
        yield receiver


@pytest.fixture
def twilio_api() -> Iterator[TwilioReceiver]:
    with TwilioReceiver() as receiver:
        yield receiver
