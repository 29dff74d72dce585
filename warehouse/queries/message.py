"""One message: its row, attempts, rejects, raw lines and one time-ordered timeline."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

from warehouse.queries.common import (
    Queryable,
    run,
)


@dataclass
class MessageDetail:
    """Everything known about one message, if it is inside the caller's scope; `linked`: which of its
    notice (ndr_key) and original (ndr_of) the caller may open."""

    message: dict[str, Any] | None
    attempts: pl.DataFrame
    rejects: pl.DataFrame
    lines: pl.DataFrame
    timeline: pl.DataFrame = field(default_factory=pl.DataFrame)
    linked: frozenset[str] = frozenset()


def find_messages(wh: Queryable, text: str, *, limit: int = 50) -> pl.DataFrame:
    """Messages whose queue id or Message-ID is `text` (the detail page's search box)."""
    value = text.strip().strip("<>")
    return run(
        wh,
        "SELECT message_key, gateway, queue_id, first_ts, sender, message_id, recipient_count, final_status "
        "FROM messages WHERE queue_id = upper($value) OR message_id = $value OR message_key = $value "
        "ORDER BY first_ts DESC LIMIT $limit",
        {"value": value, "limit": limit},
    )


def message_detail(wh: Any, message_key: str) -> MessageDetail:
    """The message row, its delivery attempts and rejects, its raw lines and one time-ordered timeline."""
    found = run(
        wh, "SELECT * FROM messages WHERE message_key = $key ORDER BY last_ts DESC LIMIT 1", {"key": message_key}
    )
    if not found.height:
        empty = pl.DataFrame()
        return MessageDetail(None, empty, empty, empty)
    message = found.row(0, named=True)
    attempts = run(
        wh,
        "SELECT ts, recipient, orig_to, relay, delay, delays, dsn, status, response, qualification, reason, "
        "suppressible, rule, provider FROM deliveries WHERE message_key = $key ORDER BY ts, recipient",
        {"key": message_key},
    )
    rejects = run(
        wh,
        "SELECT ts, recipient, dsn, status, response, qualification, reason, rule FROM rejects "
        "WHERE message_key = $key ORDER BY ts",
        {"key": message_key},
    )
    lines = wh.message_lines(message_key)
    if lines.height:  # rotated files: the warehouse orders by file, the reader wants time (then file order)
        lines = lines.sort("ts", "file_id", "offset", nulls_last=True, maintain_order=True)
    links = [k for k in (message.get("ndr_key"), message.get("ndr_of")) if k]
    linked = (
        frozenset(
            run(
                wh,
                "SELECT message_key FROM messages WHERE list_contains(CAST($keys AS VARCHAR[]), message_key)",
                {"keys": links},
            )["message_key"]
        )
        if links
        else frozenset()
    )
    return MessageDetail(message, attempts, rejects, lines, _timeline(message, attempts, rejects, lines), linked)


def _timeline(
    message: dict[str, Any], attempts: pl.DataFrame, rejects: pl.DataFrame, lines: pl.DataFrame
) -> pl.DataFrame:
    """Received, each attempt (numbered per recipient: retries), rejects, expiry and removal, by time."""
    schema = {
        "ts": pl.Datetime("us", "UTC"),
        "event": pl.String,
        "recipient": pl.String,
        "attempt": pl.Int64,
        "status": pl.String,
        "dsn": pl.String,
        "qualification": pl.String,
        "reason": pl.String,
        "rule": pl.String,
        "relay": pl.String,
        "reply": pl.String,
    }
    first, last = message.get("first_ts"), message.get("last_ts")
    events: list[dict[str, Any]] = [{"ts": first, "event": "received"}]
    if attempts.height:
        numbered = attempts.with_columns(attempt=pl.int_range(1, pl.len() + 1).over("recipient"))
        events += [
            {
                "ts": r["ts"],
                "event": "attempt",
                "recipient": r["recipient"],
                "attempt": r["attempt"],
                "status": r["status"],
                "dsn": r["dsn"],
                "qualification": r["qualification"],
                "reason": r["reason"],
                "rule": r["rule"],
                "relay": r["relay"],
                "reply": r["response"],
            }
            for r in numbered.iter_rows(named=True)
        ]
    events += [
        {
            "ts": r["ts"],
            "event": "reject",
            "recipient": r["recipient"],
            "status": r["status"],
            "dsn": r["dsn"],
            "qualification": r["qualification"],
            "reason": r["reason"],
            "rule": r["rule"],
            "reply": r["response"],
        }
        for r in rejects.iter_rows(named=True)
    ]
    # The notice, expiry and removal carry their own time in the raw lines; without lines, the last one seen.
    logged = {e: ts for ts, e in lines.select("ts", "event").iter_rows()} if lines.height else {}
    if message.get("ndr_queue_id"):
        events.append({"ts": logged.get("ndr", last), "event": "ndr", "reply": message["ndr_queue_id"]})
    if message.get("expired"):
        events.append({"ts": logged.get("expired", last), "event": "expired"})
    if message.get("removed"):
        events.append({"ts": logged.get("removed", last), "event": "removed"})
    order = {"received": 0, "attempt": 1, "reject": 1, "ndr": 2, "expired": 3, "removed": 4}
    frame = pl.DataFrame([{k: e.get(k) for k in schema} for e in events], schema=schema, orient="row")
    return (
        frame.with_columns(_o=pl.col("event").replace_strict(order, return_dtype=pl.Int64))
        .sort("ts", "_o", nulls_last=True, maintain_order=True)
        .drop("_o")
    )
