"""Guard for ad-hoc SQL run by a non-root user (`relaywatch sql --as USER`).

The query is parsed by DuckDB itself (`duckdb.extract_statements`, then `json_serialize_sql`) and the
syntax tree is walked with allow-lists: exactly one SELECT statement; FROM items only the allowed
(scoped) views, the query's own CTEs, subqueries, joins, VALUES, PIVOT/UNPIVOT, DESCRIBE/SUMMARIZE
of such a query, and the harmless table functions unnest/range/generate_series; functions only
DuckDB's built-in scalar, aggregate, window and macro functions minus those that read files, settings,
variables or run SQL. Names qualified by a schema or catalog, time travel (AT), positional parameters
(`?`, `$1`) and any node type the walker does not know are refused: what is not understood is not run.
Named parameters (`$since`) are allowed: DuckDB binds their values, which never become SQL text.

This complements, not replaces, the warehouse's own measures for user connections (views already
filtered by the Scope, and `enable_external_access`/`lock_configuration` where possible).
"""

from __future__ import annotations

import json
import string
from collections.abc import Iterable
from functools import cache

import duckdb

from acl.errors import SqlRefused

MAX_SQL_LENGTH = 100_000
SAFE_TABLE_FUNCTIONS = frozenset({"unnest", "range", "generate_series"})
PARSER_FUNCTIONS = frozenset({"unnest", "unlist"})
DENIED_FUNCTIONS = frozenset(
    {
        "current_setting",
        "getvariable",
        "getenv",
        "query",
        "query_table",
        "glob",
        "sniff_csv",
        "stats",
        "current_query",
        "json_serialize_plan",
        "json_serialize_sql",
        "json_deserialize_sql",
        "json_execute_serialized_sql",
        "load_extension",
        "enable_logging",
        "disable_logging",
        "truncate_duckdb_logs",
        "write_log",
        "nextval",
        "currval",
        "setval",
        "sleep_ms",
        "in_search_path",
        "format_type",
        "get_block_size",
    }
)
DENIED_PREFIXES = (
    "read_",
    "duckdb_",
    "pragma_",
    "__internal",
    "json_execute",
    "parquet_",
    "sniff_",
    "glob",
    "delta_",
    "iceberg_",
    "sqlite_",
    "postgres_",
    "mysql_",
    "st_read",
    "http",
    "load_",
    "install_",
    "export_",
    "import_",
    "pg_",
    "has_",
)
QUERY_NODES = frozenset({"SELECT_NODE", "SET_OPERATION_NODE", "RECURSIVE_CTE_NODE"})
TABLE_REFS = frozenset(
    {"BASE_TABLE", "JOIN", "SUBQUERY", "EMPTY", "EXPRESSION_LIST", "TABLE_FUNCTION", "PIVOT", "SHOW_REF"}
)
PLAIN_TYPES = frozenset(
    {
        "ORDER_MODIFIER",
        "LIMIT_MODIFIER",
        "LIMIT_PERCENT_MODIFIER",
        "DISTINCT_MODIFIER",
        "ASCENDING",
        "DESCENDING",
        "ORDER_DEFAULT",
        "INVALID",
    }
)
EXPRESSION_CLASSES = frozenset(
    {
        "BETWEEN",
        "CASE",
        "CAST",
        "COLLATE",
        "COLUMN_REF",
        "COMPARISON",
        "CONJUNCTION",
        "CONSTANT",
        "FUNCTION",
        "LAMBDA",
        "LAMBDA_REF",
        "OPERATOR",
        "POSITIONAL_REFERENCE",
        "STAR",
        "SUBQUERY",
        "TYPE",
        "WINDOW",
    }
)


