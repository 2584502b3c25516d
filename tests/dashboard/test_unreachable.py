"""No API, or the wrong token: every page shows a clear banner, never a blank page or a traceback."""

from __future__ import annotations

import socket

import pytest

from tests.dashboard.conftest import AppRunner
from tests.dashboard.test_pages import PAGES


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_api_gives_a_banner_on_every_page(app_test: AppRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAGENT_API_URL", f"http://127.0.0.1:{_closed_port()}")
    monkeypatch.setenv("TAGENT_API_TOKEN", "whatever")
    home = app_test("", timeout=20)
    assert any("API unreachable" in e.value for e in home.sidebar.error)
    for page in PAGES:
        at = app_test(page, timeout=20)
        assert not at.exception, (page, [e.value for e in at.exception])
        banners = [e.value for e in at.error]
        expected = "**The Tagent API is unreachable.** cannot reach the Tagent API at"
        assert any(b.startswith(expected) for b in banners), (page, banners)
        assert all("whatever" not in b for b in banners)  # the token is never rendered


def test_wrong_token_is_explained(live_api: str, app_test: AppRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAGENT_API_TOKEN", "not-the-token")
    at = app_test("overview")
    assert not at.exception
    errors = " ".join(e.value for e in at.error)
    assert "refused the dashboard's token" in errors
    assert "not-the-token" not in errors
