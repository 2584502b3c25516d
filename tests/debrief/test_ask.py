"""Questions about the night: grounded answers with citations, follow-ups in a conversation, bounded memory."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tagent.debrief.ask import DebriefAsker
from tagent.errors import ValidationError
from tagent.store import Store
from tests.debrief.nightdata import IST, NOW, night_store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = night_store(tmp_path / "night.db")
    yield s
    s.close()


def asker(store: Store, **kw: object) -> DebriefAsker:
    return DebriefAsker(store, lambda: NOW, IST, since=timedelta(hours=12), **kw)  # type: ignore[arg-type]


def test_what_happened_last_night_lists_the_night_in_local_time(store: Store) -> None:
    answer = asker(store).ask("What happened last night?")
    assert answer.text.startswith("3 incidents last night (8:00 PM IST to 7:30 AM IST): 2:15 AM IST: "
                                  "crashloop-restart on payment-service, resolved [1]")
    assert "3:40 AM IST: bad-deploy-rollback on checkout" in answer.text and "cart" not in answer.text
    names = [store.incidents.get(c.incident_id, timeline=False).target.name for c in answer.citations]  # type: ignore[union-attr]
    assert names == ["payment-service", "checkout", "frontend"]


def test_follow_ups_move_through_the_night_and_cite_the_timeline(store: Store) -> None:
    a = asker(store)
    first = a.ask("why did it crash?")
    assert "payment-service: CrashLoopBackOff (restarts 3) [1]" in first.text
    assert [c.kind for c in first.citations] == ["event", "decision"]
    assert [c.local for c in first.citations] == ["2:15 AM IST", "2:15 AM IST"]  # the team's time, as said
    assert all(c.incident_id == first.incident_id for c in first.citations)
    nxt = a.ask("and the one after that?", first.conversation_id)
    assert nxt.text.startswith("Last night at 3:40 AM IST, checkout") and nxt.incident_id != first.incident_id
    did = a.ask("what did you do?", first.conversation_id)
    assert "Tagent ran kubernetes.rollout_undo (ok) [1]" in did.text and did.citations[0].kind == "step"
    log = a.ask("show me the log", first.conversation_id)
    assert log.text.startswith("The log of checkout: ") and "RolloutStarted" in log.text
    last = a.ask("next", first.conversation_id)
    assert "frontend" in last.text
    assert a.ask("and the one after that?", first.conversation_id).text.startswith("That was the last incident")
    back = a.ask("the one before that", first.conversation_id)
    assert "checkout" in back.text
    named = a.ask("who was told about payment-service?", first.conversation_id)
    assert named.incident_id == first.incident_id


def test_a_new_conversation_does_not_inherit_another(store: Store) -> None:
    a = asker(store)
    one = a.ask("next")
    assert one.conversation_id
    other = a.ask("why?")
    assert other.conversation_id != one.conversation_id and "payment-service" in other.text


def test_memory_is_bounded_and_expires(store: Store) -> None:
    a = asker(store, max_conversations=3)
    ids = [a.ask("why?").conversation_id for _ in range(5)]
    assert a.conversations() == 3
    again = a.ask("next", ids[0])  # forgotten: starts over at the first incident, then moves on
    assert again.conversation_id == ids[0] and "checkout" in again.text


def test_bad_questions_are_refused_in_one_line(store: Store) -> None:
    a = asker(store)
    with pytest.raises(ValidationError, match=r"1\.\.500 characters"):
        a.ask("   ")
    with pytest.raises(ValidationError, match=r"1\.\.500 characters"):
        a.ask("why " * 200)
    with pytest.raises(ValidationError, match="conversation_id"):
        a.ask("why?", "../../etc/passwd")
