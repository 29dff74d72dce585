"""SQL a person wrote (`relaywatch sql --as`, the HTTP API): run in a child process, with bounded cost.

The child opens its own confined Warehouse with the caller's Scope, applies the SQL guard it is given
(acl's: the warehouse imports no acl) and streams the result to the parent as Arrow IPC batches. The
parent enforces the bounds, all of them including the time the caller spends writing the output:
- time: the child is killed when `seconds` have passed since the query started;
- rows and bytes: no more than `rows` rows and `bytes` bytes of Arrow data reach the caller; the result
  is then cut short and marked truncated;
- memory: DuckDB's limit inside the child, and the child's resident memory, sampled every 50 ms, beyond
  which it is killed — a result that DuckDB's limit does not cover (a huge string, a wide row) cannot grow
  the host's memory without bound, and the caller's process only ever holds one batch.
Other queries are unaffected: each runs in its own process. Children are forked from a forkserver that
has only imported the warehouse (delta-rs's runtime does not survive `fork`; it is started in each child).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.connection
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing.context import ForkServerContext
from pathlib import Path
from typing import Any

import psutil
import pyarrow as pa

from relaywatch.core import RelaywatchError, SqlSection

Guard = Callable[[str, set[str]], None]
"""Raises (an exception whose message is for a person) unless the SQL may run over the given views."""
BATCH_ROWS = 4096
MESSAGE_BYTES = 8 * 2**20
"""Batches are cut to about this size on their way to the parent, which holds one at a time."""
SAMPLE_SECONDS = 0.05
_context: ForkServerContext | None = None


class QueryError(RelaywatchError):
    """The query was refused, failed, or went past a limit; the message says which."""


@dataclass
class UserQuery:
    """A running user query: its schema, then its batches; `truncated` tells whether limits cut it."""

    schema: pa.Schema
    batches: Iterator[pa.RecordBatch]
    truncated: list[str] = field(default_factory=list)

    def __iter__(self) -> Iterator[pa.RecordBatch]:
        return self.batches


def _forkserver() -> ForkServerContext:
    global _context
    if _context is None:
        _context = multiprocessing.get_context("forkserver")
        _context.set_forkserver_preload(["warehouse.views", "warehouse.usersql"])
    return _context


def run_user_sql(
    lake_root: Path,
    timezone: str,
    scope: Any,
    sql: str,
    *,
    guard: Guard | None,
    limits: SqlSection,
    params: dict[str, Any] | None = None,
) -> UserQuery:
    """Start `sql` in a child over the lake at `lake_root`, filtered by `scope` (an acl Scope); returns once
    the child has answered with the result's schema (or raises QueryError: refused, failed, too slow...).
    `params` are the values of the query's named parameters (`$since`), bound by DuckDB."""
    started = time.monotonic()
    ours, theirs = _forkserver().Pipe(duplex=False)
    child = _forkserver().Process(
        target=_child, args=(theirs, str(lake_root), timezone, scope, sql, params, guard, limits), daemon=True
    )
    child.start()
    theirs.close()
    watch = _Watch(child, ours, started, limits)
    try:
        kind, payload = watch.receive()
        if kind == "error":
            raise QueryError(payload)
        schema = pa.ipc.read_schema(pa.py_buffer(payload))
    except BaseException:
        watch.stop()
        raise
    query = UserQuery(schema, iter(()))
    query.batches = watch.batches(schema, query.truncated)
    return query


