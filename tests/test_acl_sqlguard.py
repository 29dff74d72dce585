"""SQL guard for `relaywatch sql --as USER`: one SELECT over the scoped views, nothing else."""

from __future__ import annotations

import sys

import duckdb
import pytest

from acl import SqlRefused, check_user_sql
from acl.sqlguard import DENIED_FUNCTIONS, MAX_SQL_LENGTH, Walker, builtin_functions, parse_statements

VIEWS = {"deliveries", "messages", "rejects"}

ALLOWED = [
    "SELECT * FROM deliveries",
    "select count(*) from Deliveries where qualification = 'hard'",
    'SELECT * FROM "deliveries"',
    "FROM deliveries",
    "SELECT * FROM deliveries;",
    "SELECT 1 -- trailing comment",
    "SELECT /* inline ; DROP TABLE x */ sender FROM deliveries",
    "SELECT d.sender, count(*) AS n FROM deliveries d JOIN messages m USING (message_key) GROUP BY ALL"
    " ORDER BY n DESC LIMIT 10",
    "WITH x AS (SELECT * FROM deliveries), y AS (SELECT * FROM x) SELECT * FROM y",
    "WITH deliveries AS (SELECT * FROM deliveries WHERE reason = 'x') SELECT * FROM deliveries",
    "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 3) SELECT * FROM t",
    "WITH m AS MATERIALIZED (SELECT * FROM deliveries) SELECT * FROM m",
    "SELECT * FROM deliveries WHERE sender IN (SELECT sender FROM rejects)",
    "SELECT (SELECT max(last_ts) FROM messages), coalesce(sender, ''), try(cast(size AS INT)) FROM deliveries",
    "SELECT row_number() OVER (PARTITION BY sender ORDER BY ts), lag(ts) OVER w FROM deliveries WINDOW w AS"
    " (ORDER BY ts)",
    "SELECT * FROM deliveries PIVOT (count(*) FOR reason IN ('user_unknown'))",
    "SELECT * FROM deliveries UNPIVOT (v FOR k IN (sender, recipient))",
    "SELECT list_transform([1, 2], lambda x: x + 1), [x + 1 for x in [1, 2]], {'a': 1}.a",
    "SELECT count(*) FILTER (WHERE status = 'sent'), sum(size) FROM deliveries GROUP BY sender HAVING count(*) > 1",
    "SELECT sender FROM deliveries UNION SELECT sender FROM rejects EXCEPT SELECT sender FROM messages",
    "SELECT * FROM deliveries USING SAMPLE 10%",
    "DESCRIBE deliveries",
    "SUMMARIZE SELECT * FROM deliveries",
    "SELECT * FROM unnest([1, 2])",
    "SELECT * FROM range(10)",
    "SELECT date_trunc('day', ts), strftime(ts, '%Y'), regexp_extract(response, '\\d+'), sender ILIKE '%x%'"
    " FROM deliveries",
    "SELECT * EXCLUDE (response) REPLACE (lower(sender) AS sender) FROM deliveries",
    "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY delay), string_agg(sender, ',' ORDER BY ts) FROM deliveries",
    "SELECT * FROM deliveries WHERE ts > now() - INTERVAL 1 DAY AND sender = 'jörg@bücher.de'",
]

