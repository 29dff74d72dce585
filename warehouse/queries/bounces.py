"""Failures of the period by time, recipient domain, provider and reason."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from warehouse.queries.common import (
    BUCKET_SQL,
    PERIOD_SQL,
    Period,
    Queryable,
    rate,
    run,
)


@dataclass(frozen=True)
class Bounces:
    """Failures over time by qualification and reason, and where they come from."""

    timeline: pl.DataFrame
    domains: pl.DataFrame
    providers: pl.DataFrame
    provider_reasons: pl.DataFrame
    unknown_recipients: pl.DataFrame


def bounces(wh: Queryable, period: Period, *, top: int = 15, repeated: int = 2) -> Bounces:
    """Failed attempts (soft, hard, unknown) of the period, by time, domain, provider and reason; and
    recipients refused as unknown in `repeated` or more messages (candidates for suppression)."""
    params = period.params()
    failed = "qualification IN ('soft', 'hard', 'unknown')"
    timeline = run(
        wh,
        f"SELECT {BUCKET_SQL} AS bucket, qualification, reason, count(*) AS attempts FROM deliveries "  # noqa: S608
        f"WHERE {PERIOD_SQL} AND {failed} GROUP BY ALL ORDER BY bucket",
        params,
    )

    def top_by(column: str) -> pl.DataFrame:
        return run(
            wh,
            f"SELECT {column}, count(*) AS attempts, count(*) FILTER (WHERE {failed}) AS failures, "  # noqa: S608
            f"count(*) FILTER (WHERE qualification = 'hard') AS hard, "
            f"{rate(f'count(*) FILTER (WHERE {failed})', 'count(*)')} AS failure_rate "
            f"FROM deliveries WHERE {PERIOD_SQL} GROUP BY {column} HAVING failures > 0 "
            f"ORDER BY failures DESC, {column} LIMIT $top",
            {**params, "top": top},
        )

    provider_reasons = run(
        wh,
        f"SELECT provider, reason, count(*) AS attempts FROM deliveries WHERE {PERIOD_SQL} AND {failed} "  # noqa: S608
        "GROUP BY ALL ORDER BY provider, attempts DESC",
        params,
    )
    unknown = run(
        wh,
        f"SELECT recipient, count(DISTINCT message_key) AS messages, count(*) AS attempts, "  # noqa: S608
        "count(DISTINCT sender) AS senders, min(ts) AS first_seen, max(ts) AS last_seen, "
        "any_value(response) AS reply FROM deliveries "
        f"WHERE {PERIOD_SQL} AND reason = 'user_unknown' GROUP BY recipient "
        "HAVING count(DISTINCT message_key) >= $repeated ORDER BY messages DESC, recipient LIMIT 500",
        {**params, "repeated": repeated},
    )
    return Bounces(timeline, top_by("recipient_domain"), top_by("provider"), provider_reasons, unknown)
