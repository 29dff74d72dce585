"""Rejects: refusals before or at queueing (the `rejects` view), filtered like the Logs, paged."""

from __future__ import annotations

from dataclasses import replace

import polars as pl

from warehouse.queries.common import BUCKET_SQL, Queryable, run
from warehouse.queries.logs import SORTS, LogFilter

REJECT_COLUMNS = (
    "ts",
    "gateway",
    "service",
    "queue_id",
    "client_ip",
    "client_host",
    "sender",
    "recipient",
    "status",
    "qualification",
    "reason",
    "dsn",
    "response",
    "sasl_username",
    "rule",
    "message_key",
)
REJECT_SORTS = {k: v for k, v in SORTS.items() if k not in ("delay", "size")}


def _where(flt: LogFilter) -> tuple[str, dict[str, object]]:
    """The Logs filter on the rejects view (which has no Message-ID column: that filter is ignored)."""
    return replace(flt, message_id="").where()


def reject_histogram(wh: Queryable, flt: LogFilter) -> pl.DataFrame:
    """Filtered rejects per time bucket and reason (its sum is the size of the filtered result)."""
    where, params = _where(flt)
    return run(
        wh,
        f"SELECT {BUCKET_SQL} AS bucket, coalesce(reason, 'other') AS reason, count(*) AS rejects "  # noqa: S608
        f"FROM rejects WHERE {where} GROUP BY ALL ORDER BY bucket, reason",
        params,
    )


def reject_rows(
    wh: Queryable, flt: LogFilter, *, sort: str = "ts", descending: bool = True, limit: int = 100, offset: int = 0
) -> pl.DataFrame:
    """One page of the filtered rejects (server-side LIMIT/OFFSET, parameters)."""
    if sort not in REJECT_SORTS:
        raise ValueError(f"cannot sort by {sort!r}")
    where, params = _where(flt)
    params.update(limit=max(1, min(int(limit), 1000)), offset=max(0, int(offset)))
    direction = "DESC" if descending else "ASC"
    return run(
        wh,
        f"SELECT {', '.join(REJECT_COLUMNS)} FROM rejects WHERE {where} "  # noqa: S608
        f'ORDER BY {REJECT_SORTS[sort]} {direction} NULLS LAST, ts DESC, file_id, "offset" '
        "LIMIT $limit OFFSET $offset",
        params,
    )
