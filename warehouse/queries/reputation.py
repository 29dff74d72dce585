"""Acceptance, deferral and reject rates per gateway x receiving provider."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from warehouse.queries.common import (
    BUCKET_SQL,
    HIGHLIGHTED_REASONS,
    PERIOD_SQL,
    Period,
    Queryable,
    rate,
    run,
)


@dataclass(frozen=True)
class Reputation:
    """Acceptance, deferral and reject rates per gateway x receiving provider, in total and over time."""

    table: pl.DataFrame
    timeline: pl.DataFrame


def reputation(wh: Queryable, period: Period) -> Reputation:
    """Rates per gateway x provider; counts of the reasons that point at the sending IP's standing."""
    params = period.params()
    params["highlighted"] = list(HIGHLIGHTED_REASONS)
    highlighted = ", ".join(f"count(*) FILTER (WHERE reason = '{r}') AS {r}" for r in HIGHLIGHTED_REASONS)
    rates = f"{rate('sent')} AS accepted_rate, {rate('deferred')} AS deferred_rate, {rate('bounced')} AS rejected_rate"
    base = (
        "count(*) AS attempts, count(*) FILTER (WHERE status = 'sent') AS sent, "
        "count(*) FILTER (WHERE status = 'deferred') AS deferred, "
        "count(*) FILTER (WHERE status = 'bounced') AS bounced"
    )
    table = run(
        wh,
        f"SELECT *, {rates} FROM (SELECT gateway, provider, {base}, {highlighted}, "  # noqa: S608
        "count(*) FILTER (WHERE list_contains(CAST($highlighted AS VARCHAR[]), reason)) AS flagged "
        f"FROM deliveries WHERE {PERIOD_SQL} GROUP BY gateway, provider) "
        "ORDER BY attempts DESC, gateway, provider",
        params,
    )
    timeline = run(
        wh,
        f"SELECT *, {rates} FROM (SELECT {BUCKET_SQL} AS bucket, gateway, "  # noqa: S608
        f"provider, {base}, count(*) FILTER (WHERE list_contains(CAST($highlighted AS VARCHAR[]), reason)) "
        f"AS flagged FROM deliveries WHERE {PERIOD_SQL} GROUP BY ALL) ORDER BY bucket",
        params,
    )
    return Reputation(table, timeline)
