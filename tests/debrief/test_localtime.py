"""The team's time: phrases resolve in the escalation policy's zone on the given clock, never in UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tagent.debrief import localtime
from tagent.errors import ValidationError
from tests.debrief.nightdata import IST, at

REPO = Path(__file__).resolve().parents[2]


def test_the_default_pack_puts_the_team_in_kolkata() -> None:
    assert localtime.timezone_of_rules(str(REPO)) == IST
    assert localtime.timezone_of_rules("https://git.example.test/rules.git") == ZoneInfo("UTC")
    assert localtime.team_timezone(None) == ZoneInfo("UTC")


def test_last_night_is_the_local_night_not_the_utc_one() -> None:
    now = at(7, 30)  # 02:00 UTC: in UTC "last night" would be the evening of the 1st, hours off
    night = localtime.window("last night", now, IST)
    assert (night.start, night.end) == (at(20, 0, day=1), now)  # capped at now: no future
    assert night.start.astimezone(UTC) == datetime(2026, 12, 1, 14, 30, tzinfo=UTC)
    assert localtime.window("last-night", at(22, 0), IST).end == at(8, 0)  # evening: the night that ended today
    assert localtime.window("yesterday", now, IST).start == at(0, 0, day=1)
    assert localtime.window("this morning", at(11, 0), IST).start == at(0, 0)
    assert localtime.window("tonight", at(19, 0), IST).start == at(18, 0)


def test_unknown_phrases_and_zones_are_one_line_errors() -> None:
    with pytest.raises(ValidationError, match="unknown period 'soonish'"):
        localtime.window("soonish", at(7, 0), IST)
    with pytest.raises(ValidationError, match="unknown time zone 'Mars/Olympus'"):
        localtime.zone("Mars/Olympus")


def test_times_are_told_the_way_a_colleague_says_them() -> None:
    now = at(7, 30)
    assert localtime.spoken(at(2, 15), now, IST) == "last night at 2:15 AM IST"
    assert localtime.spoken(at(23, 5, day=1), now, IST) == "last night at 11:05 PM IST"
    assert localtime.spoken(at(6, 10), now, IST) == "this morning at 6:10 AM IST"
    assert localtime.spoken(at(12, 5, day=1), now, IST) == "yesterday at 12:05 PM IST"
    assert localtime.spoken(at(9, 0, day=1), at(15, 0, day=3), IST).startswith("on Tuesday, 1 December")
    assert localtime.stamp(at(2, 15), ZoneInfo("UTC")) == "8:45 PM UTC"


@pytest.mark.parametrize(("hour", "hello"), [(6, "Good morning"), (13, "Good afternoon"), (21, "Good evening"),
                                             (2, "Good evening")])
def test_the_greeting_follows_the_local_hour(hour: int, hello: str) -> None:
    assert localtime.greeting(at(hour, 0), IST) == hello
