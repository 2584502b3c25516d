"""The LLM may reword the debrief through the real client (a local OpenAI-compatible server), and the
rewording is kept only when every time and name of the store's narrative survives it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from tagent.debrief import narrative
from tagent.llm import LLMClient
from tagent.sandbox.receivers import OpenAIReceiver
from tagent.settings import Settings
from tagent.store import Store
from tests.debrief.nightdata import IST, NOW, night_store

KEY = "sk-test-" + "d" * 32


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = night_store(tmp_path / "night.db")
    yield s
    s.close()


def _spoken(request: dict[str, Any]) -> str:
    return str(request["messages"][-1]["content"])


def _reworded(responder: Any, store: Store) -> tuple[narrative.Narrative, narrative.Narrative, list[str], Any]:
    with OpenAIReceiver(responder, api_key=KEY, model="m") as server:
        client = LLMClient.from_settings(Settings(llm_base_url=server.api_base, llm_api_key=SecretStr(KEY),
                                                  llm_model="m", llm_max_retries=0))
        assert client is not None
        story = narrative.build(store, NOW - timedelta(hours=12), NOW, IST)
        kept, lost = narrative.rephrase(story, narrative.llm_reword(client))
        return story, kept, lost, server.prompts()


def test_a_faithful_rewording_is_used(store: Store) -> None:
    story, kept, lost, prompts = _reworded(lambda r: "Hi team. " + _spoken(r).replace("had a problem", "broke"),
                                           store)
    assert lost == [] and kept.text.startswith("Hi team. ") and "payment-service in shop broke" in kept.text
    assert prompts[0][-1]["content"] == story.text and "Keep every time" in prompts[0][0]["content"]


def test_a_rewording_that_loses_a_time_is_not(store: Store) -> None:
    story, kept, lost, _ = _reworded(lambda r: _spoken(r).replace("3:40 AM IST", "in the small hours"), store)
    assert lost == ["3:40 AM IST"] and kept.text == story.text and kept.rephrased is None
