"""The Logs page: scope, filters, server-side paging and sorting, histogram, streamed CSV export."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from acl import Scope, logout
from dashboards import backend, exports
from dashboards.auth import TOKEN
from tests.test_dashboards_data import (
    ALICE_SENDER,
    FIRST_DAY,
    LAST_DAY,
    choose_days,
    demo_home,
    goto,
    open_app,
    texts,
)
from warehouse import EXPORT_COLUMNS, LogFilter, Period, log_rows


def logs_as(user: str, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    at = open_app(demo_home(), user, monkeypatch)
    return goto(choose_days(at), "logs.py")


def table(at: AppTest) -> pd.DataFrame:
    return at.dataframe(key=next(k for k in keys(at) if k.startswith("logs_table_"))).value


def keys(at: AppTest) -> list[str]:
    return [e.key for e in at.dataframe if e.key]


def total(at: AppTest) -> int:
    caption = next(c.value for c in at.caption if "delivery attempt" in c.value)
    if caption == "No delivery attempt matches.":
        return 0
    return int(re.match(r"([\d,]+) delivery", caption).group(1).replace(",", ""))  # type: ignore[union-attr]


def apply(at: AppTest, **values: object) -> AppTest:
    """Fill the filter form and submit it."""
    for key, value in values.items():
        widget = at.multiselect(key=f"lf_{key}") if isinstance(value, list) else at.text_input(key=f"lf_{key}")
        widget.set_value(value)
    return at.button(key="logs_apply").click().run()


def test_a_user_sees_only_its_senders_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    at = logs_as("alice", monkeypatch)
    assert not at.exception
    rows = table(at)
    assert total(at) == len(rows) == 5
    assert set(rows["sender"]) == {ALICE_SENDER}


def test_a_user_without_grant_sees_no_row_and_root_sees_every_gateway(monkeypatch: pytest.MonkeyPatch) -> None:
    nobody = logs_as("nobody", monkeypatch)
    assert total(nobody) == 0 and table(nobody).empty
    root = logs_as("root", monkeypatch)
    assert total(root) > 500
    assert at_least(root, {"gw1", "gw2"})


def at_least(at: AppTest, gateways: set[str]) -> bool:
    return gateways <= set(at.multiselect(key="lf_gateways").options)


def test_the_gateway_filter_offers_only_gateways_in_scope(monkeypatch: pytest.MonkeyPatch) -> None:
    assert logs_as("alice", monkeypatch).multiselect(key="lf_gateways").options == ["gw1"]
    assert logs_as("ops", monkeypatch).multiselect(key="lf_gateways").options == ["gw2"]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"statuses": ["bounced"]}, {"nobody@gmail.com", "-2+3@example.net"}),
        ({"recipient_domain": "GMAIL.com"}, {"bob@gmail.com", "nobody@gmail.com"}),
        ({"text": "CALC"}, {"-2+3@example.net"}),
        ({"queue_id": "4a1b2c3d4e"}, {"bob@gmail.com", "nobody@gmail.com", "carol@orange.fr"}),
        ({"message_id": "<m3@customer.example>"}, {"-2+3@example.net"}),
        ({"recipient": "carol"}, {"carol@orange.fr"}),
        ({"sasl_username": "ALICE@"}, {"bob@gmail.com", "nobody@gmail.com", "carol@orange.fr", "-2+3@example.net"}),
        ({"qualifications": ["soft"]}, {"carol@orange.fr"}),
        ({"reasons": ["user_unknown"]}, {"nobody@gmail.com"}),
        ({"sender": "' OR TRUE --"}, set()),
        ({"text": "x|."}, set()),
        ({"text": "calc'!a0 blocked by **POLICY**"}, {"-2+3@example.net"}),
        ({"message_id": "M1@CUSTOMER.example"}, {"bob@gmail.com", "nobody@gmail.com", "carol@orange.fr"}),
    ],
)
def test_filters_narrow_the_rows(
    filters: dict[str, object], expected: set[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    at = apply(logs_as("alice", monkeypatch), **filters)
    assert not at.exception
    rows = table(at)
    assert set(rows["recipient"]) == expected
    assert set(rows["sender"]) <= {ALICE_SENDER}


def test_pages_come_from_the_warehouse_in_the_chosen_order(monkeypatch: pytest.MonkeyPatch) -> None:
    at = logs_as("bob", monkeypatch)
    at.selectbox(key="logs_size").set_value(50).run()
    count = total(at)
    assert count > 100
    first = table(at)
    assert len(first) == 50 and first["ts"].is_monotonic_decreasing
    at.pagination[0].set_value(2).run()
    second = table(at)
    assert len(second) == 50 and first["ts"].iloc[-1] >= second["ts"].iloc[0]
    assert not set(zip(first["ts"], first["recipient"], strict=True)) & set(
        zip(second["ts"], second["recipient"], strict=True)
    )
    at.selectbox(key="logs_sort").set_value("recipient").run()
    at.segmented_control(key="logs_desc").set_value(False).run()
    by_recipient = table(at)
    assert at.pagination[0].value == 1
    assert by_recipient["recipient"].tolist() == sorted(by_recipient["recipient"].tolist())


def test_the_histogram_counts_the_whole_filtered_result(monkeypatch: pytest.MonkeyPatch) -> None:
    """The page's total (the histogram's sum) is bob's whole filtered result, not the page shown."""
    home = demo_home()
    warehouse = backend.warehouse(home.path, Scope(senders=frozenset({home.bob_sender})))
    try:
        expected = warehouse.query(
            "SELECT count(*) AS n FROM deliveries WHERE day BETWEEN $a AND $b",
            {"a": str(FIRST_DAY), "b": str(LAST_DAY)},
        )["n"][0]
    finally:
        warehouse.close()
    at = logs_as("bob", monkeypatch)
    charts = at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")
    assert charts, "a histogram is drawn"
    assert expected > len(table(at)), "more rows than one page: the total must not be the page's"
    assert any(c.startswith(f"{expected:,} delivery attempts match") for c in texts(at.caption))


