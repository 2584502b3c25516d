from datetime import UTC, datetime

import pytest

from tagent.escalation.night import in_night, routes_for
from tagent.model import Severity
from tagent.model.policy import EscalationPolicySpec, NightWindow

IST = NightWindow.model_validate({"from": "22:00", "to": "07:00", "timezone": "Asia/Kolkata"})


@pytest.mark.parametrize(
    ("utc", "inside"),
    [
        ("2026-11-26T16:29:00", False),  # 21:59 IST
        ("2026-11-26T16:30:00", True),  # 22:00 IST
        ("2026-11-26T20:30:00", True),  # 02:00 IST, after midnight
        ("2026-11-27T01:29:00", True),  # 06:59 IST
        ("2026-11-27T01:30:00", False),  # 07:00 IST
        ("2026-11-27T06:30:00", False),  # noon IST
    ],
)
def test_night_window_crosses_midnight_in_its_timezone(utc: str, inside: bool) -> None:
    assert in_night(IST, datetime.fromisoformat(utc).replace(tzinfo=UTC)) is inside


def test_day_window_and_no_window() -> None:
    day = NightWindow.model_validate({"from": "09:00", "to": "17:00"})
    assert in_night(day, datetime(2026, 1, 1, 12, tzinfo=UTC))
    assert not in_night(day, datetime(2026, 1, 1, 18, tzinfo=UTC))
    assert not in_night(None, datetime(2026, 1, 1, 2, tzinfo=UTC))


def test_routes_by_severity_keep_order_without_duplicates() -> None:
    spec = EscalationPolicySpec.model_validate({
        "routes": [
            {"severity": ["warning", "critical"], "notify": ["slack-oncall", "teams-sre"]},
            {"severity": ["critical"], "notify": ["slack-oncall"], "call": "oncall-phone"},
        ]
    })
    assert routes_for(spec, Severity.critical) == (["slack-oncall", "teams-sre"], ["oncall-phone"])
    assert routes_for(spec, Severity.warning) == (["slack-oncall", "teams-sre"], [])
    assert routes_for(spec, Severity.info) == ([], [])
