"""The parser's output contract (SCHEMA) and the pieces both paths share: queue id and host patterns, slices."""

from __future__ import annotations

import polars as pl

SCHEMA: dict[str, pl.DataType] = {
    "ts": pl.Datetime("us", "UTC"),
    "host": pl.Utf8(),
    "syslog_name": pl.Utf8(),
    "service": pl.Utf8(),
    "pid": pl.Int64(),
    "queue_id": pl.Utf8(),
    "event": pl.Utf8(),
    "from": pl.Utf8(),
    "to": pl.Utf8(),
    "orig_to": pl.Utf8(),
    "relay": pl.Utf8(),
    "delay": pl.Float64(),
    "delays": pl.Utf8(),
    "dsn": pl.Utf8(),
    "status": pl.Utf8(),
    "response": pl.Utf8(),
    "client_host": pl.Utf8(),
    "client_ip": pl.Utf8(),
    "sasl_method": pl.Utf8(),
    "sasl_username": pl.Utf8(),
    "message_id": pl.Utf8(),
    "size": pl.Int64(),
    "nrcpt": pl.Int64(),
    "ndr_queue_id": pl.Utf8(),
}
"""Parser output columns, in order (DESIGN.md "Interfaces that stay stable": `relaywatch parse` keys)."""

HEADER_FIELDS = ["ts", "host", "syslog_name", "service", "pid"]

# Queue IDs: short ones are upper-case hex; long ones (enable_long_queue_ids) are base-52 time
# digits from an alphabet without vowels, a 'z', then the base-51 inode number (no 'z').
QID = (
    r"(?:[0-9A-F]{5,}|NOQUEUE"
    r"|[0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-z]{10,}z[0-9B-DF-HJ-NP-TV-Zb-df-hj-np-tv-y]+)"
)

# A syslog host name: the field before the program name in a header.
HOST = r"[^\s\[\]:]+"


def span(text: pl.Expr, start: pl.Expr | int, end: pl.Expr) -> pl.Expr:
    """The bytes of `text` (ASCII) from offset `start` up to `end`; empty when `end` < `start`.

    Offsets come from `find` on lines that may not have the expected layout: such rows are
    thrown away by the layout checks, but their slices must not fail first.
    """
    start = pl.lit(start) if isinstance(start, int) else start
    start = start.cast(pl.Int64)
    return text.str.slice(start, (end.cast(pl.Int64) - start).clip(0))


def line_from(offset: str) -> pl.Expr:
    """The line from byte offset `offset` on (an ASCII line, where bytes are characters)."""
    return pl.col("line").str.slice(pl.col(offset))
