"""Exports of query results: CSV safe to open in a spreadsheet, JSON Lines, text safe for a terminal.

Every text value may come from a stranger (sender addresses, SMTP replies), so:
- control characters that a terminal would interpret (C0 but TAB and LF, DEL, C1: ESC/CSI/OSC
  sequences) are written as `\\xNN`, never raw (`printable`);
- a cell or header a spreadsheet would run as a formula gets a leading quote (OWASP CSV injection);
- every column type reaches the output as data: lists, structs and maps as JSON text, ENUM/dictionary
  values as their text, UNION values as their member, BLOBs as hex. Nothing is cut with "…".
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_UNPRINTABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_C1 = re.compile(r"[\x7f-\x9f]")


def _escape(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()):02x}"


def printable(text: str) -> str:
    """`text` with every terminal control character but TAB and LF written as `\\xNN`."""
    return _UNPRINTABLE.sub(_escape, text)


def neutralise(text: str) -> str:
    """A cell or header that a spreadsheet would not run as a formula."""
    return "'" + text if text.startswith(FORMULA_START) else text


def neutralise_formulas(frame: pl.DataFrame) -> pl.DataFrame:
    """Quote the text cells a spreadsheet would run as a formula."""
    starts = "^[" + "".join("\\" + c if c in "-+" else c for c in FORMULA_START) + "]"
    text = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(starts)).then("'" + pl.col(c)).otherwise(pl.col(c)).alias(c) for c in text
    )


def _json_default(value: Any) -> str:
    return value.hex() if isinstance(value, bytes) else str(value)


def _as_text(column: pa.Array, render: Any) -> pa.Array:
    return pa.array([None if v is None else render(v) for v in column.to_pylist()], pa.string())


def _plain_column(column: pa.Array, *, nested: bool) -> pa.Array:
    """One column in a type every writer takes; nested types kept only when `nested` (JSON keeps them)."""
    kind = column.type
    if pa.types.is_dictionary(kind):
        return _plain_column(column.dictionary_decode(), nested=nested)
    if pa.types.is_union(kind):
        return _as_text(column, lambda v: v if isinstance(v, str) else json.dumps(v, default=_json_default))
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind) or pa.types.is_fixed_size_binary(kind):
        return _as_text(column, bytes.hex)
    if pa.types.is_map(kind) or (pa.types.is_nested(kind) and not nested):
        return _as_text(column, lambda v: json.dumps(v, default=_json_default, ensure_ascii=False))
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
        return pc.cast(column, pa.string())
    return column


def _plain(batch: pa.RecordBatch, *, nested: bool) -> pl.DataFrame:
    columns = [_plain_column(column, nested=nested) for column in batch.columns]
    return pl.from_arrow(pa.RecordBatch.from_arrays(columns, names=batch.schema.names))  # type: ignore[return-value]


def _safe_text(frame: pl.DataFrame) -> pl.DataFrame:
    """Formulas neutralised and control characters escaped in every text cell."""
    text = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    escaped = frame.with_columns(
        pl.col(c).map_elements(printable, return_dtype=pl.String)
        for c in text
        if frame[c].str.contains(_UNPRINTABLE.pattern).any()
    )
    return neutralise_formulas(escaped)


def csv_header(names: Iterable[str]) -> bytes:
    """The CSV header line, names neutralised and printable like any cell."""
    buffer = io.BytesIO()
    frame = pl.DataFrame([pl.Series(str(i), [neutralise(printable(n))], pl.String) for i, n in enumerate(names)])
    frame.write_csv(buffer, include_header=False)
    return buffer.getvalue()


def csv_chunks(batches: Iterable[pa.RecordBatch], names: Sequence[str]) -> Iterator[bytes]:
    """Stream spreadsheet-safe CSV batch by batch: the header (`names`) first, also for an empty result."""
    yield csv_header(names)
    for batch in batches:
        if batch.num_rows:
            buffer = io.BytesIO()
            _safe_text(_plain(batch, nested=False)).write_csv(buffer, include_header=False)
            yield buffer.getvalue()


def json_chunks(batches: Iterable[pa.RecordBatch]) -> Iterator[bytes]:
    """Stream JSON Lines (timestamps ISO 8601); DEL and C1 controls written as \\u00XX like JSON's C0 escapes."""
    for batch in batches:
        if batch.num_rows:
            text = _plain(batch, nested=True).write_ndjson()
            yield _C1.sub(lambda m: f"\\u{ord(m.group()):04x}", text).encode()


def to_csv(frame: pl.DataFrame) -> str:
    """A whole frame as spreadsheet-safe CSV text."""
    table = frame.to_arrow()
    return b"".join(csv_chunks(table.to_batches(), table.schema.names)).decode()


def to_json_lines(frame: pl.DataFrame) -> str:
    """A whole frame as JSON Lines."""
    return b"".join(json_chunks(frame.to_arrow().to_batches())).decode()


def text_rows(batches: Iterable[pa.RecordBatch], limit: int) -> tuple[list[list[str]], bool]:
    """Up to `limit` rows as printable text cells for a terminal table, and whether more rows followed
    (they are not read: the caller stops the query)."""
    rows: list[list[str]] = []
    for batch in batches:
        frame = _plain(batch, nested=False)
        for row in frame.iter_rows():
            if len(rows) == limit:
                return rows, True
            rows.append(["" if value is None else printable(str(value)) for value in row])
    return rows, False