@cache
def builtin_functions() -> frozenset[str]:
    """Built-in scalar/aggregate/window functions and plain macros, minus the denied ones.

    Macros whose body runs a query (e.g. over the catalog) are left out, as is anything a warehouse
    connection may add later (extensions, user macros): only what a fresh DuckDB ships is known.
    """
    with duckdb.connect(":memory:") as con:
        rows = con.execute(
            "SELECT DISTINCT lower(function_name) FROM duckdb_functions()"
            " WHERE function_type IN ('scalar', 'aggregate', 'window')"
            " OR (function_type = 'macro' AND NOT regexp_matches(coalesce(macro_definition, ''),"
            " '(?i)select|from|duckdb_|pragma_|getvariable|setting'))"
        ).fetchall()
    return frozenset(name for (name,) in rows if not _denied(name)) | PARSER_FUNCTIONS


_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def fold(identifier: str) -> str:
    """An identifier as DuckDB compares it: ASCII letters case-insensitively, every other character as is
    (Python's lower() would also fold e.g. the Kelvin sign to 'k', which DuckDB does not)."""
    return identifier.translate(_ASCII_LOWER)


def _denied(name: str) -> bool:
    return name in DENIED_FUNCTIONS or name.startswith(DENIED_PREFIXES)


def parse_statements(sql: str) -> list[dict]:
    """DuckDB's own syntax tree for a single SELECT statement, or SqlRefused."""
    if not isinstance(sql, str) or not sql.strip():
        raise SqlRefused("refused: empty query")
    if len(sql) > MAX_SQL_LENGTH:
        raise SqlRefused(f"refused: query longer than {MAX_SQL_LENGTH} characters")
    if "\x00" in sql:
        raise SqlRefused("refused: NUL character in query")
    try:  # a lone surrogate (JSON's "\\ud800", argv bytes that are not UTF-8): DuckDB takes UTF-8 only
        sql.encode()
    except UnicodeEncodeError as exc:
        raise SqlRefused("refused: the query is not valid Unicode text (a lone surrogate)") from exc
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise SqlRefused(f"refused: cannot parse the query: {exc}") from exc
    if len(statements) != 1:
        raise SqlRefused(f"refused: exactly one statement is allowed, got {len(statements)}")
    kind = statements[0].type.name
    if kind != "SELECT":
        raise SqlRefused(f"refused: only SELECT queries are allowed, not {kind}")
    with duckdb.connect(":memory:") as con:
        try:
            tree = json.loads(con.execute("SELECT json_serialize_sql(?)", [sql]).fetchall()[0][0])
        except duckdb.Error as exc:
            raise SqlRefused(f"refused: cannot analyse the query: {exc}") from exc
        except RecursionError as exc:
            raise SqlRefused("refused: query nested too deeply") from exc
    if tree.get("error") or len(tree.get("statements", [])) != 1:
        raise SqlRefused(f"refused: cannot analyse the query: {tree.get('error_message', 'unknown shape')}")
    return tree["statements"]