REFUSED = [
    ("SELECT * FROM read_parquet('/etc/passwd')", "table function read_parquet"),
    ("SELECT * FROM read_csv('/etc/passwd')", "read_csv"),
    ("SELECT * FROM read_csv_auto('/etc/passwd')", "read_csv_auto"),
    ("SELECT * FROM read_json('/etc/passwd')", "read_json"),
    ("SELECT * FROM read_text('/etc/passwd')", "read_text"),
    ("SELECT * FROM read_blob('/etc/passwd')", "read_blob"),
    ("SELECT * FROM parquet_scan('/x')", "parquet_scan"),
    ("SELECT * FROM glob('/*')", "glob"),
    ("SELECT * FROM query('SELECT * FROM secret')", "query"),
    ("SELECT * FROM query_table('secret')", "query_table"),
    ("SELECT * FROM '/etc/passwd'", "not a view"),
    ("SELECT * FROM 'https://example.com/x.csv'", "not a view"),
    ("SELECT * FROM deliveries, (FROM read_csv_auto('/etc/passwd'))", "read_csv_auto"),
    ("SELECT * FROM deliveries WHERE EXISTS (FROM read_text('/etc/passwd'))", "read_text"),
    ("SELECT list_transform([1], lambda x: (SELECT content FROM read_text('/etc/passwd')))", "read_text"),
    ("SELECT read_blob('x')", "read_blob"),
    ("COPY deliveries TO '/tmp/x.csv'", "COPY"),
    ("COPY (SELECT * FROM deliveries) TO '/tmp/x.csv'", "COPY"),
    ("ATTACH '/tmp/x.db' AS x", "ATTACH"),
    ("DETACH x", "DETACH"),
    ("INSTALL httpfs", "only SELECT"),
    ("LOAD httpfs", "only SELECT"),
    ("SET enable_external_access = true", "SET"),
    ("RESET enable_external_access", "only SELECT"),
    ("PRAGMA version", "PRAGMA"),
    ("CALL pragma_version()", "CALL"),
    ("EXPORT DATABASE '/tmp/x'", "EXPORT"),
    ("IMPORT DATABASE '/tmp/x'", "only SELECT"),
    ("CREATE TABLE x AS SELECT 1", "CREATE"),
    ("CREATE MACRO m() AS 1", "CREATE"),
    ("DROP VIEW deliveries", "DROP"),
    ("INSERT INTO x VALUES (1)", "INSERT"),
    ("UPDATE deliveries SET sender = 'x'", "UPDATE"),
    ("DELETE FROM deliveries", "DELETE"),
    ("EXPLAIN SELECT * FROM deliveries", "EXPLAIN"),
    ("PIVOT deliveries ON reason USING count(*)", "only SELECT"),
    ("SELECT * FROM deliveries; DROP TABLE deliveries", "exactly one statement"),
    ("SELECT 1; SELECT 2", "exactly one statement"),
    ("SELECT 1 -- comment\n; DROP TABLE x", "exactly one statement"),
    ("", "empty"),
    ("  ;  ", "exactly one statement"),
    ("WITH deliveries AS (SELECT * FROM raw_lines) SELECT * FROM deliveries", "'raw_lines'"),
    ("WITH secret AS (SELECT * FROM secret) SELECT * FROM secret", "'secret'"),
    ("WITH RECURSIVE secret AS (SELECT * FROM secret) SELECT * FROM secret", "'secret'"),
    ("SELECT * FROM (WITH secret AS (SELECT 1) SELECT * FROM secret), secret", "'secret'"),
    ("WITH a AS (SELECT * FROM secret_b), secret_b AS (SELECT 1) SELECT * FROM a", "'secret_b'"),
    ("SELECT * FROM deliveries WHERE sender IN (SELECT name FROM users)", "'users'"),
    ("SELECT (SELECT count(*) FROM secret) FROM deliveries", "'secret'"),
    ("SELECT * FROM deliveries ORDER BY (SELECT 1 FROM secret)", "'secret'"),
    ("SELECT * FROM deliveries LIMIT (SELECT count(*) FROM secret)", "'secret'"),
    ("SELECT 1 FROM deliveries GROUP BY (SELECT 1 FROM secret)", "'secret'"),
    ("SELECT * FROM deliveries d JOIN secret s ON true", "'secret'"),
    ("SELECT * FROM deliveries POSITIONAL JOIN secret", "'secret'"),
    ("SELECT * FROM unnest((SELECT list(x) FROM secret))", "'secret'"),
    ("FROM deliveries SELECT *, (FROM secret SELECT 1)", "'secret'"),
    ("SELECT * FROM main.deliveries", "qualified name"),
    ("SELECT * FROM memory.main.deliveries", "qualified name"),
    ("SELECT main.lower('x')", "qualified function"),
    ("SELECT * FROM duckdb_tables()", "duckdb_tables"),
    ("SELECT * FROM duckdb_settings()", "duckdb_settings"),
    ("SELECT current_setting('home_directory')", "current_setting"),
    ("SELECT getvariable('scope_senders')", "getvariable"),
    ("SELECT getenv('HOME')", "getenv"),
    ("SELECT json_serialize_plan('SELECT * FROM secret')", "json_serialize_plan"),
    ("SELECT pg_get_viewdef(1)", "pg_get_viewdef"),
    ("SELECT nextval('seq')", "nextval"),
    ("SELECT * FROM deliveries AT (VERSION => 1)", "time travel"),
    ("SHOW TABLES", "SHOW"),
    ("SHOW ALL TABLES", "SHOW"),
    ("DESCRIBE secret", "'secret'"),
    ("SELECT $1", "parameters"),
    ("SELECT * FROM deliveries WHERE sender = ?", "parameters"),
    ('SELECT * FROM "delіveries"', "not a view"),  # Cyrillic i
    ("SELECT * FROM ＤＥＬＩＶＥＲＩＥＳ", "not a view"),  # fullwidth
    ("SELECT * FROM deliveries\u037e DROP TABLE x", "parse"),  # Greek question mark, not a semicolon
    ("SELECT * FROM 'deliveries.parquet'", "not a view"),
    ("SELECT * FROM " + "(SELECT * FROM " * 50 + "secret" + ")" * 50, "'secret'"),
    ("SELECT * FROM " + "(SELECT * FROM " * 900 + "deliveries" + ")" * 900, "nested too deeply"),
    ("SELECT * FROM " + "(SELECT * FROM " * 5000 + "deliveries" + ")" * 5000, "parse"),
    ("SELECT '" + "x" * 200_000 + "'", "longer than"),
]


