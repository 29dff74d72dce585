"""The Warehouse: snapshot-consistent SQL over the lake, where every row has passed the caller's Scope.

Two DuckDB connections per Warehouse, two different in-memory databases:
- the *trusted* connection defines `_lake_<table>` over the newest Delta snapshot's Parquet files
  (`read_parquet([...], hive_partitioning=true)`). Its file access is limited to the lake directory and
  locked, and it never runs SQL a caller wrote: only the fixed definitions below, with the Scope
  predicate's values as parameters, plus the filters the engine pushes down (warehouse.scoped).
- the *confined* connection (`Warehouse.con`) runs every query on behalf of a user, a token, a report,
  a notebook or a page. It holds only `ScopedSource`s named after the public views (`deliveries`, its
  hourly rollup `delivery_hours`, `messages`, `rejects`, `queue`, `queue_snapshots`, and for an
  everything-scope `lines`), has file access switched off with no allowed directory (which also
  disables Python replacement scans), no spilling to disk, a memory limit, and its configuration
  locked. A query the SQL guard should have refused still reads nothing but scoped rows.
Views are rebuilt when a table's version changes (`refresh`, before every query).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, Protocol

import duckdb
import polars as pl
import pyarrow as pa

from ingest import QUEUE_SCHEMA
from warehouse.complaints import empty_complaints
from warehouse.correlate import correlate, empty_state, with_outcome
from warehouse.lake import LINE_COLUMNS, Lake
from warehouse.parse import parse_lines
from warehouse.rollups import ROLLUP, SOURCE, empty_rollup
from warehouse.scoped import ScopedSource, register

SCOPED_VIEWS = {
    "deliveries": ("deliveries", "SELECT * FROM _lake_deliveries WHERE {scope}"),
    ROLLUP: (ROLLUP, "SELECT * FROM _lake_delivery_hours WHERE {scope}"),
    "messages": ("messages", "SELECT * FROM _lake_messages WHERE {scope}"),
    "rejects": ("rejects", "SELECT * FROM _lake_rejects WHERE {scope}"),
    "queue": ("queue", "SELECT * FROM _lake_queue WHERE queue_id IS NOT NULL AND {scope}"),
    "queue_snapshots": (
        "queue",
        "SELECT snapshot_ts, gateway, count(queue_id) AS messages, coalesce(sum(message_size), 0) AS bytes "
        "FROM _lake_queue WHERE {scope} GROUP BY snapshot_ts, gateway",
    ),
    "complaints": ("complaints", "SELECT * EXCLUDE (raw) FROM _lake_complaints WHERE parse_error IS NULL AND {scope}"),
    "blacklist": (
        "blacklist",
        "SELECT *, (expires_at IS NULL OR expires_at > now()) AS active FROM _lake_blacklist WHERE {scope}",
    ),
}
"""Each public view: the lake table it reads and its definition, filtered by the Scope's predicate."""
EVERYTHING_VIEWS = {
    "lines": ("lines", "SELECT * FROM _lake_lines"),
    "complaints_unparsed": (
        "complaints",
        "SELECT report_id, mailbox, uidvalidity, uid, fetched_at, received_at, day, size, parse_error, raw "
        "FROM _lake_complaints WHERE parse_error IS NOT NULL",
    ),
}
"""Views only a scope that sees everything gets (raw lines carry no sender to filter on)."""
PUBLIC_VIEWS = tuple(SCOPED_VIEWS)
PARAMETER = re.compile(r"scope_[a-z0-9_]+")
MEMORY_LIMIT = "2GB"
BLACKLIST_SCHEMA = {
    "id": pl.Int64,
    "kind": pl.String,
    "value": pl.String,
    "gateway": pl.String,
    "all_gateways": pl.Boolean,
    "sender": pl.String,
    "sender_domain": pl.String,
    "sasl_username": pl.String,
    "reason": pl.String,
    "source": pl.String,
    "created_by": pl.String,
    "created_at": pl.Datetime("us", "UTC"),
    "expires_at": pl.Datetime("us", "UTC"),
    "note": pl.String,
    "explanation": pl.String,
    "day": pl.String,
}
"""`lake/blacklist`, policy's mirror of its blacklist (one row per entry and gateway it applies to;
`sender`/`sender_domain` name the sender scope, null for every sender; `day` of creation), rewritten on
each change so the scoped `blacklist` view filters it like any other view."""


class RowFilter(Protocol):
    """What `acl.Scope` offers the warehouse: a WHERE predicate on gateway, sender, sender_domain and
    sasl_username, with its values as named parameters ($scope_...); "TRUE" when it sees everything."""

    def where(self) -> tuple[str, dict[str, Any]]: ...