class Walker:
    """Walks DuckDB's JSON syntax tree of one SELECT: refuses any name, function or construct that
    is not a view in `allowed_views`, a shipped harmless function or a known node."""

    def __init__(self, allowed_views: Iterable[str]) -> None:
        self.allowed = frozenset(fold(v) for v in allowed_views)
        self.functions = builtin_functions()

    def refuse(self, why: str) -> SqlRefused:
        views = ", ".join(sorted(self.allowed)) or "none"
        return SqlRefused(f"refused: {why} (you may query only the views: {views})")

    def any(self, value: object, visible: frozenset[str]) -> None:
        """Walk any JSON value, dispatching dicts on their shape."""
        if isinstance(value, list):
            for item in value:
                self.any(item, visible)
            return
        if not isinstance(value, dict):
            return
        if "class" in value:
            self.expression(value, visible)
        elif "type" in value and isinstance(value["type"], str):
            kind = value["type"]
            if kind in QUERY_NODES:
                self.query_node(value, visible)
            elif kind in TABLE_REFS:
                self.table_ref(value, visible)
            elif kind in PLAIN_TYPES:
                self.children(value, visible)
            else:
                raise self.refuse(f"unsupported construct {kind}")
        else:
            self.children(value, visible)

    def children(self, node: dict, visible: frozenset[str], skip: tuple[str, ...] = ()) -> None:
        for key, child in node.items():
            if key not in skip:
                self.any(child, visible)

    def query_node(self, node: dict, visible: frozenset[str]) -> None:
        """Scopes as DuckDB binds them: each CTE sees the CTEs defined before it (and the outer ones),
        never itself, except the recursive term of a recursive CTE; the anchor term of a recursive CTE
        does not see its own name (DuckDB binds a self-reference there to whatever the name meant
        outside, e.g. a real table). The query after the WITH sees all of them."""
        for entry in node.get("cte_map", {}).get("map", []):
            self.any(entry["value"], visible)
            visible = visible | {fold(str(entry["key"]))}
        if node["type"] == "RECURSIVE_CTE_NODE":
            own = fold(str(node.get("cte_name", "")))
            self.any(node.get("left"), visible)
            self.any(node.get("right"), visible | {own})
            self.children(node, visible, skip=("cte_map", "left", "right"))
        else:
            self.children(node, visible, skip=("cte_map",))

    def table_ref(self, ref: dict, visible: frozenset[str]) -> None:
        kind = ref["type"]
        if kind == "BASE_TABLE":
            name = str(ref.get("table_name", ""))
            if ref.get("schema_name") or ref.get("catalog_name"):
                qualifier = ref.get("catalog_name") or ref.get("schema_name")
                raise self.refuse(f"qualified name {qualifier}.{name}")
            if ref.get("at_clause"):
                raise self.refuse(f"time travel (AT) on {name}")
            if fold(name) not in visible and fold(name) not in self.allowed:
                raise self.refuse(f"{name!r} is not a view you may query")
            self.children(ref, visible)
        elif kind == "TABLE_FUNCTION":
            function = ref.get("function") or {}
            name = str(function.get("function_name", "")).lower()
            if name not in SAFE_TABLE_FUNCTIONS or function.get("schema") or function.get("catalog"):
                raise self.refuse(f"table function {name or '?'}() is not allowed")
            self.children(function, visible)  # its arguments, filter and ORDER BY
            self.children(ref, visible, skip=("function",))
        elif kind == "SHOW_REF":
            describes_query = ref.get("show_type") in ("DESCRIBE", "SUMMARY") and ref.get("query")
            if not describes_query or ref.get("table_name"):
                raise self.refuse("SHOW is not allowed")
            self.children(ref, visible)
        else:
            self.children(ref, visible)

    def expression(self, expr: dict, visible: frozenset[str]) -> None:
        cls = expr["class"]
        if cls == "PARAMETER":
            if not str(expr.get("identifier", "")).isidentifier():
                raise self.refuse("positional parameters are not allowed: name them ($since)")
            return
        if cls not in EXPRESSION_CLASSES:
            raise self.refuse(f"unsupported expression {cls}")
        if "function_name" in expr:
            name = str(expr["function_name"]).lower()
            if expr.get("schema") or expr.get("catalog"):
                raise self.refuse(f"qualified function {expr.get('schema') or expr.get('catalog')}.{name}")
            if _denied(name) or name not in self.functions:
                raise self.refuse(f"function {name}() is not allowed")
        self.children(expr, visible)


def check_user_sql(sql: str, allowed_views: set[str]) -> None:
    """Raise SqlRefused unless `sql` is one SELECT reading only `allowed_views` and its own CTEs."""
    statements = parse_statements(sql)
    walker = Walker(allowed_views)
    try:
        walker.any(statements[0].get("node"), frozenset())
    except RecursionError as exc:
        raise SqlRefused("refused: query nested too deeply") from exc
    except (KeyError, TypeError, AttributeError) as exc:
        raise SqlRefused(f"refused: unexpected query structure ({exc})") from exc