@pytest.mark.parametrize("sql", ALLOWED)
def test_ordinary_queries_over_the_views_pass(sql):
    check_user_sql(sql, VIEWS)


@pytest.mark.parametrize(("sql", "reason"), REFUSED)
def test_escapes_are_refused_with_a_clear_message(sql, reason):
    with pytest.raises(SqlRefused, match="refused") as refused:
        check_user_sql(sql, VIEWS)
    assert reason in str(refused.value)


def test_refusal_is_a_value_error_naming_the_allowed_views():
    with pytest.raises(ValueError, match="deliveries, messages, rejects"):
        check_user_sql("SELECT * FROM secret", VIEWS)


def test_only_the_views_passed_are_allowed():
    check_user_sql("SELECT * FROM messages", {"messages"})
    with pytest.raises(SqlRefused, match="'deliveries'"):
        check_user_sql("SELECT * FROM deliveries", {"messages"})
    with pytest.raises(SqlRefused):
        check_user_sql("SELECT * FROM deliveries", set())


def test_accepted_queries_really_run_against_views():
    con = duckdb.connect(":memory:")
    con.execute("CREATE TABLE raw_lines AS SELECT 'secret' AS line")
    con.execute("CREATE VIEW deliveries AS SELECT 'a@example.com' AS sender, 'x' AS reason")
    sql = "WITH d AS (SELECT * FROM deliveries) SELECT sender, count(*) FROM d GROUP BY ALL"
    check_user_sql(sql, {"deliveries"})
    assert con.execute(sql).fetchall() == [("a@example.com", 1)]
    with pytest.raises(SqlRefused):
        check_user_sql("SELECT * FROM raw_lines", {"deliveries"})


HIDDEN = ("_lake_deliveries", "_lake_lines", "_lake_messages", "_lake_rejects", "_secret")


@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize(
    "shape",
    [
        # the reported bypass: a recursive CTE named after a hidden view, its anchor reading that name
        "WITH RECURSIVE {h} AS (SELECT * FROM {h} UNION ALL SELECT * FROM {h} WHERE false) SELECT count(*) FROM {h}",
        'WITH RECURSIVE "{h}" AS (SELECT * FROM "{h}" UNION ALL SELECT * FROM "{h}" WHERE false) SELECT * FROM "{h}"',
        "WITH RECURSIVE {H} AS (SELECT * FROM {h} UNION SELECT * FROM {H} WHERE false) SELECT * FROM {H}",
        "WITH RECURSIVE {h} AS (SELECT * FROM {h}) SELECT * FROM {h}",
        "WITH RECURSIVE a AS (SELECT 1), {h} AS (SELECT * FROM {h} UNION ALL SELECT * FROM {h}) SELECT * FROM {h}",
        "SELECT * FROM (WITH RECURSIVE {h} AS (SELECT * FROM {h} UNION ALL SELECT * FROM {h}) SELECT * FROM {h})",
        "WITH x AS (WITH RECURSIVE {h} AS (FROM {h} UNION ALL FROM {h}) FROM {h}) SELECT * FROM x",
    ],
)
def test_a_recursive_cte_cannot_lend_its_name_to_its_own_anchor(shape: str, hidden: str) -> None:
    with pytest.raises(SqlRefused, match="not a view you may query"):
        check_user_sql(shape.format(h=hidden, H=hidden.upper()), VIEWS)


