"""Report periods: a local day, ISO week or calendar month of the reader's time zone, and when it is due.

A period is named by a key that is the same whatever the clock ("daily:2026-11-20", "weekly:2026-W47",
"monthly:2026-11"): the exactly-once record is keyed on it. A period is due at the reader's hour on the
first local day after it (daily: the next day; weekly: Monday; monthly: the 1st).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from relaywatch.core import RelaywatchError, time_zone
from warehouse import Period

CATCH_UP = 3
"""Periods missed while the scheduler was down are sent up to this many, newest first."""


@dataclass(frozen=True)
class ReportPeriod:
    """One period of one frequency: its key, local first day and UTC bounds."""

    frequency: str
    key: str
    first: date
    last: date
    start: datetime
    end: datetime

    @property
    def window(self) -> Period:
        """The warehouse's half-open UTC range for the queries."""
        return Period(self.start, self.end)

    def previous(self, zone: ZoneInfo) -> ReportPeriod:
        return period_of(self.frequency, self.first - timedelta(days=1), zone)

    def next(self, zone: ZoneInfo) -> ReportPeriod:
        return period_of(self.frequency, self.last + timedelta(days=1), zone)

    def due_at(self, hour: int, zone: ZoneInfo) -> datetime:
        """When the report of this period is sent: `hour` o'clock, local, on the day after it."""
        after = self.last + timedelta(days=1)
        return datetime(after.year, after.month, after.day, hour, tzinfo=zone).astimezone(UTC)


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


def period_of(frequency: str, day: date, zone: ZoneInfo) -> ReportPeriod:
    """The period of `frequency` holding the local day `day`."""
    if frequency == "daily":
        first = last = day
        key = f"daily:{day.isoformat()}"
    elif frequency == "weekly":
        first = day - timedelta(days=day.weekday())
        last = first + timedelta(days=6)
        year, week, _ = first.isocalendar()
        key = f"weekly:{year}-W{week:02d}"
    elif frequency == "monthly":
        first = day.replace(day=1)
        last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        key = f"monthly:{first.year}-{first.month:02d}"
    else:
        raise RelaywatchError(f"no periods for frequency {frequency!r}")
    return ReportPeriod(frequency, key, first, last, _midnight(first, zone), _midnight(last + timedelta(days=1), zone))


def last_complete(frequency: str, hour: int, zone: ZoneInfo, now: datetime) -> ReportPeriod:
    """The newest period of `frequency` that is due at `now`."""
    period = period_of(frequency, now.astimezone(zone).date(), zone).previous(zone)
    while period.due_at(hour, zone) > now:
        period = period.previous(zone)
    return period


def due_periods(
    frequency: str, hour: int, timezone: str, now: datetime, enabled_at: float | None
) -> list[ReportPeriod]:
    """Periods due at `now` that end after the report was switched on, oldest first (at most CATCH_UP)."""
    if frequency == "off" or enabled_at is None:
        return []
    zone = time_zone(timezone, "time zone")
    enabled = datetime.fromtimestamp(enabled_at, UTC)
    found: list[ReportPeriod] = []
    period = last_complete(frequency, hour, zone, now)
    while period.end > enabled and len(found) < CATCH_UP:
        found.append(period)
        period = period.previous(zone)
    return found[::-1]


_KEYS = {
    "daily": re.compile(r"^(\d{4})-(\d{2})-(\d{2})$"),
    "weekly": re.compile(r"^(\d{4})-W(\d{2})$"),
    "monthly": re.compile(r"^(\d{4})-(\d{2})$"),
}


def parse_period(text: str, zone: ZoneInfo) -> ReportPeriod:
    """A period named by the CLI: YYYY-MM-DD (a day), YYYY-Www (an ISO week) or YYYY-MM (a month)."""
    value = text.strip().partition(":")[2] or text.strip()
    for frequency, pattern in _KEYS.items():
        match = pattern.match(value)
        if not match:
            continue
        numbers = [int(g) for g in match.groups()]
        try:
            if frequency == "daily":
                day = date(*numbers)
            elif frequency == "weekly":
                day = date.fromisocalendar(numbers[0], numbers[1], 1)
            else:
                day = date(numbers[0], numbers[1], 1)
        except ValueError as exc:
            raise RelaywatchError(f"--period {text!r}: {exc}") from None
        return period_of(frequency, day, zone)
    raise RelaywatchError(f"--period {text!r}: expected YYYY-MM-DD (a day), YYYY-Www (a week) or YYYY-MM (a month)")
