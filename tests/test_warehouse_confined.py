"""The confined connection alone, with the SQL guard switched off: it can reach nothing but scoped rows.

Every query a user can trigger runs on `Warehouse.con`. These tests send it, unguarded, the escapes the
guard is there to refuse, and check that a guard mistake would still leak nothing: no raw view or table
under any name, no file, no Python object, no setting change.
"""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import polars as pl
import pytest

from acl import USER, Scope, User, make_grant, scope_for
from relaywatch.loggen import generate
from warehouse import Lake, Warehouse, ingest


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    root = tmp_path_factory.mktemp("confined")
    generate(
        None,
        days=1,
        gateways=["gw-a"],
        seed=11,
        start=datetime(2026, 11, 20, tzinfo=UTC),
        per_gateway_dir=root / "logs",
        messages_per_day=300,
    )
    lake = Lake(root / "lake")
    ingest(lake, "gw-a", root / "logs" / "gw-a.log")
    return lake


@pytest.fixture(scope="module")
def senders(lake: Lake) -> list[str]:
    frame = Warehouse(lake, Scope.root()).query("SELECT DISTINCT sender FROM deliveries WHERE sender <> ''")
    return sorted(frame["sender"].to_list())


@pytest.fixture
def customer(lake: Lake, senders: list[str]) -> tuple[Warehouse, str]:
    chosen = senders[0]
    user = User(7, "customer", USER, grants=(make_grant("sender", chosen),))
    return Warehouse(lake, scope_for(user)), chosen


def parquet_files(lake: Lake) -> list[str]:
    return sorted(str(p) for p in lake.root.rglob("*.parquet"))


def test_the_lake_has_rows_of_several_senders(senders: list[str]) -> None:
    assert len(senders) >= 3


@pytest.mark.parametrize(
    "hidden",
    ["_lake_deliveries", "_lake_lines", "_lake_messages", "_lake_rejects", "lines", "_empty_deliveries", "_arrow"],
)
def test_the_reported_bypass_finds_no_raw_view_without_the_guard(customer: tuple[Warehouse, str], hidden: str) -> None:
    warehouse, _ = customer
    attack = (
        f"WITH RECURSIVE {hidden} AS (SELECT * FROM {hidden} UNION ALL SELECT * FROM {hidden} WHERE false)"
        f" SELECT count(*) FROM {hidden}"
    )
    with pytest.raises((duckdb.CatalogException, duckdb.BinderException)):  # the name exists nowhere
        warehouse.query(attack)
    with pytest.raises(duckdb.CatalogException):
        warehouse.query(f"SELECT * FROM {hidden}")


def test_no_lake_file_can_be_read_under_any_spelling(customer: tuple[Warehouse, str], lake: Lake) -> None:
    warehouse, _ = customer
    path = parquet_files(lake)[0]
    for sql in (
        f"SELECT * FROM '{path}'",
        f"SELECT * FROM read_parquet('{path}')",
        f'WITH RECURSIVE "{path}" AS (SELECT * FROM \'{path}\' UNION ALL SELECT * FROM "{path}")'
        f' SELECT * FROM "{path}"',
        f"SELECT * FROM read_parquet('{lake.root}/**/*.parquet')",
        "SELECT * FROM read_text('/etc/passwd')",
        f"SELECT * FROM glob('{lake.root}/*')",
        f"ATTACH '{lake.root}/x.db' AS x",
    ):
        with pytest.raises(duckdb.Error, match="(?i)permission|disabled|external"):
            warehouse.query(sql)


def test_python_objects_are_not_reachable_by_name(customer: tuple[Warehouse, str], lake: Lake) -> None:
    warehouse, _ = customer
    raw_rows = pl.read_parquet(parquet_files(lake)[0])  # noqa: F841 - what a replacement scan would find
    with pytest.raises(duckdb.CatalogException):
        warehouse.query("SELECT * FROM raw_rows")


def test_settings_cannot_be_changed_back(customer: tuple[Warehouse, str]) -> None:
    warehouse, _ = customer
    for statement in (
        "SET enable_external_access = true",
        "SET allowed_directories = ['/']",
        "SET memory_limit = '100GB'",
        "RESET lock_configuration",
        "SET temp_directory = '/tmp'",
    ):
        with pytest.raises(duckdb.Error):
            warehouse.query(statement)
    settings = dict(
        warehouse.query(
            "SELECT name, value FROM duckdb_settings() WHERE name IN ('enable_external_access', 'lock_configuration')"
        ).iter_rows()
    )
    assert settings == {"enable_external_access": "false", "lock_configuration": "true"}


def test_every_row_of_every_view_is_inside_the_scope(customer: tuple[Warehouse, str]) -> None:
    warehouse, sender = customer
    for view in ("deliveries", "messages", "rejects", "queue"):
        seen = warehouse.query(f"SELECT DISTINCT sender FROM {view}")["sender"].to_list()
        assert set(seen) <= {sender}, view
    assert warehouse.query("SELECT count(*) AS n FROM deliveries")["n"][0] > 0


def test_pushed_down_filters_give_the_same_rows_as_filtering_afterwards(lake: Lake, senders: list[str]) -> None:
    root = Warehouse(lake, Scope.root())
    pushed = root.query(
        "SELECT message_key, recipient FROM deliveries WHERE sender IN ($a, $b) AND status <> 'sent' "
        "AND ts >= TIMESTAMPTZ '2000-01-01 00:00:00+00' AND day >= DATE '2000-01-01' AND dsn IS NOT NULL "
        "ORDER BY ALL",
        {"a": senders[0], "b": senders[1]},
    )
    everything = root.query("SELECT message_key, recipient, sender, status, dsn FROM deliveries")
    expected = (
        everything.filter(
            pl.col("sender").is_in(senders[:2]) & (pl.col("status") != "sent") & pl.col("dsn").is_not_null()
        )
        .select("message_key", "recipient")
        .sort(pl.all())
    )
    assert pushed.equals(expected)


def test_raw_lines_are_a_view_of_the_everything_scope_only(lake: Lake, customer: tuple[Warehouse, str]) -> None:
    warehouse, _ = customer
    assert "lines" not in warehouse.views
    assert "lines" in Warehouse(lake, Scope.root()).views
    assert Warehouse(lake, Scope.root()).query("SELECT count(*) AS n FROM lines")["n"][0] > 0


def test_message_lines_are_given_only_for_a_message_inside_the_scope(
    lake: Lake, customer: tuple[Warehouse, str]
) -> None:
    warehouse, sender = customer
    root = Warehouse(lake, Scope.root())
    keys = root.query("SELECT message_key, sender FROM messages WHERE sender <> ''")
    mine = keys.filter(pl.col("sender") == sender)["message_key"][0]
    other = keys.filter(pl.col("sender") != sender)["message_key"][0]
    assert warehouse.message_lines(mine).height > 0
    assert warehouse.message_lines(other).height == 0
    assert root.message_lines(other).height > 0