def test_a_quoted_lake_file_used_as_a_cte_name_is_refused(tmp_path) -> None:
    path = tmp_path / "lake" / "deliveries" / "part-0.parquet"
    sql = f'WITH RECURSIVE "{path}" AS (SELECT * FROM \'{path}\' UNION ALL SELECT * FROM "{path}") FROM "{path}"'
    with pytest.raises(SqlRefused, match="not a view you may query"):
        check_user_sql(sql, VIEWS)


def test_the_recursive_term_still_sees_its_own_cte_and_an_outer_cte_stays_visible() -> None:
    check_user_sql("WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 3) FROM t", VIEWS)
    check_user_sql(
        "WITH RECURSIVE deliveries AS (SELECT * FROM deliveries UNION ALL SELECT * FROM deliveries WHERE false)"
        " SELECT count(*) FROM deliveries",
        VIEWS,
    )
    check_user_sql(  # the inner anchor reads the outer CTE `h`, which is a real, visible name there
        "WITH RECURSIVE h AS (SELECT * FROM deliveries UNION ALL SELECT * FROM h WHERE false),"
        " y AS (WITH RECURSIVE h AS (FROM h UNION ALL FROM h) FROM h) SELECT * FROM y",
        VIEWS,
    )


def test_every_table_function_duckdb_ships_is_refused_except_the_harmless_ones() -> None:
    with duckdb.connect() as con:
        names = sorted(
            {
                n
                for (n,) in con.execute(
                    "SELECT DISTINCT function_name FROM duckdb_functions() WHERE function_type = 'table'"
                ).fetchall()
            }
        )
    assert len(names) > 50
    allowed = []
    for name in names:
        try:
            check_user_sql(f"SELECT * FROM {name}()", VIEWS)
        except SqlRefused:
            continue
        allowed.append(name)
    assert set(allowed) <= {"unnest", "range", "generate_series"}, allowed


# -------------------------------------------------------------------- name resolution, fuzzed

SECRET = "SECRET"
_NAMES = (
    "deliveries",
    "Deliveries",
    '"deliveries"',
    "c1",
    "c2",
    "C1",
    *HIDDEN,
    '"_lake_deliveries"',
    "_LAKE_DELIVERIES",
    "main._secret",
    "memory.main._secret",
)
_CTE_NAMES = ("c1", "c2", "deliveries", *HIDDEN, '"_lake_deliveries"', "_Lake_Deliveries")


def _queries(names: tuple[str, ...]):
    from hypothesis import strategies as st

    name = st.sampled_from(names)

    def extend(inner):
        subquery = inner.map(lambda q: f"({q})")
        source = st.one_of(name, subquery.map(lambda q: f"{q} AS s"))
        plain = st.builds(lambda s: f"SELECT v FROM {s}", source)
        filtered = st.builds(lambda s, q: f"SELECT v FROM {s} WHERE v IN {q}", source, subquery)
        joined = st.builds(lambda a, b: f"SELECT a.v FROM {a} AS a JOIN {b} AS b ON true", name, name)
        union = st.builds(lambda a, b: f"{a} UNION ALL {b}", inner, inner)
        cte = st.builds(
            lambda recursive, n, body, rest: f"WITH {'RECURSIVE ' if recursive else ''}{n} AS ({body}) {rest}",
            st.booleans(),
            st.sampled_from(_CTE_NAMES),
            inner,
            inner,
        )
        recursive = st.builds(
            lambda n, anchor, step, rest: (
                f"WITH RECURSIVE {n} AS (SELECT v FROM {anchor} UNION ALL SELECT v FROM {step} WHERE false) {rest}"
            ),
            st.sampled_from(_CTE_NAMES),
            name,
            name,
            inner,
        )
        two = st.builds(
            lambda n1, b1, n2, b2, rest: f"WITH {n1} AS ({b1}), {n2} AS ({b2}) {rest}",
            st.sampled_from(_CTE_NAMES),
            inner,
            st.sampled_from(_CTE_NAMES),
            inner,
            inner,
        )
        return st.one_of(plain, filtered, joined, union, cte, recursive, two)

    return st.recursive(name.map(lambda n: f"SELECT v FROM {n}"), extend, max_leaves=6)


