"""Scope predicate: exactly the rows the grants allow (checked against a pure-Python reference)."""

from __future__ import annotations

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acl import (
    ADMIN,
    MAILGW,
    ROOT,
    USER,
    Grant,
    Hasher,
    Scope,
    User,
    get_user,
    local_operator,
    make_grant,
    open_store,
    scope_for,
    user_add,
    user_grant,
)

LOCALS = ["a", "b", "o'neil", "x%y", "x_y", "%", "_", "a\\b", '"q"', "jörg"]
DOMAINS = [
    "example.com",
    "sub.example.com",
    "a.sub.example.com",
    "xample.com",
    "example.org",
    "bücher.de",
    "xn--bcher-kva.de",
    "com",
]
SASL = ["alice", "bob", "a%", "_", "o'neil@example.com"]
GATEWAYS = ["gw1", "gw2", "gw_3", "%"]
"""Gateway values of rows ('%' as an old lake could hold it); grants take only valid names (gw_3 keeps a
LIKE wildcard in play)."""
GRANTABLE_GATEWAYS = ["gw1", "gw2", "gw_3", "*"]
COLUMNS = ("gateway", "sender", "sender_domain", "sasl_username")


def ulabel(domain: str) -> str:
    return ".".join(p.encode("ascii").decode("idna") if p.startswith("xn--") else p for p in domain.split("."))


def spellings(domain: str) -> set[str]:
    return {domain, ulabel(domain)}


def reference_allows(user: User, row: dict[str, str | None]) -> bool:
    """Independent statement of the access rules, row by row."""
    if user.disabled or user.role == MAILGW:
        return False
    if user.role == ROOT:
        return True
    for g in user.grants:
        if g.kind == "gateway" and g.value == "*" and user.role == ADMIN:
            return True
        if g.kind == "gateway" and row["gateway"] == g.value:
            return True
        if g.kind == "sasl" and row["sasl_username"] == g.value:
            return True
        if g.kind == "sender" and row["sender"] is not None:
            local, _, domain = g.value.rpartition("@")
            if row["sender"] in {f"{local}@{d}" for d in spellings(domain)}:
                return True
        if g.kind == "domain" and row["sender_domain"] is not None:
            for d in spellings(g.value):
                if row["sender_domain"] == d or (g.include_subdomains and row["sender_domain"].endswith("." + d)):
                    return True
    return False


grant_st = st.one_of(
    st.builds(lambda lp, d: ("sender", f"{lp}@{d}", False), st.sampled_from(LOCALS), st.sampled_from(DOMAINS)),
    st.builds(lambda d, s: ("domain", d, s), st.sampled_from(DOMAINS), st.booleans()),
    st.builds(lambda v: ("sasl", v, False), st.sampled_from(SASL)),
    st.builds(lambda v: ("gateway", v, False), st.sampled_from(GRANTABLE_GATEWAYS)),
)
user_st = st.builds(
    lambda role, disabled, grants: User(1, "u", role, None, disabled, tuple(make_grant(k, v, s) for k, v, s in grants)),
    st.sampled_from([USER, USER, USER, ADMIN, ROOT, MAILGW]),
    st.sampled_from([False, False, False, True]),
    st.lists(grant_st, max_size=5),
)


def row_st():
    def build(gateway, local, domain, other_domain, sasl, mismatch):
        spelled = (domain if mismatch is None else other_domain).lower()
        sender = None if local is None else f"{local}@{domain}".lower()
        return {
            "gateway": gateway,
            "sender": sender,
            "sender_domain": None if local is None and mismatch else spelled,
            "sasl_username": sasl,
        }

    all_domains = DOMAINS + ["bücher.de", "deep.a.sub.example.com", "notexample.com", "example.com.evil.net"]
    return st.builds(
        build,
        st.none() | st.sampled_from(GATEWAYS + ["GW9"]),
        st.none() | st.sampled_from(LOCALS + ["O'NEIL", "xay"]),
        st.sampled_from(all_domains),
        st.sampled_from(all_domains),
        st.none() | st.sampled_from(SASL + ["aX", "x"]),
        st.none() | st.just(True),
    )


FILTERS = [
    "SELECT id FROM visible",
    "SELECT id FROM visible WHERE sender LIKE '%' OR TRUE",
    "SELECT id FROM visible WHERE gateway = 'gw1' OR NOT (sender IS NULL) OR sender IS NULL",
    "SELECT id FROM visible WHERE id IN (SELECT id FROM visible) AND FALSE",
]
"""A user's own filters, run over what the scope let through (as a scoped view would)."""


def scoped(con: duckdb.DuckDBPyConnection, select: str, predicate: tuple[str, dict[str, object]]) -> list[tuple]:
    """Run `select ... WHERE <scope predicate>` as the warehouse does: values only as parameters."""
    sql, params = predicate
    return con.execute(f"{select} WHERE {sql}", params).fetchall()  # noqa: S608 - trusted acl predicate


@pytest.fixture(scope="module")
def con():
    connection = duckdb.connect(":memory:")
    yield connection
    connection.close()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(user=user_st, rows=st.lists(row_st(), max_size=25), user_filter=st.sampled_from(FILTERS))