def _empty_tables() -> dict[str, pl.DataFrame]:
    """Zero-row frames with each table's exact schema, for views over tables not written yet."""
    lines = parse_lines(pl.Series("line", [], dtype=pl.String), reference=datetime.now(UTC))
    lines = lines.with_columns(
        gateway=pl.lit("", pl.String),
        file_id=pl.lit("", pl.String),
        offset=pl.lit(0, pl.Int64),
        line=pl.lit("", pl.String),
        day=pl.lit("", pl.String),
    ).clear()
    result = correlate(lines, "", empty_state())
    queue = pl.DataFrame(schema=QUEUE_SCHEMA).with_columns(
        sender_domain=pl.lit(None, pl.String), sasl_username=pl.lit(None, pl.String), day=pl.lit(None, pl.String)
    )
    return {
        "queue": queue,
        "lines": lines.select(LINE_COLUMNS),
        "deliveries": result.deliveries,
        ROLLUP: empty_rollup(),
        "rejects": result.rejects,
        "messages": result.messages,
        "messages_open": with_outcome(result.state),
        "complaints": empty_complaints(),
        "blacklist": pl.DataFrame(schema=BLACKLIST_SCHEMA),
    }


def _literal(text: str) -> str:
    """A SQL string literal of one of our own file paths (never user input)."""
    return "'" + text.replace("'", "''") + "'"


def _locked(memory: str, *, allowed: list[str]) -> duckdb.DuckDBPyConnection:
    """A new in-memory database whose files are only those under `allowed` (none: no file at all, which
    also rules out Python replacement scans), without extensions, spilling or configuration changes."""
    con = duckdb.connect()
    for statement in (
        "SET temp_directory = ''",
        "SET autoinstall_known_extensions = false",
        "SET autoload_known_extensions = false",
        "SET allow_community_extensions = false",
    ):
        con.execute(statement)
    con.execute("SET memory_limit = $memory", {"memory": memory})
    if allowed:
        con.execute("SET allowed_directories = $dirs", {"dirs": allowed})
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


