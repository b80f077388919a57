from datetime import datetime, timedelta, timezone

import pytest

from runbooks_lib.timeutil import age, ago, format_time, human_duration, parse_time

UTC = timezone.utc


@pytest.mark.parametrize("text, expected", [
    ("2025-11-06T16:32:10Z", datetime(2025, 11, 6, 16, 32, 10, tzinfo=UTC)),
    ("2025-11-06T16:32:10.123456Z", datetime(2025, 11, 6, 16, 32, 10, 123456, tzinfo=UTC)),
    ("2025-11-06T16:32:10.123456789Z", datetime(2025, 11, 6, 16, 32, 10, 123456, tzinfo=UTC)),  # nanoseconds cut
    ("2025-11-06T17:32:10+01:00", datetime(2025, 11, 6, 16, 32, 10, tzinfo=UTC)),
    ("2025-11-06 16:32:10Z", datetime(2025, 11, 6, 16, 32, 10, tzinfo=UTC)),
    ("2025-11-06T16:32:10", datetime(2025, 11, 6, 16, 32, 10, tzinfo=UTC)),
])
def test_parse_time_accepts_what_real_dumps_contain(text, expected):
    assert parse_time(text) == expected


@pytest.mark.parametrize("value", [None, "", "yesterday", "2025-13-45T99:00:00Z", 12345, {"a": 1}])
def test_parse_time_returns_none_for_unreadable_values(value):
    assert parse_time(value) is None


def test_format_time_round_trips():
    moment = datetime(2025, 11, 6, 16, 32, 10, tzinfo=UTC)
    assert format_time(moment) == "2025-11-06T16:32:10Z"
    assert parse_time(format_time(moment)) == moment


@pytest.mark.parametrize("seconds, expected", [
    (-5, "<invalid>"), (-1, "0s"), (0, "0s"), (83, "83s"), (119, "119s"), (120, "2m"), (144, "2m24s"),
    (172, "2m52s"), (600, "10m"), (139 * 60, "139m"), (80 * 60, "80m"), (3 * 3600 + 33 * 60, "3h33m"),
    (7 * 3600, "7h"), (20 * 3600, "20h"), (47 * 3600, "47h"), (52 * 3600, "2d4h"), (7 * 86400, "7d"),
    (45 * 86400, "45d"), (800 * 86400, "2y70d"), (3650 * 86400, "10y"),
])
def test_human_duration_matches_kubectl(seconds, expected):
    # Values from the seed incident's kubectl output (83s, 2m24s, 139m, 3h33m, 20h) and kubectl's rules.
    assert human_duration(timedelta(seconds=seconds)) == expected


def test_age_is_relative_to_the_given_now_not_the_wall_clock():
    now = datetime(2025, 11, 6, 16, 32, 10, tzinfo=UTC)
    assert age(now - timedelta(minutes=80), now) == "80m"
    assert ago(now - timedelta(seconds=83), now) == "83s ago"
    assert age(None, now) == "<unknown>"
