"""Scoped sources: how a confined DuckDB connection reads the lake without being able to reach it.

A user-facing connection holds no view over files and has file access switched off. Each of its views is a
`ScopedSource`: an Arrow scan source that, each time the engine scans it, runs one fixed statement on the
warehouse's *trusted* connection (which alone can read the Delta snapshot's Parquet files) — the view's
definition with the caller's Scope predicate — and streams the result. The engine's projection and filter
pushdown still reach the Parquet reader: the columns it asks for are selected, and the filters it offers
(comparisons, IN, IS NULL, AND/OR/NOT of a column and constants) are translated into parameterised SQL and
applied on the trusted side, so the files are pruned as with a direct scan.

Whatever SQL runs on the confined connection (a guard mistake included), it can only read these sources,
and every row they produce has passed the Scope predicate.

The Arrow source protocol (`duckdb._sources`, registered with `_register_arrow_source`) belongs to the
pinned duckdb 2.0 (constraints.txt); tests/test_warehouse_confined.py exercises it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import duckdb
import pyarrow as pa
from duckdb._sources import nodes
from duckdb._sources.arrow import ArrowScanSource

BATCH_ROWS = 122_880
"""Rows per Arrow batch streamed from the trusted side (DuckDB's row group size)."""
COMPARISONS = frozenset({"=", "!=", "<>", "<", "<=", ">", ">="})


def translate(node: nodes.Node, params: dict[str, Any]) -> str:
    """Parameterised SQL for a pushed-down predicate (values become `$fN` parameters), or Untranslatable."""
    if isinstance(node, nodes.Binary):
        if node.op in ("AND", "OR") or node.op in COMPARISONS:
            return f"({translate(node.left, params)} {node.op} {translate(node.right, params)})"
        raise nodes.Untranslatable(f"operator {node.op}")
    if isinstance(node, nodes.Unary) and node.op == "NOT":
        return f"(NOT {translate(node.operand, params)})"
    if isinstance(node, nodes.Postfix) and node.op in ("IS NULL", "IS NOT NULL"):
        return f"({translate(node.operand, params)} {node.op})"
    if isinstance(node, nodes.In) and node.values:
        values = ", ".join(translate(value, params) for value in node.values)
        return f"({translate(node.operand, params)} IN ({values}))"
    if isinstance(node, nodes.Col):
        return ".".join('"' + part.replace('"', '""') + '"' for part in node.parts)
    if isinstance(node, nodes.Lit):
        if not nodes.exact_value(node):
            raise nodes.Untranslatable(f"constant of type {node.type}")
        name = f"f{len(params)}"
        params[name] = node.value
        if node.type == "TIMESTAMP WITH TIME ZONE":  # an instant in microseconds since the epoch
            return f"make_timestamptz(CAST(${name} AS BIGINT))"
        return f"CAST(${name} AS {node.type})"
    raise nodes.Untranslatable(type(node).__name__)


class ScopedSource(ArrowScanSource):
    """One view of a confined connection: `definition` (SQL over the trusted connection's lake views, with
    the Scope predicate already in it) and its parameters, streamed on demand."""

    schema_is_stable = True

    def __init__(self, cursor: Callable[[], duckdb.DuckDBPyConnection], definition: str, params: dict[str, Any]):
        super().__init__(None)
        self._cursor = cursor
        self._definition = definition
        self._params = params
        empty = f"SELECT * FROM ({definition}) LIMIT 0"  # noqa: S608 - our definitions
        self.schema: pa.Schema = cursor().sql(empty, params=params).to_arrow_table().schema

    def __arrow_c_schema__(self) -> object:
        return self.schema.__arrow_c_schema__()

    def accepts(self, predicate: nodes.Node) -> bool:
        """Every translatable predicate is applied exactly, by the same engine, on the trusted side."""
        try:
            translate(predicate, {})
        except nodes.Untranslatable:
            return False
        return True

    def stream(self, columns: Sequence[int] | None, filters: Sequence[nodes.Node]) -> tuple[object, bool]:
        names = self.schema.names if columns is None else [self.schema.names[i] for i in columns]
        params = dict(self._params)
        where = " AND ".join(translate(f, params) for f in filters) or "TRUE"
        if names:
            selected = ", ".join('"' + n.replace('"', '""') + '"' for n in names)
            schema = pa.schema([self.schema.field(n) for n in names])
        else:  # the engine needs only the row count: stream one narrow column, then drop it
            selected, schema = "NULL::BOOLEAN AS _rows", pa.schema([])
        cursor = self._cursor()
        statement = f"SELECT {selected} FROM ({self._definition}) AS v WHERE {where}"  # noqa: S608 - our SQL
        reader = cursor.sql(statement, params=params).to_arrow_reader(BATCH_ROWS)

        def batches() -> Iterator[pa.RecordBatch]:
            try:
                for batch in reader:
                    yield batch if names else pa.RecordBatch.from_struct_array(_empty_struct(batch.num_rows))
            finally:
                cursor.close()

        return pa.RecordBatchReader.from_batches(schema, batches()).__arrow_c_stream__(), True


def _empty_struct(rows: int) -> pa.StructArray:
    """A struct array of `rows` rows and no field (a batch without columns that still counts its rows)."""
    return pa.StructArray.from_arrays([], fields=[], mask=pa.array([False] * rows))


def register(con: duckdb.DuckDBPyConnection, name: str, source: ScopedSource) -> None:
    """Make `source` readable as view `name` on a (confined) connection."""
    con._register_arrow_source(name, source)  # noqa: SLF001 - duckdb 2.0's source registration