def test_whatever_the_guard_accepts_never_reads_a_hidden_name() -> None:
    """Generated CTE/subquery/alias shapes around hidden names: run every accepted query on a connection
    where the hidden names exist and hold SECRET rows; none may come back."""
    import threading

    from hypothesis import HealthCheck, given, settings

    con = duckdb.connect()
    con.execute("CREATE TABLE deliveries AS SELECT 'public' AS v")
    for hidden in HIDDEN:
        con.execute(f"CREATE TABLE {hidden} AS SELECT '{SECRET}' AS v")
    accepted = []

    @settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
    @given(_queries(_NAMES))
    def check(sql: str) -> None:
        try:
            check_user_sql(sql, {"deliveries"})
        except SqlRefused:
            return
        accepted.append(sql)
        timer = threading.Timer(5, con.interrupt)
        timer.start()
        try:
            rows = con.execute(sql).fetchall()
        except duckdb.Error:
            return
        finally:
            timer.cancel()
        assert all(SECRET not in str(row) for row in rows), sql

    check()
    assert len(accepted) > 20, "the generator must also produce queries the guard accepts"


# ------------------------------------------------------------------ exact refusals (mutation testing)

NO_VIEWS = "(you may query only the views: deliveries, messages, rejects)"
EXACT_REFUSALS = [
    ("", "refused: empty query"),
    ("SELECT 1\x00", "refused: NUL character in query"),
    # from a JSON body's "\\udce9" or a non-UTF-8 argv byte; DuckDB would raise a TypeError
    ("SELECT '\udce9' FROM deliveries", "refused: the query is not valid Unicode text (a lone surrogate)"),
    ("SELECT 1 -- \ud800", "refused: the query is not valid Unicode text (a lone surrogate)"),
    ("SELECT * FROM " + "(SELECT * FROM " * 900 + "deliveries" + ")" * 900, "refused: query nested too deeply"),
    ("SELECT * FROM memory.deliveries", f"refused: qualified name memory.deliveries {NO_VIEWS}"),
    ("SELECT * FROM memory.main.deliveries", f"refused: qualified name memory.deliveries {NO_VIEWS}"),
    ("SELECT main.lower('x')", f"refused: qualified function main.lower {NO_VIEWS}"),
    ("SELECT memory.main.lower('x')", f"refused: qualified function main.lower {NO_VIEWS}"),
    ("SELECT * FROM main.range(3)", f"refused: table function range() is not allowed {NO_VIEWS}"),
    ("SELECT * FROM memory.main.range(3)", f"refused: table function range() is not allowed {NO_VIEWS}"),
    ("SHOW deliveries", f"refused: SHOW is not allowed {NO_VIEWS}"),
    ("SELECT * FROM (SHOW deliveries)", f"refused: SHOW is not allowed {NO_VIEWS}"),
    # SHOW of a query carries the query but is neither DESCRIBE nor SUMMARIZE: refused all the same
    ("SHOW SELECT * FROM deliveries", f"refused: SHOW is not allowed {NO_VIEWS}"),
    ("SELECT * FROM (SHOW SELECT 1)", f"refused: SHOW is not allowed {NO_VIEWS}"),
    ("SELECT $1", f"refused: positional parameters are not allowed: name them ($since) {NO_VIEWS}"),
    ("SELECT default", f"refused: unsupported expression DEFAULT {NO_VIEWS}"),
    ("SELECT * FROM deliveries AT (VERSION => 1)", f"refused: time travel (AT) on deliveries {NO_VIEWS}"),
    ("SELECT read_blob('x')", f"refused: function read_blob() is not allowed {NO_VIEWS}"),
]


@pytest.mark.parametrize(("sql", "message"), EXACT_REFUSALS)
def test_a_refusal_says_exactly_why(sql: str, message: str) -> None:
    with pytest.raises(SqlRefused) as refused:
        check_user_sql(sql, VIEWS)
    assert str(refused.value) == message


def test_a_user_without_views_is_told_there_are_none() -> None:
    with pytest.raises(SqlRefused) as refused:
        check_user_sql("SELECT * FROM deliveries", set())
    assert str(refused.value) == (
        "refused: 'deliveries' is not a view you may query (you may query only the views: none)"
    )


def test_a_query_of_exactly_the_maximum_length_is_analysed() -> None:
    sql = "SELECT '" + "x" * (MAX_SQL_LENGTH - 9) + "'"
    assert len(sql) == MAX_SQL_LENGTH
    check_user_sql(sql, VIEWS)


