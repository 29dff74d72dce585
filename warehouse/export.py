"""Exports of query results: CSV safe to open in a spreadsheet, JSON Lines, and a terminal table."""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator

import polars as pl
import pyarrow as pa

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formulas(frame: pl.DataFrame) -> pl.DataFrame:
    """Prefix text cells that a spreadsheet would run as a formula with a quote (OWASP CSV injection):
    sender addresses and SMTP replies are written by strangers."""
    starts = "^[" + "".join("\\" + c if c in "-+" else c for c in FORMULA_START) + "]"
    text = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(starts)).then("'" + pl.col(c)).otherwise(pl.col(c)).alias(c)
        for c in text
    )


def _flat(frame: pl.DataFrame) -> pl.DataFrame:
    """CSV holds no lists or structs: render nested columns as JSON text."""
    nested = [n for n, d in frame.schema.items() if isinstance(d, pl.List | pl.Struct | pl.Array)]
    return frame.with_columns(pl.col(n).map_elements(lambda v: str(v), return_dtype=pl.String)
                              for n in nested) if nested else frame


def csv_chunks(batches: Iterable[pa.RecordBatch]) -> Iterator[bytes]:
    """Stream CSV bytes batch by batch (header once), formulas neutralised."""
    header = True
    for batch in batches:
        frame = neutralise_formulas(_flat(pl.from_arrow(batch)))  # type: ignore[arg-type]
        buffer = io.BytesIO()
        frame.write_csv(buffer, include_header=header)
        header = False
        yield buffer.getvalue()


def to_csv(frame: pl.DataFrame) -> str:
    """A whole frame as spreadsheet-safe CSV text."""
    return neutralise_formulas(_flat(frame)).write_csv()


def to_json_lines(frame: pl.DataFrame) -> str:
    """A frame as JSON Lines (timestamps in ISO 8601)."""
    return frame.write_ndjson()
