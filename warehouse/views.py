"""DuckDB views over the lake's current snapshot, filtered by the caller's Scope: defined here only.

Each `Warehouse` owns an in-memory DuckDB connection. `_lake_<table>` reads the Delta snapshot's files
natively (`read_parquet([...], hive_partitioning=true)`); the public views (`deliveries`, `messages`,
`rejects`, `queue`, `queue_snapshots`) add the Scope's row filter. Scope values reach DuckDB only as parameters, through
connection variables (`SET VARIABLE scope_x = $value`, read by `getvariable('scope_x')`), so the view
text never contains a user's data. Views are rebuilt when a table's version changes.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, Protocol

import duckdb
import polars as pl
import pyarrow as pa

from ingest import QUEUE_SCHEMA
from warehouse.correlate import correlate, empty_state, with_outcome
from warehouse.lake import LINE_COLUMNS, Lake
from warehouse.parse import parse_lines

SCOPED_VIEWS = {
    "deliveries": ("deliveries", "SELECT * FROM _lake_deliveries WHERE {scope}"),
    "messages": ("messages", "SELECT * FROM _lake_messages WHERE {scope}"),
    "rejects": ("rejects", "SELECT * FROM _lake_rejects WHERE {scope}"),
    "queue": ("queue", "SELECT * FROM _lake_queue WHERE queue_id IS NOT NULL AND {scope}"),
    "queue_snapshots": (
        "queue",
        "SELECT snapshot_ts, gateway, count(queue_id) AS messages, coalesce(sum(message_size), 0) AS bytes "
        "FROM _lake_queue WHERE {scope} GROUP BY snapshot_ts, gateway",
    ),
}
"""Each public view: the lake table it reads and its definition, filtered by the Scope's predicate."""
PUBLIC_VIEWS = tuple(SCOPED_VIEWS)
VARIABLE = re.compile(r"\$(scope_[a-z0-9_]+)\b")


class RowFilter(Protocol):
    """What `acl.Scope` offers the warehouse: a WHERE predicate on gateway, sender, sender_domain and
    sasl_username, with its values as named parameters ($scope_...)."""

    def where(self) -> tuple[str, dict[str, Any]]: ...


def _empty_tables() -> dict[str, pl.DataFrame]:
    """Zero-row frames with each table's exact schema, for views over tables not written yet."""
    lines = parse_lines(pl.Series("line", [], dtype=pl.String), reference=datetime.now(UTC))
    lines = lines.with_columns(gateway=pl.lit("", pl.String), file_id=pl.lit("", pl.String),
                               offset=pl.lit(0, pl.Int64), line=pl.lit("", pl.String),
                               day=pl.lit("", pl.String)).clear()
    result = correlate(lines, "", empty_state())
    queue = pl.DataFrame(schema=QUEUE_SCHEMA).with_columns(
        sender_domain=pl.lit(None, pl.String), sasl_username=pl.lit(None, pl.String), day=pl.lit(None, pl.String))
    return {
        "queue": queue,
        "lines": lines.select(LINE_COLUMNS),
        "deliveries": result.deliveries,
        "rejects": result.rejects,
        "messages": result.messages,
        "messages_open": with_outcome(result.state),
    }


def _literal(text: str) -> str:
    """A SQL string literal of one of our own file paths (never user input)."""
    return "'" + text.replace("'", "''") + "'"