class _Watch:
    """The parent's side: receive with a deadline while watching the child's memory; kill it when done."""

    def __init__(
        self,
        child: multiprocessing.process.BaseProcess,
        pipe: multiprocessing.connection.Connection,
        started: float,
        limits: SqlSection,
    ) -> None:
        self.child, self.pipe, self.limits = child, pipe, limits
        self.deadline = started + limits.seconds
        self.too_slow = f"refused: the query took longer than {limits.seconds:g} s (output included)"
        self.expired = False
        # The child dies at the deadline even while the caller is busy writing output.
        self.timer = threading.Timer(max(0.0, self.deadline - time.monotonic()), self.expire)
        self.timer.daemon = True
        self.timer.start()
        try:
            self.process: psutil.Process | None = psutil.Process(child.pid)
        except psutil.NoSuchProcess:
            self.process = None

    def receive(self) -> tuple[str, Any]:
        while not self.pipe.poll(SAMPLE_SECONDS):
            self.check()
        try:
            return self.pipe.recv()
        except EOFError:
            if self.expired:
                raise QueryError(self.too_slow) from None
            self.child.join(1)
            raise QueryError(f"query failed: the query process ended (exit status {self.child.exitcode})") from None

    def expire(self) -> None:
        self.expired = True
        self.child.kill()

    def check(self) -> None:
        if self.expired or time.monotonic() > self.deadline:
            raise QueryError(self.too_slow)
        if self.process is not None:
            try:
                resident = self.process.memory_info().rss
            except psutil.NoSuchProcess:
                return
            if resident > self.limits.process_memory_bytes:
                raise QueryError(
                    f"refused: the query needed more than {self.limits.process_memory_bytes // 2**20} MiB of memory"
                )

    def batches(self, schema: pa.Schema, truncated: list[str]) -> Iterator[pa.RecordBatch]:
        try:
            while True:
                self.check()
                kind, payload = self.receive()
                if kind == "batch":
                    yield pa.ipc.read_record_batch(pa.py_buffer(payload), schema)
                elif kind == "truncated":
                    truncated.append(payload)
                    return
                elif kind == "error":
                    raise QueryError(payload)
                else:
                    return
        finally:
            self.stop()

    def stop(self) -> None:
        self.timer.cancel()
        self.pipe.close()
        if self.child.is_alive():
            self.child.kill()
        self.child.join(5)


def _child(
    pipe: multiprocessing.connection.Connection,
    lake_root: str,
    timezone: str,
    scope: Any,
    sql: str,
    params: dict[str, Any] | None,
    guard: Guard | None,
    limits: SqlSection,
) -> None:
    """The child: confined warehouse, guard, then the result in batches within the row and byte limits."""
    import duckdb

    from warehouse.lake import Lake
    from warehouse.views import Warehouse

    try:
        warehouse = Warehouse(Lake(Path(lake_root), timezone=timezone), scope, memory=limits.memory)
        if guard is not None:
            guard(sql, set(warehouse.views))
        reader = warehouse.cursor().sql(sql, params=params or None).to_arrow_reader(BATCH_ROWS)
    except duckdb.Error as exc:
        pipe.send(("error", f"query failed: {exc}"))
        return
    except Exception as exc:  # the guard's refusal, or a bad scope: its message is for the person
        pipe.send(("error", str(exc)))
        return
    pipe.send(("schema", reader.schema.serialize().to_pybytes()))
    rows = size = 0
    try:
        for batch in _pieces(reader):
            if rows + batch.num_rows > limits.max_rows:
                batch = batch.slice(0, limits.max_rows - rows)
            if size + batch.nbytes > limits.max_bytes:
                pipe.send(("truncated", f"result cut at {rows} rows: more than {limits.max_bytes} bytes"))
                return
            rows, size = rows + batch.num_rows, size + batch.nbytes
            pipe.send(("batch", batch.serialize().to_pybytes()))
            if rows >= limits.max_rows:
                pipe.send(("truncated", f"result cut at {limits.max_rows} rows (the row limit)"))
                return
    except duckdb.Error as exc:
        pipe.send(("error", f"query failed: {exc}"))
        return
    with contextlib.suppress(BrokenPipeError):
        pipe.send(("end", None))


def _pieces(reader: pa.RecordBatchReader) -> Iterator[pa.RecordBatch]:
    """The reader's batches, each cut into slices of about MESSAGE_BYTES (at least one row)."""
    for batch in reader:
        if batch.nbytes <= MESSAGE_BYTES or batch.num_rows <= 1:
            yield batch
            continue
        step = max(1, batch.num_rows * MESSAGE_BYTES // batch.nbytes)
        for start in range(0, batch.num_rows, step):
            yield batch.slice(start, step)


def run_local_sql(warehouse: Any, sql: str, params: dict[str, Any] | None = None) -> UserQuery:
    """The host operator's query (`relaywatch sql` without `--as`): in this process, on a confined cursor
    of `warehouse`, streamed, without the user limits (whoever reads the lake's files is root anyway)."""
    import duckdb

    cursor = warehouse.cursor()
    try:
        reader = cursor.sql(sql, params=params or None).to_arrow_reader(BATCH_ROWS)
    except duckdb.Error as exc:
        cursor.close()
        raise QueryError(f"query failed: {exc}") from exc

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            yield from reader
        except duckdb.Error as exc:
            raise QueryError(f"query failed: {exc}") from exc
        finally:
            cursor.close()

    return UserQuery(reader.schema, batches())
