"""The one row filter, end to end: random users with random grants, random filters, through the public
query API (`Warehouse` over a real lake), never see a row outside their grants."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acl import USER, Scope, User, make_grant, scope_for
from relaywatch.loggen import generate
from warehouse.lake import Lake
from warehouse.pipeline import ingest
from warehouse.views import PUBLIC_VIEWS, Warehouse

GATEWAYS = ["gw-a", "gw-b"]


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    root = tmp_path_factory.mktemp("scope")
    logs = root / "logs"
    generate(None, days=1, gateways=GATEWAYS, seed=7, start=datetime(2026, 11, 20, tzinfo=UTC),
             per_gateway_dir=logs, messages_per_day=400)
    lake = Lake(root / "lake")
    for gateway in GATEWAYS:
        ingest(lake, gateway, logs / f"{gateway}.log")
    return lake


@pytest.fixture(scope="module")
def everything(lake: Lake) -> dict[str, pl.DataFrame]:
    root = Warehouse(lake, Scope.root())
    return {view: root.query(f"SELECT * FROM {view}") for view in ("deliveries", "messages", "rejects")}


def allowed(row: dict, grants: list[tuple[str, str, bool]]) -> bool:
    """Reference semantics of grants, in plain Python."""
    for kind, value, subdomains in grants:
        domain = row.get("sender_domain") or ""
        if kind == "sender" and row.get("sender") == value:
            return True
        if kind == "domain" and (domain == value or (subdomains and domain.endswith("." + value))):
            return True
        if kind == "sasl" and row.get("sasl_username") == value:
            return True
        if kind == "gateway" and row.get("gateway") == value:
            return True
    return False


@st.composite
def grants_and_filter(draw: st.DrawFn, values: dict[str, list[str]]) -> tuple[list, str, str]:
    kinds = draw(st.lists(st.sampled_from(["sender", "domain", "sasl", "gateway"]), max_size=4))
    grants = []
    for kind in kinds:
        value = draw(st.sampled_from(values[kind]))
        grants.append((kind, value, kind == "domain" and draw(st.booleans())))
    view = draw(st.sampled_from(["deliveries", "rejects", "messages"]))
    column = {"deliveries": "status", "rejects": "reason", "messages": "final_status"}[view]
    choice = draw(st.sampled_from(sorted(values[column]) + ["%"]))
    return grants, view, choice


def test_every_scoped_view_is_filtered(lake: Lake) -> None:
    assert set(PUBLIC_VIEWS) >= {"deliveries", "messages", "rejects", "queue", "queue_snapshots"}


def test_random_grants_and_filters_never_leak_a_row(lake: Lake, everything: dict[str, pl.DataFrame]) -> None:
    deliveries = everything["deliveries"]
    values = {
        "sender": deliveries.filter(pl.col("sender") != "")["sender"].unique().sort().to_list()[:40]
        + ["nobody@nowhere.example"],
        "domain": deliveries["sender_domain"].drop_nulls().unique().sort().to_list()[:40] + ["example.com", "fr"],
        "sasl": deliveries["sasl_username"].drop_nulls().unique().sort().to_list()[:20] + ["ghost"],
        "gateway": GATEWAYS,
        "status": deliveries["status"].unique().to_list(),
        "reason": everything["rejects"]["reason"].unique().to_list(),
        "final_status": everything["messages"]["final_status"].unique().to_list(),
    }
    counter = itertools.count()

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(grants_and_filter(values))
    def check(case: tuple[list, str, str]) -> None:
        grants, view, choice = case
        user = User(next(counter), "u", USER, grants=tuple(make_grant(k, v, s) for k, v, s in grants))
        column = {"deliveries": "status", "rejects": "reason", "messages": "final_status"}[view]
        warehouse = Warehouse(lake, scope_for(user))
        try:
            got = warehouse.query(f"SELECT * FROM {view} WHERE {column} LIKE $choice", {"choice": choice})
        finally:
            warehouse.close()
        reference = everything[view].filter(pl.col(column).cast(pl.String).str.contains(
            "^" + choice.replace("%", ".*") + "$"))
        expected = [r for r in reference.iter_rows(named=True) if allowed(r, grants)]
        assert got.height == len(expected)
        assert all(allowed(r, grants) for r in got.iter_rows(named=True))
        if not grants:
            assert got.height == 0

    check()


def test_a_user_with_no_grant_gets_zero_rows_in_every_view(lake: Lake) -> None:
    warehouse = Warehouse(lake, scope_for(User(1, "nobody", USER)))
    for view in PUBLIC_VIEWS:
        assert warehouse.query(f"SELECT count(*) AS n FROM {view}")["n"][0] == 0, view


def test_root_sees_everything(everything: dict[str, pl.DataFrame]) -> None:
    assert everything["deliveries"].height > 500
    assert everything["rejects"].height > 0
