"""A brushed interval of the histogram becomes the whole UTC hours that cover it, in the picker's terms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from dashboards.filters import covering_hours, hours_period
from dashboards.formats import from_wall_clock

instants = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 31), timezones=st.just(UTC))


@given(instants, st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=5)))
def test_the_chosen_hours_cover_the_interval_and_no_more_than_an_hour_each_side(
    start: datetime, length: timedelta
) -> None:
    end = start + length
    first, last, clock = covering_hours(start, end)
    assert 0 <= clock[0] <= 23 and 1 <= clock[1] <= 24 and first <= last
    period = hours_period(first, last, clock)
    assert period.start <= start < period.start + timedelta(hours=1)
    assert period.end >= end and period.end - max(end, start + timedelta(hours=1)) < timedelta(hours=1)
    assert period.start.minute == period.end.minute == period.start.second == period.end.second == 0


def test_an_interval_ending_at_midnight_ends_the_previous_day_at_24() -> None:
    assert covering_hours(datetime(2026, 11, 21, 22, 10, tzinfo=UTC), datetime(2026, 11, 22, tzinfo=UTC)) == (
        datetime(2026, 11, 21).date(),
        datetime(2026, 11, 21).date(),
        (22, 24),
    )


def test_a_brushed_paris_wall_clock_time_is_the_utc_instant_it_shows() -> None:
    paris = ZoneInfo("Europe/Paris")
    shown = datetime(2026, 7, 1, 14, 0, tzinfo=UTC).timestamp() * 1000  # drawn as 14:00 on the chart
    assert from_wall_clock(shown, paris) == datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    assert from_wall_clock(shown, ZoneInfo("UTC")) == datetime(2026, 7, 1, 14, 0, tzinfo=UTC)
