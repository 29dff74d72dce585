"""What every query of the query API shares: the warehouse protocol, periods and SQL fragments.

Every query runs over the warehouse's scoped views and never adds a permission predicate of its own:
the Warehouse it is given was built with the caller's Scope. Every value a person types reaches DuckDB as
a named parameter; the only SQL text chosen at run time comes from allow-lists.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

import polars as pl
import pyarrow as pa

STATUSES = ("sent", "deferred", "bounced", "expired")
HIGHLIGHTED_REASONS = ("reputation", "rate_limited", "policy", "auth_policy")


class Queryable(Protocol):
    """What the pages need of `warehouse.views.Warehouse`."""

    def query(self, sql: str, params: dict[str, Any] | None = None) -> pl.DataFrame: ...

    def batches(
        self, sql: str, params: dict[str, Any] | None = None, *, rows: int = 65536
    ) -> Iterator[pa.RecordBatch]: ...


@dataclass(frozen=True)
class Period:
    """A half-open UTC time range [start, end) and the chart bucket that suits its length."""

    start: datetime
    end: datetime

    @classmethod
    def last(cls, hours: float, *, now: datetime | None = None) -> Period:
        """The `hours` before now (rounded up to the minute, so reruns hit the same range)."""
        now = (now or datetime.now(UTC)).replace(second=0, microsecond=0) + timedelta(minutes=1)
        return cls(now - timedelta(hours=hours), now)

    @classmethod
    def days(cls, first: date, last: date) -> Period:
        """Whole UTC days from `first` to `last`, both included."""
        start = datetime(first.year, first.month, first.day, tzinfo=UTC)
        end = datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1)
        return cls(start, max(end, start + timedelta(days=1)))

    @property
    def bucket_minutes(self) -> int:
        hours = (self.end - self.start).total_seconds() / 3600
        for limit, minutes in ((3, 5), (12, 15), (48, 60), (8 * 24, 360)):
            if hours <= limit:
                return minutes
        return 1440

    def params(self) -> dict[str, Any]:
        """Bounds on ts, and on the `day` partition so DuckDB skips whole days."""
        return {
            "start": self.start,
            "end": self.end,
            "day0": self.start.date(),
            "day1": (self.end - timedelta(microseconds=1)).date(),
            "minutes": self.bucket_minutes,
        }


PERIOD_SQL = "ts >= $start AND ts < $end AND day BETWEEN $day0 AND $day1"
BUCKET_SQL = "time_bucket(to_minutes(CAST($minutes AS BIGINT)), timezone('UTC', ts))"


def run(wh: Queryable, sql: str, params: dict[str, Any] | None = None) -> pl.DataFrame:
    """Run with exactly the parameters the statement names (DuckDB refuses extra ones)."""
    return wh.query(sql, used(sql, params))


def used(sql: str, params: dict[str, Any] | None) -> dict[str, Any]:
    names = set(re.findall(r"\$([A-Za-z_][A-Za-z0-9_]*)", sql))
    return {k: v for k, v in (params or {}).items() if k in names}


def rate(numerator: str, denominator: str = "attempts") -> str:
    return f"round(100.0 * {numerator} / nullif({denominator}, 0), 2)"


def counts(soft_is_error: bool) -> tuple[str, dict[str, Any]]:
    """Attempt counts by outcome; `errors` counts hard failures, and soft ones when the user says so."""
    sql = (
        "count(*) AS attempts, count(*) FILTER (WHERE status = 'sent') AS sent, "
        "count(*) FILTER (WHERE status = 'deferred') AS deferred, "
        "count(*) FILTER (WHERE status = 'bounced') AS bounced, "
        "count(*) FILTER (WHERE qualification = 'hard' OR ($soft AND qualification = 'soft')) AS errors"
    )
    return sql, {"soft": soft_is_error}
