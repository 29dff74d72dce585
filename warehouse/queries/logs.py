"""The Logs: filtered delivery attempts, one page at a time, their histogram and the streamed export."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import polars as pl
import pyarrow as pa

from warehouse.queries.common import (
    BUCKET_SQL,
    PERIOD_SQL,
    Period,
    Queryable,
    run,
    used,
)

LOG_COLUMNS = (
    "ts",
    "gateway",
    "queue_id",
    "sender",
    "recipient",
    "status",
    "qualification",
    "reason",
    "dsn",
    "relay",
    "delay",
    "response",
    "sasl_username",
    "message_id",
    "provider",
    "rule",
    "message_key",
)
EXPORT_COLUMNS = (
    *LOG_COLUMNS[:-1],
    "recipient_domain",
    "orig_to",
    "client_ip",
    "client_host",
    "size",
    "delays",
    "message_key",
)
SORTS = {  # what a person may sort the Logs by -> the column (never user text in the SQL)
    "ts": "ts",
    "sender": "sender",
    "recipient": "recipient",
    "recipient_domain": "recipient_domain",
    "status": "status",
    "qualification": "qualification",
    "reason": "reason",
    "gateway": "gateway",
    "delay": "delay",
    "size": "size",
    "queue_id": "queue_id",
}
MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class LogFilter:
    """The Logs page's filters. Text filters match case-insensitively as substrings, except the
    recipient domain and queue id (exact); list filters keep rows whose value is in the list."""

    period: Period
    sender: str = ""
    recipient: str = ""
    recipient_domain: str = ""
    statuses: tuple[str, ...] = ()
    qualifications: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    gateways: tuple[str, ...] = ()
    sasl_username: str = ""
    queue_id: str = ""
    message_id: str = ""
    text: str = ""

    def where(self) -> tuple[str, dict[str, Any]]:
        """(SQL condition, named parameters) on the deliveries view."""
        terms = [PERIOD_SQL]
        params = self.period.params()
        lowered = (("sender", self.sender), ("recipient", self.recipient), ("sasl_username", self.sasl_username))
        for column, value in lowered:  # the lake stores these lower-cased
            if value.strip():
                terms.append(f"contains({column}, $f_{column})")
                params[f"f_{column}"] = value.strip().lower()
        # Any case: a literal, escaped RE2 pattern (several times faster than lower() on long replies).
        for column, value in (("message_id", self.message_id.strip("<> ")), ("response", self.text)):
            if value.strip():
                terms.append(f"regexp_matches({column}, $f_{column})")
                params[f"f_{column}"] = "(?i)" + re.escape(value.strip())
        if self.recipient_domain.strip():
            terms.append("recipient_domain = $f_recipient_domain")
            params["f_recipient_domain"] = self.recipient_domain.strip().lower().lstrip("@")
        if self.queue_id.strip():
            terms.append("queue_id = $f_queue_id")
            params["f_queue_id"] = self.queue_id.strip().upper()
        lists = (
            ("status", self.statuses),
            ("qualification", self.qualifications),
            ("reason", self.reasons),
            ("gateway", self.gateways),
        )
        for column, values in lists:
            if values:
                terms.append(f"list_contains(CAST($l_{column} AS VARCHAR[]), {column})")
                params[f"l_{column}"] = list(values)
        return " AND ".join(terms), params


def _order(sort: str, descending: bool) -> str:
    if sort not in SORTS:
        raise ValueError(f"cannot sort by {sort!r}")
    direction = "DESC" if descending else "ASC"
    return f"{SORTS[sort]} {direction} NULLS LAST, ts DESC, message_key, recipient"


def log_histogram(wh: Queryable, flt: LogFilter) -> pl.DataFrame:
    """Filtered attempts per time bucket and status (its sum is the size of the filtered result)."""
    where, params = flt.where()
    return run(
        wh,
        f"SELECT {BUCKET_SQL} AS bucket, status, count(*) AS attempts FROM deliveries "  # noqa: S608
        f"WHERE {where} GROUP BY ALL ORDER BY bucket, status",
        params,
    )


def _reaching_the_page(wh: Queryable, where: str, params: dict, descending: bool) -> str:
    """`where` narrowed, for the sort by time, to the rows at or beyond the time of the page's last row.

    That time is found on the `ts` column alone (a cheap top-N); the page query then reads only the row
    groups whose times reach the page (the lake is written in time order) instead of the narrow columns
    of every row of the period. Every row of the page and of the pages before it passes the bound, so
    the page is the same; without such a row (past the end, or a null time) nothing is narrowed."""
    edge = run(
        wh,
        f"SELECT ts FROM deliveries WHERE {where} "  # noqa: S608
        f"ORDER BY ts {'DESC' if descending else 'ASC'} NULLS LAST LIMIT 1 OFFSET $edge",
        {**params, "edge": params["limit"] + params["offset"] - 1},
    )
    if not edge.height or edge["ts"][0] is None:
        return where
    params["edge_ts"] = edge["ts"][0]
    return f"({where}) AND ts {'>=' if descending else '<='} $edge_ts"


def log_rows(
    wh: Queryable, flt: LogFilter, *, sort: str = "ts", descending: bool = True, limit: int = 100, offset: int = 0
) -> pl.DataFrame:
    """One page of the filtered delivery attempts (server-side LIMIT/OFFSET, parameters).

    Two steps (late materialisation): the page is chosen on a few narrow columns, then only its rows'
    wide columns (replies, relays...) are read, from the days and times the page spans."""
    where, params = flt.where()
    params.update(limit=max(1, min(int(limit), MAX_PAGE_SIZE)), offset=max(0, int(offset)))
    if sort not in SORTS:
        raise ValueError(f"cannot sort by {sort!r}")
    column = SORTS[sort]
    narrow = ", ".join(dict.fromkeys(("ts", "message_key", "recipient", "status", column)))
    if sort == "ts":
        where = _reaching_the_page(wh, where, params, descending)
    keys = run(
        wh,
        f"SELECT {narrow} FROM deliveries WHERE {where} "  # noqa: S608
        f"ORDER BY {_order(sort, descending)} LIMIT $limit OFFSET $offset",
        params,
    ).with_row_index("_order")
    if not keys.height:
        return pl.DataFrame(schema=_log_schema(wh))
    first, last = keys["ts"].min(), keys["ts"].max()
    rows = run(
        wh,
        f"SELECT {', '.join(LOG_COLUMNS)} FROM deliveries WHERE day BETWEEN $day0 AND $day1 "  # noqa: S608
        "AND ts BETWEEN $first AND $last AND list_contains(CAST($keys AS VARCHAR[]), message_key)",
        {
            "day0": first.date(),
            "day1": last.date(),
            "first": first,
            "last": last,  # type: ignore[union-attr]
            "keys": keys["message_key"].unique().to_list(),
        },
    )
    on = ["message_key", "recipient", "ts", "status"]
    return (
        keys.select("_order", *on)
        .join(rows, on=on, how="inner", nulls_equal=True)
        .unique(subset=[*on, "_order"], keep="first", maintain_order=True)
        .sort("_order")
        .select(LOG_COLUMNS)
        .head(len(keys))
    )


def _log_schema(wh: Queryable) -> dict[str, pl.DataType]:
    """The Logs columns' types (for an empty page)."""
    return dict(run(wh, f"SELECT {', '.join(LOG_COLUMNS)} FROM deliveries LIMIT 0").schema)  # noqa: S608


def total_of(histogram: pl.DataFrame) -> int:
    """The size of the filtered result, from its histogram."""
    return int(histogram["attempts"].sum()) if histogram.height else 0


def log_export(
    wh: Queryable, flt: LogFilter, *, sort: str = "ts", descending: bool = True, rows: int = 65536
) -> Iterator[pa.RecordBatch]:
    """The whole filtered result in the page's order, as Arrow batches (for the streamed CSV)."""
    where, params = flt.where()
    sql = f"SELECT {', '.join(EXPORT_COLUMNS)} FROM deliveries WHERE {where} ORDER BY {_order(sort, descending)}"  # noqa: S608
    return wh.batches(sql, used(sql, params), rows=rows)


def gateways(wh: Queryable, period: Period) -> list[str]:
    """Gateways with traffic visible to this user in the period (options of the gateway filter)."""
    frame = run(
        wh,
        "SELECT DISTINCT gateway FROM deliveries WHERE day BETWEEN $day0 AND $day1 ORDER BY gateway",
        period.params(),
    )
    return [g for g in frame["gateway"].to_list() if g]