def test_only_sort_columns_of_the_allow_list_reach_sql() -> None:
    home = demo_home()
    warehouse = backend.warehouse(home.path, Scope.root())
    try:
        with pytest.raises(ValueError):
            log_rows(warehouse, LogFilter(Period.days(FIRST_DAY, LAST_DAY)), sort="ts; DROP TABLE x")
    finally:
        warehouse.close()


def export(at: AppTest) -> str:
    """Prepare the export as the page does and return the ticket from its download link."""
    at.button(key="logs_export").click().run()
    [link] = at.get("link_button")
    return link.proto.url.rsplit("/", 1)[1]


def test_csv_export_holds_the_whole_filtered_result_with_formulas_neutralised(monkeypatch: pytest.MonkeyPatch) -> None:
    at = logs_as("alice", monkeypatch)
    ticket = export(at)
    taken = exports.take(ticket, at.session_state[TOKEN])
    token = at.session_state[TOKEN]
    assert taken is not None and exports.take(ticket, token) is None, "a ticket works once"
    body = b"".join(exports.csv_stream(taken)).decode()
    rows = list(csv.DictReader(io.StringIO(body)))
    assert list(rows[0]) == list(EXPORT_COLUMNS)
    assert len(rows) == 5 and {r["sender"] for r in rows} == {ALICE_SENDER}
    formula = next(r for r in rows if "calc" in r["response"])
    assert formula["recipient"] == "'-2+3@example.net"
    assert formula["response"].startswith("'=cmd")


def test_csv_export_of_a_large_result_streams_in_several_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    at = logs_as("root", monkeypatch)
    count = total(at)
    taken = exports.take(export(at), at.session_state[TOKEN])
    assert taken is not None
    chunks = list(exports.csv_stream(taken))
    assert sum(chunk.count(b"\n") for chunk in chunks) - 1 >= count  # replies may hold no newline: >=


def test_csv_export_follows_the_filters_and_refuses_a_closed_session(monkeypatch: pytest.MonkeyPatch) -> None:
    at = apply(logs_as("alice", monkeypatch), statuses=["bounced"])
    taken = exports.take(export(at), at.session_state[TOKEN])
    assert taken is not None
    rows = list(csv.DictReader(io.StringIO(b"".join(exports.csv_stream(taken)).decode())))
    assert {r["status"] for r in rows} == {"bounced"} and len(rows) == 2
    again = exports.take(export(at), at.session_state[TOKEN])
    logout(backend.store(demo_home().path), at.session_state[TOKEN])
    assert again is not None and exports.csv_stream(again) is None


def test_an_empty_export_still_has_its_header(monkeypatch: pytest.MonkeyPatch) -> None:
    at = apply(logs_as("alice", monkeypatch), recipient="no such recipient")
    ticket = exports.issue(
        demo_home().path,
        at.session_state[TOKEN],
        LogFilter(Period.days(FIRST_DAY, LAST_DAY), recipient="no such recipient"),
        sort="ts",
        descending=True,
    )
    taken = exports.take(ticket, at.session_state[TOKEN])
    body = b"".join(exports.csv_stream(taken)).decode()  # type: ignore[arg-type]
    assert body.splitlines() == [",".join(EXPORT_COLUMNS)]


