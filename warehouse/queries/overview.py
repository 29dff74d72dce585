"""The Overview: totals of the period, the same counts by time, gateway, sender and recipient domain."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

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
    """One scan of the period's deliveries grouped four ways (GROUPING SETS), plus expired recipients."""
    outcome, params = counts(soft_is_error)
    params.update(period.params())
    grouped = run(
        wh,
        f"SELECT GROUPING(bucket, status, gateway, sender, recipient_domain) AS g, bucket, status, gateway, "  # noqa: S608
        f"sender, recipient_domain, {outcome} FROM "
        f"(SELECT *, {BUCKET_SQL} AS bucket FROM deliveries WHERE {PERIOD_SQL}) "
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


def newest(wh: Queryable, view: str = "deliveries") -> datetime | None:
    """The time of the newest row of `view` (deliveries or rejects) this user may see, None when none."""
    if view not in ("deliveries", "rejects"):
        raise ValueError(f"no newest row of {view!r}")
    found = run(wh, f"SELECT max(ts) AS ts FROM {view}")["ts"][0]  # noqa: S608
    return found if isinstance(found, datetime) else None