class Warehouse:
    """Scoped, snapshot-consistent SQL over one lake (see the module docstring for the two connections)."""

    BASE = {
        "deliveries": ("deliveries",),
        ROLLUP: (ROLLUP,),
        "rejects": ("rejects",),
        "messages": ("messages", "messages_open"),
        "lines": ("lines",),
        "queue": ("queue",),
        "complaints": ("complaints",),
        "blacklist": ("blacklist",),
    }

    def __init__(self, lake: Lake, scope: RowFilter, *, memory: str = MEMORY_LIMIT) -> None:
        self.lake = lake
        predicate, params = scope.where()
        if any(not PARAMETER.fullmatch(name) for name in params):
            raise ValueError(f"scope parameters must be named scope_*: {sorted(params)}")
        self._predicate, self._params = predicate, params
        self._views = dict(SCOPED_VIEWS)
        if predicate == "TRUE":
            self._views.update(EVERYTHING_VIEWS)
        self._versions: dict[str, int] = {}
        self._rollup_of: int | None = None
        self._sources: dict[str, ScopedSource] = {}
        self._empty: dict[str, pl.DataFrame] | None = None
        self._lock = threading.RLock()
        self._trusted = _locked(memory, allowed=[str(lake.root)])
        self.con = _locked(memory, allowed=[])
        self.refresh()

    @property
    def views(self) -> tuple[str, ...]:
        """The names a query on this warehouse may read."""
        return tuple(self._views)

    def _source(self, table: str) -> str:
        """SQL reading one table's current snapshot (or its empty schema), for the trusted connection."""
        version, files = self.lake.files(table)
        self._versions[table] = version
        if files:
            listing = ", ".join(_literal(f) for f in files)
            if "/day=" in files[0]:
                options = "hive_partitioning=true, hive_types={'day': DATE}"
                columns = "*"
            else:
                options = "hive_partitioning=false"
                columns = "* REPLACE (CAST(day AS DATE) AS day)"
            return f"SELECT {columns} FROM read_parquet([{listing}], union_by_name=true, {options})"  # noqa: S608
        if self._empty is None:
            self._empty = _empty_tables()
        arrow: pa.Table = self._empty[table].with_columns(pl.col("day").cast(pl.Date)).to_arrow()
        self._trusted.register("_arrow", arrow)  # a table, not a registration: cursors see tables only
        self._trusted.execute(f"CREATE OR REPLACE TABLE _empty_{table} AS SELECT * FROM _arrow")  # noqa: S608
        self._trusted.unregister("_arrow")
        return f"SELECT * FROM _empty_{table}"  # noqa: S608 - a table name of ours

    def refresh(self) -> None:
        """Rebuild the lake views whose tables changed since they were defined, and their sources."""
        with self._lock:
            changed = set()
            rollup_of = self.lake.app_version(ROLLUP, SOURCE)  # read first: a rollup commit meanwhile only adds
            for view, tables in self.BASE.items():
                if all(self._versions.get(t) == self.lake.version(t) for t in tables):
                    continue
                body = " UNION ALL BY NAME ".join(self._source(t) for t in tables)  # our file paths, quoted
                self._trusted.execute(f"CREATE OR REPLACE VIEW _lake_{view} AS {body}")  # seen by its cursors
                changed.add(view)
                if view == ROLLUP:
                    self._rollup_of = rollup_of
            for view, (base, definition) in self._views.items():
                if base in changed or view not in self._sources:
                    sql = definition.format(scope=self._predicate)
                    self._sources[view] = ScopedSource(self._trusted.cursor, sql, self._params)
                    register(self.con, view, self._sources[view])

    def rollups_current(self) -> bool:
        """Whether `delivery_hours` counts the very `deliveries` snapshot the views read (not so for a lake
        written around the pipeline, or between a deliveries commit and its rollup's): queries read the
        rollup only then."""
        self.refresh()
        return self._rollup_of is not None and self._rollup_of == self._versions.get(SOURCE)

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A new confined connection over the same sources (for a query that runs beside others, such as
        a streamed export: a half-read result blocks the connection it runs on)."""
        self.refresh()
        cursor = self.con.cursor()
        for view, source in self._sources.items():
            register(cursor, view, source)
        return cursor

    def query(self, sql: str, params: dict[str, Any] | list[Any] | None = None) -> pl.DataFrame:
        """Run a SELECT over the scoped views of the newest snapshot; the whole result as a frame."""
        self.refresh()
        with self._lock:
            return self.con.sql(sql, params=params).pl()

    def batches(
        self, sql: str, params: dict[str, Any] | list[Any] | None = None, *, rows: int = 65536
    ) -> Iterator[pa.RecordBatch]:
        """Stream a large result in record batches (CSV export) without holding it all in memory."""
        cursor = self.cursor()
        try:
            yield from cursor.sql(sql, params=params).to_arrow_reader(rows)
        finally:
            cursor.close()

    def message_lines(self, message_key: str) -> pl.DataFrame:
        """The raw log lines of one message, in time order, if the message is inside this scope.

        The lines table has no sender column, so the scope is checked on the scoped `messages` definition
        first; the lines are then those of the message's gateway and queue id between its first and last
        timestamps. Runs on the trusted connection with fixed SQL and parameters only."""
        self.refresh()
        scoped_messages = self._views["messages"][1].format(scope=self._predicate)
        cursor = self._trusted.cursor()
        try:
            return cursor.sql(
                f"""
                WITH m AS (SELECT gateway, queue_id, first_ts, last_ts FROM ({scoped_messages})
                           WHERE message_key = $key)
                SELECT l.ts, l.service, l.event, l.line, l.file_id, l."offset"
                FROM _lake_lines l JOIN m ON l.gateway = m.gateway AND l.queue_id = m.queue_id
                WHERE l.ts BETWEEN m.first_ts AND m.last_ts
                  AND l.day BETWEEN CAST(m.first_ts AS DATE) AND CAST(m.last_ts AS DATE)
                ORDER BY l.ts, l.file_id, l."offset"
                """,  # noqa: S608 - our definitions; values are parameters
                params={"key": message_key, **self._params},
            ).pl()
        finally:
            cursor.close()

    def has_sent(self, address: str, *, days: int = 30) -> bool:
        """Whether `address` sent through any gateway in the last `days` days, whatever this warehouse's
        scope (self sign-up's proof that the address is a real sender; the answer is only yes or no)."""
        self.refresh()
        cursor = self._trusted.cursor()
        try:
            found = cursor.sql(
                "SELECT 1 FROM _lake_deliveries WHERE sender = lower($address) "
                "AND day >= current_date - CAST($days AS INTEGER) LIMIT 1",
                params={"address": address.strip(), "days": days},
            ).fetchall()
        finally:
            cursor.close()
        return bool(found)

    def close(self) -> None:
        self.con.close()
        self._trusted.close()
