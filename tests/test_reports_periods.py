"""Report periods (property tests): whatever the frequency, time zone (DST included), hour and the times
a restarted scheduler happens to run, every due period is sent once, in order, none skipped."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from relaywatch.core import RelaywatchError
from reports import due_periods, parse_period, period_of

ZONES = ["UTC", "Europe/Paris", "America/New_York", "Australia/Lord_Howe", "Pacific/Kiritimati"]
SHORTEST = {"daily": timedelta(days=1), "weekly": timedelta(days=7), "monthly": timedelta(days=28)}


@settings(max_examples=150, deadline=None)
@given(
    frequency=st.sampled_from(sorted(SHORTEST)),
    zone=st.sampled_from(ZONES),
    hour=st.integers(0, 23),
    enabled=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 31)),
    steps=st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=40),
)
def test_every_due_period_is_sent_exactly_once_in_order(
    frequency: str, zone: str, hour: int, enabled: datetime, steps: list[float]
) -> None:
    start = enabled.replace(tzinfo=UTC)
    sent: list[str] = []
    now = start
    for step in steps:  # the scheduler runs (after a restart, or not) at least once per shortest period
        now += SHORTEST[frequency] * step + timedelta(minutes=1)
        for period in due_periods(frequency, hour, zone, now, start.timestamp()):
            if period.key not in sent:
                sent.append(period.key)
    tz = ZoneInfo(zone)
    expected = []
    period = period_of(frequency, start.astimezone(tz).date(), tz)
    while period.due_at(hour, tz) <= now:
        expected.append(period.key)
        period = period.next(tz)
    assert sent == expected


@given(
    day=st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)),
    zone=st.sampled_from(ZONES),
    frequency=st.sampled_from(sorted(SHORTEST)),
)
def test_periods_tile_time_without_gap_or_overlap(day: date, zone: str, frequency: str) -> None:
    tz = ZoneInfo(zone)
    period = period_of(frequency, day, tz)
    assert period.first <= day <= period.last and period.start < period.end
    assert period.next(tz).start == period.end and period.previous(tz).end == period.start
    assert parse_period(period.key, tz) == period


def test_period_names_are_checked() -> None:
    tz = ZoneInfo("UTC")
    assert parse_period("2026-W47", tz).first == date(2026, 11, 16)
    assert parse_period("2026-02", tz).last == date(2026, 2, 28)
    for bad in ("2026-13", "2026-02-30", "yesterday", "2026-W60"):
        with pytest.raises(RelaywatchError, match="--period"):
            parse_period(bad, tz)