def test_named_parameters_pass_and_positional_ones_do_not() -> None:
    check_user_sql("SELECT * FROM deliveries WHERE ts > $since AND sender = $who", VIEWS)
    with pytest.raises(SqlRefused, match="positional"):
        check_user_sql("SELECT * FROM deliveries WHERE ts > ?", VIEWS)


@pytest.mark.parametrize(
    "sql",
    [
        "WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t, secret WHERE n < 3) SELECT * FROM t",
        "WITH RECURSIVE t(n) AS (SELECT 1 UNION SELECT n + 1 FROM t WHERE n < (SELECT 3 FROM secret)) SELECT * FROM t",
    ],
)
def test_the_recursive_term_of_a_recursive_cte_is_checked(sql: str) -> None:
    with pytest.raises(SqlRefused, match="'secret'"):
        check_user_sql(sql, VIEWS)


def test_no_denied_function_is_among_the_known_functions() -> None:
    known = builtin_functions.__wrapped__()  # uncached: the walker's list as computed now
    assert not known & DENIED_FUNCTIONS
    assert "getvariable" not in known and "current_setting" not in known and "lower" in known


def test_a_function_duckdb_does_not_ship_is_refused_though_no_deny_list_names_it() -> None:
    """A macro created on the warehouse connection (or an extension's function) is unknown to the guard:
    it is refused, not run, even when it is not denied by name, since its body may read anything."""
    con = duckdb.connect()
    con.execute("CREATE TABLE _secret AS SELECT 'SECRET' AS v")
    con.execute("CREATE MACRO peek() AS (SELECT v FROM _secret)")
    assert con.execute("SELECT peek()").fetchall() == [("SECRET",)]  # what the call would do
    with pytest.raises(SqlRefused) as refused:
        check_user_sql("SELECT peek()", VIEWS)
    assert str(refused.value) == f"refused: function peek() is not allowed {NO_VIEWS}"
    with pytest.raises(SqlRefused, match=r"function no_such_function\(\) is not allowed"):
        check_user_sql("SELECT no_such_function(sender) FROM deliveries", VIEWS)


def test_a_node_type_the_walker_does_not_know_is_refused_by_name() -> None:
    """DuckDB's serialiser knows node types no query of today's parser produces (CTE_NODE, COLUMN_DATA,
    DELIM_GET...); a tree holding one, e.g. from a newer DuckDB, is refused naming it."""
    for kind in ("CTE_NODE", "COLUMN_DATA"):
        with pytest.raises(SqlRefused) as refused:
            Walker(VIEWS).any({"type": "SELECT_NODE", "modifiers": [{"type": kind}]}, frozenset())
        assert str(refused.value) == f"refused: unsupported construct {kind} {NO_VIEWS}"


def test_the_guard_writes_no_file_where_it_runs(tmp_path, monkeypatch) -> None:
    """The guard's own DuckDB connection is in memory: checking a query (accepted or refused) leaves the
    working directory as it was (a misspelt ":memory:" would create a database file there)."""
    monkeypatch.chdir(tmp_path)
    check_user_sql("SELECT * FROM deliveries", VIEWS)
    with pytest.raises(SqlRefused):
        check_user_sql("SELECT * FROM secret", VIEWS)
    assert list(tmp_path.iterdir()) == []


def test_a_tree_deeper_than_the_json_decoder_allows_is_refused_as_nested_too_deeply() -> None:
    """At CPython's default recursion limit (the CLI's) DuckDB's syntax tree of 500 nested subqueries, which
    its parser accepts, is too deep for json.loads: refused while decoding, before any walking."""
    sql = "SELECT * FROM " + "(SELECT * FROM " * 500 + "deliveries" + ")" * 500
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)
    try:
        with pytest.raises(SqlRefused) as refused:
            parse_statements(sql)
    finally:
        sys.setrecursionlimit(limit)
    assert str(refused.value) == "refused: query nested too deeply"


# ------------------------------------------- trees DuckDB does not produce today (defence in depth)


def _tree(sql: str) -> dict:
    """DuckDB's own syntax tree of `sql`, to be altered into a shape another DuckDB version could send."""
    return parse_statements(sql)[0]["node"]


def _walk(node: dict) -> None:
    Walker(VIEWS).any(node, frozenset())