class Warehouse:
    """Scoped, snapshot-consistent SQL over one lake."""

    BASE = {
        "deliveries": ("deliveries",),
        "rejects": ("rejects",),
        "messages": ("messages", "messages_open"),
        "lines": ("lines",),
        "queue": ("queue",),
    }

    def __init__(self, lake: Lake, scope: RowFilter) -> None:
        self.lake = lake
        self.con = duckdb.connect()
        self._versions: dict[str, int] = {}
        self._empty: dict[str, pl.DataFrame] | None = None
        predicate, params = scope.where()
        for name, value in params.items():
            if not re.fullmatch(r"scope_[a-z0-9_]+", name):
                raise ValueError(f"scope parameter {name!r} is not a valid variable name")
            statement = f"SET VARIABLE {name} = $value"
            self.con.execute(statement, {"value": value})
        self._predicate = VARIABLE.sub(lambda m: f"getvariable('{m.group(1)}')", predicate)
        self.refresh()

    def _source(self, table: str) -> str:
        """SQL reading one table's current snapshot (or its empty schema)."""
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
        self.con.register(f"_empty_{table}", arrow)
        return f"SELECT * FROM _empty_{table}"  # noqa: S608 - a table name of ours

    def refresh(self) -> None:
        """Rebuild the views whose tables changed since they were defined."""
        changed = set()
        for view, tables in self.BASE.items():
            if all(self._versions.get(t) == self.lake.version(t) for t in tables):
                continue
            body = " UNION ALL BY NAME ".join(self._source(t) for t in tables)  # our file paths, quoted
            statement = f"CREATE OR REPLACE TEMP VIEW _lake_{view} AS {body}"
            self.con.execute(statement)
            changed.add(view)
        for view, (base, definition) in SCOPED_VIEWS.items():
            if base in changed:  # the predicate holds no value: values are connection variables
                statement = f"CREATE OR REPLACE TEMP VIEW {view} AS " + definition.format(scope=self._predicate)
                self.con.execute(statement)

    def confine(self, *, memory: str = "2GB") -> None:
        """Lock this connection to the lake for untrusted SQL: no other file, no setting change.

        Defence in depth behind acl's SQL guard: even a query the guard missed cannot read /etc/passwd
        or re-enable file access."""
        self.con.execute("SET allowed_directories = $dirs", {"dirs": [str(self.lake.root)]})
        self.con.execute("SET memory_limit = $memory", {"memory": memory})
        self.con.execute("SET enable_external_access = false")
        self.con.execute("SET lock_configuration = true")

    def query(self, sql: str, params: dict[str, Any] | list[Any] | None = None) -> pl.DataFrame:
        """Run a SELECT over the scoped views of the newest snapshot; the whole result as a frame."""
        self.refresh()
        return self.con.sql(sql, params=params).pl()

    def batches(
        self, sql: str, params: dict[str, Any] | list[Any] | None = None, *, rows: int = 65536
    ) -> Iterator[pa.RecordBatch]:
        """Stream a large result in record batches (CSV export) without holding it all in memory."""
        self.refresh()
        yield from self.con.sql(sql, params=params).to_arrow_reader(rows)

    def message_lines(self, message_key: str) -> pl.DataFrame:
        """The raw log lines of one message, in time order, if the message is inside this scope.

        The lines table has no sender column, so the scope is checked on `messages` first; the lines are
        then those of the message's gateway and queue id between its first and last timestamps."""
        return self.query(
            """
            WITH m AS (SELECT gateway, queue_id, first_ts, last_ts FROM messages WHERE message_key = $key)
            SELECT l.ts, l.service, l.event, l.line, l.file_id, l."offset"
            FROM _lake_lines l JOIN m ON l.gateway = m.gateway AND l.queue_id = m.queue_id
            WHERE l.ts BETWEEN m.first_ts AND m.last_ts
              AND l.day BETWEEN CAST(m.first_ts AS DATE) AND CAST(m.last_ts AS DATE)
            ORDER BY l.ts, l.file_id, l."offset"
            """,
            {"key": message_key},
        )

    def has_sent(self, address: str, *, days: int = 30) -> bool:
        """Whether `address` sent through any gateway in the last `days` days (self sign-up's proof that
        the address is a real sender; call it on an unscoped warehouse)."""
        found = self.query(
            "SELECT 1 FROM _lake_deliveries WHERE sender = lower($address) "
            "AND day >= current_date - CAST($days AS INTEGER) LIMIT 1",
            {"address": address.strip(), "days": days},
        )
        return found.height > 0

    def close(self) -> None:
        self.con.close()
