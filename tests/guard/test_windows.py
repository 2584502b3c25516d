"""Maintenance windows: parsing (with one-line errors) and membership, across midnight, weeks and timezones."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tagent.errors import ConfigError
from tagent.guard import parse_window

# 2026-03-07 is a Saturday; 2026-03-09 a Monday.


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize("text, inside, outside", [
    ("Sat 02:00-04:00 UTC", [at(7, 2), at(7, 3, 59)], [at(7, 4), at(7, 1, 59), at(6, 3), at(14, 4, 30)]),
    ("Sat 23:00-01:00", [at(7, 23, 30), at(8, 0, 30)], [at(7, 0, 30), at(8, 23, 30), at(8, 1)]),
    ("Sat,Sun 00:00-24:00", [at(7, 0), at(8, 23, 59)], [at(9, 0), at(6, 23, 59)]),
    ("daily 03:00-03:15", [at(d, 3, 10) for d in range(7, 14)], [at(7, 3, 15), at(7, 2, 59)]),
    ("Fri-Mon 01:00-02:00", [at(6, 1), at(7, 1), at(8, 1), at(9, 1, 59)], [at(10, 1), at(11, 1, 30)]),
    ("mon-fri 22:00-23:30 Europe/Paris",  # Paris is UTC+1 in March (before the switch to summer time)
     [at(9, 21, 0), at(13, 22, 29)], [at(9, 22, 30), at(7, 21, 30), at(9, 20, 59)]),
    ("Saturday 10:00-12:00 America/New_York", [at(7, 15), at(7, 16, 59)], [at(7, 10), at(7, 17)]),
])
def test_membership(text: str, inside: list[datetime], outside: list[datetime]) -> None:
    window = parse_window(text)
    for moment in inside:
        assert window.contains(moment), f"{moment} should be inside {text}"
    for moment in outside:
        assert not window.contains(moment), f"{moment} should be outside {text}"


@pytest.mark.parametrize("text, why", [
    ("Someday 02:00-04:00", "unknown day 'Someday'"),
    ("Sat 25:00-26:00", "invalid time '25:00'"),
    ("Sat 02:61-04:00", "invalid time '02:61'"),
    ("Sat 24:00-02:00", "invalid time '24:00'"),
    ("Sat 02:00-04:00 Mars/Olympus", "unknown timezone 'Mars/Olympus'"),
    ("Sat 2-4", "cannot parse"),
    ("", "cannot parse"),
    ("02:00-04:00", "cannot parse"),
])
def test_bad_windows_give_one_clear_line(text: str, why: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_window(text)
    message = str(info.value)
    assert why in message and repr(text) in message and "e.g. 'Sat 02:00-04:00 UTC'" in message
    assert "\n" not in message
