"""Response formats of the HTTP API, chosen by `Accept`, each streamed batch by batch (constant memory).

- `application/json` (also `*/*` and no Accept): one JSON object `{"columns": [...], "rows": [{...}, ...],
  "truncated": null | "why"}`, written as the batches arrive; `truncated` says when a limit cut the result.
- `application/x-ndjson`: JSON Lines, one object per row.
- `text/csv`: spreadsheet-safe CSV (formulas neutralised, control characters escaped), header first.
- `application/vnd.apache.arrow.stream`: Arrow IPC stream; a cut result ends with an empty batch whose
  custom metadata `relaywatch.truncated` says why.
A cut CSV or JSON Lines result, and any result whose query fails midway, ends the response without its
last chunk: the client reports an incomplete body rather than mistaking a part for the whole.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterable, Iterator

import pyarrow as pa

from warehouse import csv_chunks, json_chunks

JSON, NDJSON, CSV, ARROW = "application/json", "application/x-ndjson", "text/csv", "application/vnd.apache.arrow.stream"
MEDIA_TYPES = (JSON, NDJSON, CSV, ARROW)
CONTENT_TYPES = {JSON: "application/json", NDJSON: "application/x-ndjson", CSV: "text/csv; charset=utf-8", ARROW: ARROW}
TRUNCATED_KEY = b"relaywatch.truncated"


class Unacceptable(ValueError):
    """The Accept header names no format the API writes."""


class CutShort(RuntimeError):
    """A limit cut a result whose format cannot say so: the response is ended without its last chunk."""


def negotiate(accept: str | None) -> str:
    """The media type to answer with: the acceptable one with the highest q (ties: the order asked)."""
    if not accept or not accept.strip():
        return JSON
    choices: list[tuple[float, int, str]] = []
    for position, item in enumerate(accept.split(",")):
        media, *params = (part.strip() for part in item.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        media = media.lower()
        if quality <= 0:
            continue
        if media in ("*/*", "application/*"):
            choices.append((quality, position, JSON))
        elif media == "text/*":
            choices.append((quality, position, CSV))
        elif media in MEDIA_TYPES:
            choices.append((quality, position, media))
    if not choices:
        raise Unacceptable(f"cannot answer with {accept[:200]!r}; choose one of {', '.join(MEDIA_TYPES)}")
    return min(choices, key=lambda c: (-c[0], c[1]))[2]


def chunks(media: str, schema: pa.Schema, batches: Iterable[pa.RecordBatch], truncated: list[str]) -> Iterator[bytes]:
    """The body in `media`, batch by batch; `truncated` is read once the batches are exhausted."""
    if media == ARROW:
        yield from _arrow(schema, batches, truncated)
    elif media == CSV:
        yield from csv_chunks(batches, schema.names)
        _refuse_cut(truncated)
    elif media == NDJSON:
        yield from json_chunks(batches)
        _refuse_cut(truncated)
    else:
        yield from _json(schema, batches, truncated)


def _refuse_cut(truncated: list[str]) -> None:
    if truncated:
        raise CutShort(truncated[0])


def _json(schema: pa.Schema, batches: Iterable[pa.RecordBatch], truncated: list[str]) -> Iterator[bytes]:
    yield b'{"columns":' + json.dumps(schema.names, ensure_ascii=False).encode() + b',"rows":['
    first = True
    for chunk in json_chunks(batches):  # JSON Lines: one object per line, no raw newline inside one
        rows = chunk.rstrip(b"\n").replace(b"\n", b",")
        yield rows if first else b"," + rows
        first = False
    yield b'],"truncated":' + json.dumps(truncated[0] if truncated else None).encode() + b"}\n"


def _arrow(schema: pa.Schema, batches: Iterable[pa.RecordBatch], truncated: list[str]) -> Iterator[bytes]:
    sink = io.BytesIO()
    writer = pa.ipc.new_stream(sink, schema)

    def taken() -> bytes:
        data = sink.getvalue()
        sink.seek(0)
        sink.truncate()
        return data

    yield taken()
    for batch in batches:
        writer.write_batch(batch)
        yield taken()
    if truncated:
        empty = pa.RecordBatch.from_pylist([], schema=schema)
        writer.write_batch(empty, custom_metadata={TRUNCATED_KEY: truncated[0].encode()})
    writer.close()
    yield taken()
