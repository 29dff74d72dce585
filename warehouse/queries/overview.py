"""The Overview: totals of the period, the same counts by time, gateway, sender and recipient domain."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import polars as pl

from warehouse.queries.common import (
    BUCKET_SQL,
    PERIOD_SQL,
    Period,
    Queryable,
    counts,
    run,
)


@dataclass(frozen=True)
class Overview:
    """Totals over the period and the same counts by time, gateway, sender and recipient domain."""

    totals: dict[str, int]
    timeline: pl.DataFrame
    by_gateway: pl.DataFrame
    top_senders: pl.DataFrame
    top_domains: pl.DataFrame

    @property
    def error_rate(self) -> float | None:
        attempts = self.totals.get("attempts", 0)
        return None if not attempts else round(100.0 * self.totals.get("errors", 0) / attempts, 2)


def overview(wh: Queryable, period: Period, *, soft_is_error: bool, top: int = 10) -> Overview:
    """One scan grouped four ways (GROUPING SETS), plus expired recipients.

    When the chart bucket is an hour or more and the warehouse's `delivery_hours` rollup counts the very
    deliveries snapshot its views read, the whole hours of the period are read from the rollup and only
    the partial hours at its edges (none for an hour-aligned period) from `deliveries`; the counts are
    sums of the same attempts, so the figures are the same. Otherwise (buckets under an hour, a rollup
    behind its deliveries, a period shorter than one whole hour) everything is read from `deliveries`."""
    params = period.params()
    params["soft"] = soft_is_error
    source = _from_rollup(period, params) if _rollup_usable(wh, period) else None
    if source is None:
        outcome, _ = counts(soft_is_error)
        source = f"(SELECT *, {BUCKET_SQL} AS bucket FROM deliveries WHERE {PERIOD_SQL})"  # noqa: S608
    else:
        outcome = SUMMED
    grouped = run(
        wh,
        f"SELECT GROUPING(bucket, status, gateway, sender, recipient_domain) AS g, bucket, status, gateway, "  # noqa: S608
        f"sender, recipient_domain, {outcome} FROM {source} "
        "GROUP BY GROUPING SETS ((bucket, status), (gateway), (sender), (recipient_domain), ())",
        params,
    )
    expired = run(
        wh,
        "SELECT coalesce(sum(expired_recipients), 0) AS expired FROM messages "
        "WHERE expired AND last_ts >= $start AND last_ts < $end",
        {"start": period.start, "end": period.end},
    )["expired"][0]

    def part(mask: int, keys: list[str]) -> pl.DataFrame:
        frame = grouped.filter(pl.col("g") == mask).select(*keys, "attempts", "sent", "deferred", "bounced", "errors")
        return frame.with_columns(error_rate=(100.0 * pl.col("errors") / pl.col("attempts")).round(2))

    # GROUPING() sets a bit for each column NOT grouped, first argument = highest bit.
    total = grouped.filter(pl.col("g") == 0b11111)
    totals = {
        k: int(total[k][0] or 0) if total.height else 0 for k in ("attempts", "sent", "deferred", "bounced", "errors")
    }
    totals["expired"] = int(expired or 0)
    timeline = grouped.filter(pl.col("g") == 0b00111).select("bucket", "status", "attempts").sort("bucket")
    by_gateway = part(0b11011, ["gateway"]).sort("attempts", descending=True)
    senders = part(0b11101, ["sender"]).sort("attempts", "sender", descending=[True, False]).head(top)
    senders = senders.with_columns(sender=pl.when(pl.col("sender") == "").then(pl.lit("<>")).otherwise("sender"))
    domains = (
        part(0b11110, ["recipient_domain"]).sort("attempts", "recipient_domain", descending=[True, False]).head(top)
    )
    return Overview(totals, timeline, by_gateway, senders, domains)


SUMMED = ", ".join(
    f"CAST(coalesce(sum(attempts){condition}, 0) AS BIGINT) AS {name}"
    for name, condition in (
        ("attempts", ""),
        ("sent", " FILTER (WHERE status = 'sent')"),
        ("deferred", " FILTER (WHERE status = 'deferred')"),
        ("bounced", " FILTER (WHERE status = 'bounced')"),
        ("errors", " FILTER (WHERE qualification = 'hard' OR ($soft AND qualification = 'soft'))"),
    )
)
"""`counts()` over rows that each stand for `attempts` deliveries (rollup rows and single deliveries)."""
COLUMNS = "gateway, sender, recipient_domain, status, qualification"


def _rollup_usable(wh: Queryable, period: Period) -> bool:
    """Hour buckets or wider, and a rollup that counts the deliveries the views read."""
    current = getattr(wh, "rollups_current", None)  # a Warehouse; other Queryables have no rollup
    return period.bucket_minutes >= 60 and callable(current) and bool(current())


def _from_rollup(period: Period, params: dict[str, Any]) -> str | None:
    """The period's rows as (bucket, keys, attempts): its whole hours from `delivery_hours`, its partial
    edge hours from `deliveries`; None when it holds no whole hour. Adds the bounds to `params`."""
    first = period.start.replace(minute=0, second=0, microsecond=0)
    if first < period.start:
        first += timedelta(hours=1)
    last = period.end.replace(minute=0, second=0, microsecond=0)
    if last <= first:
        return None
    tick = timedelta(microseconds=1)
    params.update(
        hour0=first,
        hour1=last,
        hday0=first.date(),
        hday1=(last - tick).date(),
        eday0=(first - tick).date(),
        eday1=last.date(),
    )
    bucket = BUCKET_SQL
    parts = [
        f"SELECT {bucket} AS bucket, {COLUMNS}, attempts FROM (SELECT hour AS ts, {COLUMNS}, attempts "  # noqa: S608
        "FROM delivery_hours WHERE hour >= $hour0 AND hour < $hour1 AND day BETWEEN $hday0 AND $hday1)"
    ]
    if period.start < first:
        parts.append(
            f"SELECT {bucket} AS bucket, {COLUMNS}, 1 AS attempts FROM deliveries "  # noqa: S608
            "WHERE ts >= $start AND ts < $hour0 AND day BETWEEN $day0 AND $eday0"
        )
    if last < period.end:
        parts.append(
            f"SELECT {bucket} AS bucket, {COLUMNS}, 1 AS attempts FROM deliveries "  # noqa: S608
            "WHERE ts >= $hour1 AND ts < $end AND day BETWEEN $eday1 AND $day1"
        )
    return "(" + " UNION ALL ".join(parts) + ")"


def newest(wh: Queryable, view: str = "deliveries") -> datetime | None:
    """The time of the newest row of `view` (deliveries or rejects) this user may see, None when none."""
    if view not in ("deliveries", "rejects"):
        raise ValueError(f"no newest row of {view!r}")
    found = run(wh, f"SELECT max(ts) AS ts FROM {view}")["ts"][0]  # noqa: S608
    return found if isinstance(found, datetime) else None
