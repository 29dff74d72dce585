"""Property: through real HTTP, a token of an account with random grants, asking with random filters, gets
exactly that account's rows (the warehouse's answer for its Scope, and the grants' plain-Python meaning)
and never a row of another scope."""

from __future__ import annotations

import itertools

import polars as pl
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acl import get_user, local_operator, open_store, scope_for, user_add, user_grant
from tests.api_client import new_token, request, served, sql
from tests.test_api import FIXED_PERIOD, PERIOD
from tests.test_scope_through_warehouse import allowed
from warehouse import LogFilter, Warehouse, log_rows, open_lake

pytestmark = pytest.mark.server
__all__ = ["served"]
ARROW = "application/vnd.apache.arrow.stream"
COLUMNS = "gateway, sender, sender_domain, sasl_username, status, recipient, queue_id"
_names = itertools.count()


@pytest.fixture(scope="module")
def values(served) -> dict[str, list[str]]:
    _, home, _ = served
    root = Warehouse(open_lake(home.path), scope_for(local_operator("tests")))
    try:
        rows = root.query(f"SELECT {COLUMNS} FROM deliveries")
    finally:
        root.close()
    senders = rows.filter(pl.col("sender") != "")["sender"].unique().sort().to_list()
    return {
        "sender": senders[:30] + ["alice@customer.example", "ghost@nowhere.example"],
        "domain": rows["sender_domain"].drop_nulls().unique().sort().to_list()[:30] + ["example", "nowhere.example"],
        "sasl": rows["sasl_username"].drop_nulls().unique().sort().to_list()[:15] + ["ghost"],
        "gateway": ["gw1", "gw2", "gw9"],
        "status": rows["status"].unique().sort().to_list(),
        "text": [s.split("@")[0][:4] for s in senders[:10]] + ["", "orange", "@"],
    }


@st.composite
def cases(draw: st.DrawFn, values: dict[str, list[str]]) -> tuple[list, dict[str, str], str]:
    grants = []
    for kind in draw(st.lists(st.sampled_from(["sender", "domain", "sasl", "gateway"]), max_size=3)):
        grants.append((kind, draw(st.sampled_from(values[kind])), kind == "domain" and draw(st.booleans())))
    flt = {}
    if draw(st.booleans()):
        flt["status"] = ",".join(draw(st.lists(st.sampled_from(values["status"]), min_size=1, max_size=2)))
    if draw(st.booleans()):
        flt["sender"] = draw(st.sampled_from(values["text"]))
    if draw(st.booleans()):
        flt["gateway"] = draw(st.sampled_from(values["gateway"]))
    return grants, flt, draw(st.sampled_from(["deliveries", "sql"]))


def test_random_grants_and_filters_never_return_another_scopes_row(served, values) -> None:
    base, home, _ = served
    seen: list[int] = []

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(cases(values))
    def check(case: tuple[list, dict[str, str], str]) -> None:
        grants, flt, route = case
        name = f"prop{next(_names)}"
        store = open_store(home.path / "control.db")
        try:
            operator = local_operator("tests")
            user_add(store, operator, name, "user", None)
            for kind, value, subdomains in grants:
                user_grant(store, operator, name, kind, value, include_subdomains=subdomains)
            scope = scope_for(get_user(store, name))
        finally:
            store.close()
        token = new_token(home.path, name)
        warehouse = Warehouse(open_lake(home.path), scope)
        try:
            if route == "deliveries":
                answer = request(
                    base,
                    "GET",
                    "/api/v1/deliveries",
                    token=token,
                    headers={"Accept": ARROW},
                    params={**PERIOD, **flt, "limit": 1000},
                )
                got = pl.from_arrow(pa.ipc.open_stream(answer.body).read_all())
                log_filter = LogFilter(
                    FIXED_PERIOD,
                    sender=flt.get("sender", ""),
                    statuses=tuple(flt["status"].split(",")) if "status" in flt else (),
                    gateways=(flt["gateway"],) if "gateway" in flt else (),
                )
                expected = log_rows(warehouse, log_filter, limit=1000)
                assert (
                    got.select("message_key", "recipient", "status").rows()
                    == expected.select("message_key", "recipient", "status").rows()
                )
                rows = (
                    warehouse.query(
                        f"SELECT {COLUMNS} FROM deliveries WHERE list_contains($keys, message_key)",
                        {"keys": got["message_key"].to_list()},
                    )
                    if got.height
                    else pl.DataFrame()
                )
            else:
                where = " AND ".join(f"{k} = '{v}'" for k, v in flt.items() if k == "gateway") or "TRUE"
                query = f"SELECT {COLUMNS} FROM deliveries WHERE {where} ORDER BY ALL"
                answer = sql(base, token, query, accept="application/json")
                body = answer.json()
                rows = (
                    pl.DataFrame(body["rows"], schema=body["columns"], orient="row") if body["rows"] else pl.DataFrame()
                )
                assert rows.rows() == warehouse.query(query).rows()
        finally:
            warehouse.close()
        assert answer.status == 200, answer.body[:300]
        assert all(allowed(r, grants) for r in rows.iter_rows(named=True)), (grants, flt)
        if not grants:
            assert rows.height == 0
        seen.append(rows.height)

    check()
    assert sum(1 for n in seen if n) >= 5, f"too few examples returned rows: {seen}"
