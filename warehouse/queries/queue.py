"""The mail queue: newest snapshot per gateway (size, oldest message, last deferral's reason, mail stuck
longer than a threshold), its messages, recipient domains, delay reasons, size over time."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from warehouse.queries.common import (
    Period,
    Queryable,
    run,
)

STUCK_HOURS = 4.0
"""Default age (hours) above which queued mail is flagged as stuck."""


@dataclass(frozen=True)
class QueueView:
    """The newest snapshot per gateway, its messages, recipient domains, grouped delay reasons and the size
    over time; `stuck_hours` is the age above which a queued message counts as stuck (`summary.stuck`)."""

    summary: pl.DataFrame
    messages: pl.DataFrame
    reasons: pl.DataFrame
    history: pl.DataFrame
    domains: pl.DataFrame
    stuck_hours: float = STUCK_HOURS


def queue(wh: Queryable, period: Period, stuck_hours: float = STUCK_HOURS) -> QueueView:
    """The newest snapshot of each gateway (an empty newest snapshot means an empty queue, not the
    previous one) and the queue size over time, zeros included, from the scoped queue views.

    `summary.last_reason` is the delay reason of the most recently arrived message that has one (postqueue
    gives no deferral time); `summary.stuck` counts messages older than `stuck_hours`."""
    latest = (
        "WITH latest AS (SELECT gateway, max(snapshot_ts) AS snapshot_ts FROM queue_snapshots "
        "GROUP BY gateway), q AS (SELECT queue.* FROM queue JOIN latest USING (gateway, snapshot_ts))"
    )
    summary = run(
        wh,
        f"{latest} SELECT gateway, snapshot_ts, count(*) AS messages, sum(len(recipients)) AS recipients, "  # noqa: S608
        "sum(message_size) AS bytes, max(date_diff('second', arrival_time, snapshot_ts)) / 3600 AS oldest_hours, "
        "min(arrival_time) AS oldest_arrival, "
        "count(*) FILTER (WHERE arrival_time < snapshot_ts - to_seconds($stuck * 3600)) AS stuck, "
        "arg_max(list_filter(delay_reasons, lambda r: r IS NOT NULL)[1], arrival_time) "
        "FILTER (WHERE len(list_filter(delay_reasons, lambda r: r IS NOT NULL)) > 0) AS last_reason "
        "FROM q GROUP BY gateway, snapshot_ts ORDER BY gateway",
        {"stuck": stuck_hours},
    )
    domains = run(
        wh,
        f"{latest} SELECT gateway, lower(split_part(rcpt, '@', 2)) AS recipient_domain, "  # noqa: S608
        "count(*) AS recipients, count(DISTINCT queue_id) AS messages, count(reason) AS deferred "
        "FROM (SELECT gateway, queue_id, unnest(recipients) AS rcpt, unnest(delay_reasons) AS reason FROM q) "
        "GROUP BY ALL ORDER BY recipients DESC, recipient_domain LIMIT 500",
    )
    messages = run(
        wh,
        f"{latest} SELECT gateway, queue_name, queue_id, arrival_time, "  # noqa: S608
        "date_diff('second', arrival_time, snapshot_ts) / 3600 AS age_hours, message_size, sender, recipients, "
        "delay_reasons FROM q ORDER BY arrival_time LIMIT 5000",
    )
    reasons = run(  # the same reason from different MX addresses counts once: addresses are masked
        wh,
        f"{latest} SELECT gateway, regexp_replace(reason, '\\[[0-9A-Fa-f.:]+\\]', '[...]', 'g') AS reason, "  # noqa: S608
        "count(*) AS recipients FROM (SELECT gateway, unnest(delay_reasons) AS reason FROM q) "
        "WHERE reason IS NOT NULL GROUP BY ALL ORDER BY recipients DESC LIMIT 200",
    )
    history = run(
        wh,
        "SELECT snapshot_ts, gateway, messages FROM queue_snapshots "
        "WHERE snapshot_ts >= $start AND snapshot_ts < $end ORDER BY snapshot_ts, gateway",
        {"start": period.start, "end": period.end},
    )
    return QueueView(summary, messages, reasons, history, domains, stuck_hours)