def test_tickets_expire() -> None:
    flt = LogFilter(Period.days(FIRST_DAY, LAST_DAY))
    ticket = exports.issue(demo_home().path, "t" * 43, flt, sort="ts", descending=True, now=1000.0)
    assert exports.pending(ticket, now=1000.0 + exports.TICKET_TTL - 1)
    assert exports.take(ticket, "t" * 43, now=1000.0 + exports.TICKET_TTL + 1) is None


def test_an_export_ticket_is_neither_used_nor_spent_by_another_session() -> None:
    flt = LogFilter(Period.days(FIRST_DAY, LAST_DAY))
    ticket = exports.issue(demo_home().path, "t" * 43, flt, sort="ts", descending=True)
    assert exports.take(ticket, "s" * 43) is None
    assert exports.take(ticket, "") is None
    assert exports.take(ticket, "t" * 43) is not None, "the owner's browser still gets its export"


def test_one_row_is_one_delivery_attempt_and_an_empty_result_shows_no_range(monkeypatch: pytest.MonkeyPatch) -> None:
    at = apply(logs_as("alice", monkeypatch), recipient_domain="example.net")
    assert "1 delivery attempt matches; row 1 shown." in texts(at.caption)
    assert any(b.label == "Export 1 row as CSV" for b in at.button)
    at = apply(at, recipient_domain="no-such-domain.example")
    captions = texts(at.caption)
    assert "No delivery attempt matches." in captions
    assert not [c for c in captions if "0-0" in c or "rows" in c]


def test_an_empty_sasl_login_is_blank_not_none(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = table(logs_as("root", monkeypatch))
    logins = rows["sasl_username"].tolist()
    assert "" in logins and not [v for v in logins if v is None or pd.isna(v)]


def test_a_custom_period_to_the_hour_narrows_the_rows_and_is_in_the_url(monkeypatch: pytest.MonkeyPatch) -> None:
    busy = date(2026, 11, 22)  # a day with traffic in the morning and in the evening
    at = choose_days(logs_as("root", monkeypatch), busy, busy)
    whole = total(at)
    at.selectbox(key="period_from_hour").set_value(17).run()
    at = at.selectbox(key="period_to_hour").set_value(18).run()
    narrowed = total(at)
    assert 0 < narrowed < whole
    assert at.query_params["hours"] == "17,18"
    assert at.query_params["days"] == "2026-11-22,2026-11-22"
    period = Period(datetime(2026, 11, 22, 17, tzinfo=UTC), datetime(2026, 11, 22, 18, tzinfo=UTC))
    assert narrowed == len(log_rows(backend.warehouse(demo_home().path, Scope.root()), LogFilter(period), limit=10_000))


def test_an_hours_url_sets_the_custom_period(monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_app(demo_home(), "root", monkeypatch)
    at.query_params["days"] = f"{FIRST_DAY.isoformat()},{LAST_DAY.isoformat()}"
    at.query_params["hours"] = "10,12"
    at = goto(at, "logs.py")
    assert at.selectbox(key="period_from_hour").value == 10
    assert at.selectbox(key="period_to_hour").value == 12


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    user=st.sampled_from(["root", "alice"]),
    descending=st.booleans(),
    limit=st.integers(1, 120),
    offset=st.integers(0, 1700),
    status=st.sampled_from([(), ("sent",), ("deferred", "bounced")]),
)
def test_a_page_sorted_by_time_is_the_same_slice_of_the_whole_ordered_result(user, descending, limit, offset, status):
    """The time sort narrows its page query to the rows reaching the page's last time (many rows share a
    second in the demo, so pages end inside ties): each page must still be that slice of the whole result."""
    scope = Scope.root() if user == "root" else Scope(senders=frozenset({ALICE_SENDER}))
    warehouse = backend.warehouse(demo_home().path, scope)
    try:
        flt = LogFilter(Period.days(FIRST_DAY, LAST_DAY), statuses=status)
        page = log_rows(warehouse, flt, sort="ts", descending=descending, limit=limit, offset=offset)
        where, params = flt.where()
        sql = f"SELECT ts, message_key, recipient, status FROM deliveries WHERE {where}"
        whole = warehouse.query(sql, {k: v for k, v in params.items() if f"${k}" in sql})
        whole = whole.sort(["ts", "message_key", "recipient"], descending=[descending, False, False], nulls_last=True)
        # the same order as the page's (time, then message and recipient), rows of equal keys in any order
        keys = ["ts", "message_key", "recipient", "status"]
        assert page.select(keys).sort(keys).equals(whole.slice(offset, limit).select(keys).sort(keys))
    finally:
        warehouse.close()
