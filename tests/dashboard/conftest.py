"""The dashboard against a real engine API on the sandbox (uvicorn on a free port, see tests/api/conftest.py).

- `live_api`: base URL of that API; the dashboard's environment (TAGENT_API_URL, TAGENT_API_TOKEN) points at it.
- `app_test`: a factory for Streamlit's AppTest on the packaged app, switched to one page and run.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import tagent.ui
from tests.api.conftest import (  # noqa: F401 - fixtures reused from the API tests
    API_TOKEN,
    api,
    api_url,
    engine,
    engine_settings,
    rules_dir,
)

APP = Path(tagent.ui.__file__).resolve().parent / "app.py"
AppRunner = Callable[..., AppTest]


@pytest.fixture
def live_api(api_url: str, monkeypatch: pytest.MonkeyPatch) -> str:  # noqa: F811 - the imported fixture
    monkeypatch.setenv("TAGENT_API_URL", api_url)
    monkeypatch.setenv("TAGENT_API_TOKEN", API_TOKEN)
    return api_url


@pytest.fixture
def app_test() -> AppRunner:
    def run(page: str, query: dict[str, str] | None = None, timeout: float = 30) -> AppTest:
        at = AppTest.from_file(str(APP), default_timeout=timeout)
        at.query_params.update(query or {})
        at.run()
        if page:
            at.switch_page(f"views/{page}.py").run()
        return at

    return run