def test_predicate_returns_exactly_the_rows_the_reference_allows(con, user, rows, user_filter):
    con.execute("CREATE OR REPLACE TABLE r (id INTEGER, " + ", ".join(f"{c} VARCHAR" for c in COLUMNS) + ")")
    if rows:
        con.executemany(
            "INSERT INTO r VALUES (?, ?, ?, ?, ?)",
            [[i, *(row[c] for c in COLUMNS)] for i, row in enumerate(rows)],
        )
    sql, params = scope_for(user).predicate()
    got = {i for (i,) in scoped(con, "SELECT id FROM r", (sql, params))}
    expected = {i for i, row in enumerate(rows) if reference_allows(user, row)}
    assert got == expected
    if user.role in (USER, ADMIN) and not user.grants:
        assert got == set()
    where = {i for (i,) in scoped(con, "SELECT id FROM r", scope_for(user).where())}
    assert where == expected, "the WHERE form (no COALESCE) keeps exactly the same rows"
    negated = {i for (i,) in scoped(con, "SELECT id FROM r", (f"NOT ({sql})", params))}
    assert negated == set(range(len(rows))) - expected
    scoped(con, "CREATE OR REPLACE TABLE visible AS SELECT * FROM r", (sql, params))
    assert {i for (i,) in con.execute(user_filter).fetchall()} <= expected


def test_root_no_grant_mailgw_and_disabled_shapes():
    assert Scope.root().predicate() == ("TRUE", {})
    assert scope_for(User(1, "r", ROOT)).predicate() == ("TRUE", {})
    assert scope_for(User(2, "u", USER)).predicate() == ("FALSE", {})
    gw = (Grant("gateway", "gw1"),)
    assert scope_for(User(3, "m", MAILGW, grants=gw)).predicate() == ("FALSE", {})
    assert scope_for(User(4, "d", USER, disabled=True, grants=gw)).predicate() == ("FALSE", {})
    assert scope_for(User(5, "a", USER, grants=(Grant("gateway", "*"),))).predicate() == ("FALSE", {})
    assert scope_for(User(6, "a", ADMIN, grants=(Grant("gateway", "*"),))).predicate() == ("TRUE", {})


def test_values_are_parameters_never_sql_text():
    grants = [
        make_grant("sender", "o'neil'--@example.com"),
        make_grant("sasl", "x');drop"),
        make_grant("domain", "example.com", True),
    ]
    sql, params = Scope.from_grants(grants).predicate()
    assert "'" not in sql.replace("'.' ", "") and "drop" not in sql and "example" not in sql
    assert set(params) == {"scope_senders", "scope_sasl", "scope_domains", "scope_suffix_0"}
    con = duckdb.connect(":memory:")
    con.execute("CREATE TABLE r (gateway VARCHAR, sender VARCHAR, sender_domain VARCHAR, sasl_username VARCHAR)")
    con.executemany(
        "INSERT INTO r VALUES (?, ?, ?, ?)",
        [
            ["gw", "o'neil'--@example.com", "example.com", None],
            ["gw", "z@x.org", "x.org", "x');drop"],
            ["gw", "z@x.org", "x.org", "x"],
        ],
    )
    assert scoped(con, "SELECT count(*) FROM r", (sql, params)) == [(2,)]


def test_percent_and_underscore_match_literally():
    sql, params = Scope.from_grants([make_grant("sender", "a_b%@example.com"), make_grant("sasl", "_")]).predicate()
    con = duckdb.connect(":memory:")
    con.execute(
        "CREATE TABLE r AS SELECT * FROM (VALUES ('a_b%@example.com', NULL), ('axbyy@example.com', NULL),"
        " (NULL, '_'), (NULL, 'x')) t(sender, sasl_username)"
    )
    con.execute("ALTER TABLE r ADD COLUMN gateway VARCHAR")
    con.execute("ALTER TABLE r ADD COLUMN sender_domain VARCHAR")
    rows = scoped(con, "SELECT sender, sasl_username FROM r", (sql, params))
    assert sorted(rows, key=str) == sorted([("a_b%@example.com", None), (None, "_")], key=str)


def test_scope_of_a_stored_user_follows_its_grants(tmp_path):
    store = open_store(tmp_path / "control.db", hasher=Hasher(fast=True))
    op = local_operator("ops")
    user_add(store, op, "carol", USER, None)
    assert scope_for(get_user(store, "carol")).predicate() == ("FALSE", {})
    user_grant(store, op, "carol", "domain", "Example.COM", include_subdomains=True)
    sql, params = scope_for(get_user(store, "carol")).predicate()
    assert params == {"scope_domains": ["example.com"], "scope_suffix_0": ".example.com"}
    store.close()


def test_an_every_gateway_grant_opens_everything_only_when_the_caller_allows_it():
    star = [make_grant("gateway", "*"), make_grant("gateway", "gw1")]
    assert Scope.from_grants(star) == Scope(gateways=frozenset({"gw1"}))
    assert Scope.from_grants(star, allow_all_gateways=True) == Scope.root()
    assert scope_for(User(1, "u", USER, grants=tuple(star))).everything is False