def _nodes(value: object, kind: str):
    """Every dict of `value` whose type (or class) is `kind`."""
    if isinstance(value, list):
        for item in value:
            yield from _nodes(item, kind)
    elif isinstance(value, dict):
        if kind in (value.get("type"), value.get("class")):
            yield value
        for child in value.values():
            yield from _nodes(child, kind)


def _refusal(node: dict) -> str:
    with pytest.raises(SqlRefused) as refused:
        _walk(node)
    return str(refused.value)


def test_a_name_qualified_by_a_catalog_alone_is_refused() -> None:
    """DuckDB's parser always pairs a catalog with a schema; a tree naming only the catalog (another attached
    database) is still a qualified name: refused for tables, table functions and functions alike."""
    node = _tree("SELECT * FROM deliveries")
    table = next(_nodes(node, "BASE_TABLE"))
    table["catalog_name"] = "lake"
    assert _refusal(node) == f"refused: qualified name lake.deliveries {NO_VIEWS}"
    node = _tree("SELECT * FROM range(3)")
    next(_nodes(node, "TABLE_FUNCTION"))["function"]["catalog"] = "lake"
    assert _refusal(node) == f"refused: table function range() is not allowed {NO_VIEWS}"
    node = _tree("SELECT lower(sender) FROM deliveries")
    next(_nodes(node, "FUNCTION"))["catalog"] = "lake"
    assert _refusal(node) == f"refused: qualified function lake.lower {NO_VIEWS}"


def test_a_parameter_without_a_name_is_refused_as_positional() -> None:
    node = _tree("SELECT * FROM deliveries WHERE sender = $who")
    del next(_nodes(node, "PARAMETER"))["identifier"]
    assert _refusal(node) == f"refused: positional parameters are not allowed: name them ($since) {NO_VIEWS}"


def test_a_reference_without_a_name_is_refused_not_taken_for_some_name() -> None:
    node = _tree("SELECT * FROM deliveries")
    del next(_nodes(node, "BASE_TABLE"))["table_name"]
    assert _refusal(node) == f"refused: '' is not a view you may query {NO_VIEWS}"
    node = _tree("SELECT * FROM range(3)")
    del next(_nodes(node, "TABLE_FUNCTION"))["function"]["function_name"]
    assert _refusal(node) == f"refused: table function ?() is not allowed {NO_VIEWS}"


def test_a_describe_that_also_names_a_table_is_refused() -> None:
    """DESCRIBE/SUMMARIZE pass only as the description of a query; one that names a table too (as SHOW
    does) names something the walker never checked."""
    node = _tree("DESCRIBE SELECT * FROM deliveries")
    next(_nodes(node, "SHOW_REF"))["table_name"] = "_secret"
    assert _refusal(node) == f"refused: SHOW is not allowed {NO_VIEWS}"


def test_a_query_node_without_a_cte_list_is_walked_as_having_none() -> None:
    node = _tree("SELECT * FROM deliveries WHERE sender IN (SELECT sender FROM rejects)")
    del node["cte_map"]
    next(_nodes(node["where_clause"], "SELECT_NODE"))["cte_map"] = {}
    _walk(node)
    next(_nodes(node["where_clause"], "BASE_TABLE"))["table_name"] = "_secret"
    assert _refusal(node) == f"refused: '_secret' is not a view you may query {NO_VIEWS}"


def test_the_walker_visits_no_part_of_the_tree_twice() -> None:
    """The guard is linear in the query: walking a part twice (a CTE body, a recursive anchor, a table
    function's arguments) refuses nothing more but doubles the work per nesting level, so 30 nested CTEs
    would take 2**30 walks (the guard runs on every user query)."""

    class Recording(Walker):
        def any(self, value: object, visible: frozenset[str]) -> None:
            if isinstance(value, dict):
                self.seen.append(id(value))
            super().any(value, visible)

    for sql in [
        *ALLOWED,
        "WITH a AS (SELECT 1), b AS (WITH c AS (SELECT * FROM a) SELECT * FROM c) SELECT * FROM b",
        "WITH RECURSIVE t(n) AS (WITH q AS (SELECT 1) SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 3) FROM t",
        "SELECT * FROM range((SELECT count(*) FROM deliveries)), generate_series(1, 3)",
    ]:
        walker = Recording(VIEWS)
        walker.seen = []
        walker.any(_tree(sql), frozenset())
        assert len(walker.seen) == len(set(walker.seen)), sql
