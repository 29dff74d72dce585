"""`relaywatch parse`: Postfix log lines as JSON Lines, the stable interface of DESIGN.md."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import BinaryIO, TextIO

import polars as pl

from ingest import read_chunks
from warehouse.lake import split_lines
from warehouse.parse import parse_counts, parse_lines

KEYS = (
    "ts",
    "host",
    "syslog_name",
    "service",
    "pid",
    "queue_id",
    "event",
    "from",
    "to",
    "orig_to",
    "relay",
    "delay",
    "delays",
    "dsn",
    "status",
    "response",
    "client_host",
    "client_ip",
    "sasl_method",
    "sasl_username",
    "message_id",
    "size",
    "nrcpt",
    "ndr_queue_id",
)


def parse(sources: Iterable[tuple[str, BinaryIO, datetime]], out: TextIO, *, timezone: str = "UTC") -> dict[str, int]:
    """Write one JSON object per recognised line (absent keys omitted); return unrecognised counts per
    service. Sources are (name, byte stream, reference time for the year of classic timestamps)."""
    unparsed: dict[str, int] = {}
    for name, stream, reference in sources:
        for chunk in read_chunks(stream, gateway="", file_id=name, path=name, start=0, mtime=0.0, final=True):
            lines, _ = split_lines(chunk.data)
            frame = parse_lines(lines, reference=reference, tz=timezone)
            for service, count in parse_counts(frame).items():
                unparsed[service] = unparsed.get(service, 0) + count
            known = (
                frame.filter(pl.col("event") != "unparsed")
                .select(KEYS)
                .with_columns(ts=pl.col("ts").dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ"))
            )
            out.writelines(
                json.dumps({k: v for k, v in row.items() if v is not None}, ensure_ascii=False) + "\n"
                for row in known.iter_rows(named=True)
            )
    return unparsed
