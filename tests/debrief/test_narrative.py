"""The deterministic narrative: facts from the store, in order, in local time; a rephrasing keeps every fact."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tagent.debrief import narrative
from tagent.store import Store
from tests.debrief.nightdata import IST, NOW, at, night_store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = night_store(tmp_path / "night.db")
    yield s
    s.close()


def test_the_night_in_the_order_it_happened_with_exact_local_times(store: Store) -> None:
    story = narrative.build(store, NOW - timedelta(hours=12), NOW, IST)
    text = story.text
    assert text.startswith("Good morning. Since yesterday at 7:30 PM IST, Tagent handled 3 incidents.")
    assert "Last night at 2:15 AM IST, payment-service in shop had a problem: crash loop back off." in text
    assert "Tagent restarted it. It was fixed at 2:18 AM IST; users were affected for 3 minutes." in text
    assert "Last night at 3:40 AM IST, checkout" in text and "Nobody answered the call" in text
    assert "Last night at 4:02 AM IST, frontend in shop had a problem: error rate." in text
    assert "It is still awaiting ack: it needs a person." in text and "1 still needs you: frontend." in text
    assert text.index("payment-service") < text.index("checkout") < text.index("frontend")
    assert "cart" not in text  # yesterday noon is outside the 12 hours
    assert [i["name"] for i in story.incidents] == ["payment-service", "checkout", "frontend"]
    assert [ln.incident_id for ln in story.lines[1:4]] == [i["id"] for i in story.incidents]
    assert story.incidents[0]["postmortem"]  # each incident links its post-mortem
    assert {"2:15 AM IST", "2:18 AM IST", "3:40 AM IST", "4:02 AM IST", "payment-service", "frontend"} <= \
        set(story.facts)


def test_the_same_store_tells_the_same_story(store: Store) -> None:
    first = narrative.build(store, NOW - timedelta(hours=24), NOW, IST)
    assert first.text == narrative.build(store, NOW - timedelta(hours=24), NOW, IST).text
    assert "Yesterday at 12:05 PM IST, cart" in first.text and "cpu utilization" in first.text


def test_an_empty_window(store: Store) -> None:
    story = narrative.build(store, at(5, 0), NOW, IST)
    assert story.text == "Good morning. Nothing happened since this morning at 5:00 AM IST: no incident."


def test_a_rephrasing_is_kept_only_when_every_time_and_name_survives(store: Store) -> None:
    story = narrative.build(store, NOW - timedelta(hours=12), NOW, IST)
    kept, lost = narrative.rephrase(story, lambda text: "Morning! " + text.replace("had a problem", "broke"))
    assert lost == [] and kept.text.startswith("Morning! ") and kept.as_dict()["rephrased"] is True
    dropped, lost = narrative.rephrase(story, lambda text: text.replace("2:15 AM IST", "around two"))
    assert lost == ["2:15 AM IST"] and dropped.text == story.text
    renamed, lost = narrative.rephrase(story, lambda text: text.replace("frontend", "the web tier"))
    assert lost == ["frontend"] and renamed.rephrased is None

    def broken(text: str) -> str:
        raise TimeoutError("LLM timed out")

    same, lost = narrative.rephrase(story, broken)
    assert same is story and lost == ["rephrasing failed: LLM timed out"]
    assert narrative.rephrase(story, None) == (story, [])
