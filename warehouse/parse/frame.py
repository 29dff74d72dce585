"""`parse_lines`: both paths over their rows, put back together in input order; `parse_counts`."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import polars as pl

from warehouse.parse.common import SCHEMA, line_from
from warehouse.parse.offsets import OFFSET_KINDS, locate
from warehouse.parse.regex import read_header, read_messages


def parse_lines(lines: pl.Series, *, reference: datetime, tz: str = "UTC") -> pl.DataFrame:
    """Parse Postfix syslog lines into the contract's columns, one row per input line, in order.

    `reference` (UTC) fixes the year of classic "Nov 24 15:53:08" timestamps; timestamps
    without an offset are local time in `tz` and are converted to UTC.
    """
    ZoneInfo(tz)  # an unknown zone is a caller error: fail before doing any work
    frame = locate(lines, reference, tz)
    queries = [
        reader(frame.lazy().filter(pl.col("_kind") == code).select("_row", _body=line_from("_b")))
        for code, (_, reader) in enumerate(OFFSET_KINDS)
    ]
    blocks = pl.collect_all(queries)
    left = pl.concat(
        [frame.filter(pl.col("_fast") & pl.col("_kind").is_null()).select("_row")]
        + [block.filter(~pl.col("_ok")).select("_row") for block in blocks]
    )
    pending = frame.select(pl.all().gather(left["_row"]))  # `_row` is the row's position
    slow = read_header(frame.filter(~pl.col("_fast")), reference, tz)
    messages = pl.concat(
        [
            pending.select("_row", "syslog_name", _msg=line_from("_m")),
            slow.select("_row", "syslog_name", "_msg"),
        ]
    )
    blocks = [block.filter("_ok").drop("_ok") for block in blocks]
    blocks += [slow.drop("_msg"), *read_messages(messages)]
    return assemble(frame, blocks)


def parse_counts(frame: pl.DataFrame) -> dict[str, int]:
    """Unparsed lines per service ("-" for lines without a readable header), most first."""
    counts = (
        frame.filter(pl.col("event") == "unparsed")
        .group_by(pl.col("service").fill_null("-"))
        .len()
        .sort(["len", "service"], descending=[True, False])
    )
    return dict(zip(counts["service"].to_list(), counts["len"].to_list(), strict=True))


def assemble(frame: pl.DataFrame, blocks: list[pl.DataFrame]) -> pl.DataFrame:
    """The output columns in input order: `frame`'s header columns, then each block's values
    written over them at the block's rows (`_row`)."""
    columns = []
    for name, dtype in SCHEMA.items():
        if name in frame.columns:
            column = frame[name].cast(dtype)
        else:
            column = pl.repeat(None, frame.height, dtype=dtype, eager=True)
        for block in blocks:
            if name in block.columns and block.height:
                column = column.scatter(block["_row"], block[name].cast(dtype))
        columns.append(column.alias(name))
    return pl.DataFrame(columns)
