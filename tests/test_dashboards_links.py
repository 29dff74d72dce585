"""Issue 16: deep links survive sign-in, the Logs' choices live in the URL, rejects on the Logs page,
honest figures (nothing delivered is not a green 0 %, no data is not OK, an empty period says where the
data is)."""

from __future__ import annotations

import json
import re
from datetime import date

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from acl import Scope, local_operator, open_store, user_add, user_grant
from dashboards import backend, charts
from dashboards.auth import TARGET
from reports import UserSettings, save_settings
from tests.test_dashboards_auth import sign_in
from tests.test_dashboards_data import PASSWORD, copy_home, demo_home, goto, open_app, texts
from tests.test_dashboards_logs import apply, table, total
from tests.test_dashboards_pages import alice_message_key, frame, page_as
from warehouse import LogFilter, Period, newest, overview, reject_histogram, reject_rows

WEEK = {"days": "2026-11-19,2026-11-26"}


def logs_with(user: str, query: dict[str, str | list[str]], monkeypatch: pytest.MonkeyPatch) -> AppTest:
    """The Logs opened from a URL with this query, in a new browser session of `user`."""
    at = open_app(demo_home(), user, monkeypatch)
    at.query_params.update(query)
    return goto(at, "logs.py")


# ---------------------------------------------------------------- deep links


def test_after_sign_in_a_deep_link_lands_on_its_page_with_its_query(monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_app(demo_home(), None, monkeypatch)
    at.session_state[TARGET] = ("message", {"key": [alice_message_key()]})  # what a signed-out visit keeps
    sign_in(at, "alice", PASSWORD)
    assert not at.exception
    assert texts(at.title) == ["Message detail"]
    assert at.query_params["key"] == alice_message_key()
    assert "4A1B2C3D4E: removed" in at.code[0].value


def test_a_deep_link_to_a_page_outside_the_role_opens_the_overview(monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_app(demo_home(), None, monkeypatch)
    at.session_state[TARGET] = ("admin", {})
    sign_in(at, "alice", PASSWORD)
    assert texts(at.title) == ["Overview"]


# ---------------------------------------------------------------- Logs choices in the URL


def test_the_logs_filters_and_period_go_into_the_url(monkeypatch: pytest.MonkeyPatch) -> None:
    at = logs_with("alice", WEEK, monkeypatch)
    apply(at, statuses=["bounced"], recipient_domain="gmail.com")
    assert at.query_params == {"days": "2026-11-19,2026-11-26", "status": "bounced", "recipient_domain": "gmail.com"}
    at.selectbox(key="logs_sort").set_value("recipient").run()
    assert at.query_params["sort"] == "recipient"


def test_a_shared_logs_url_shows_the_same_rows_in_another_session(monkeypatch: pytest.MonkeyPatch) -> None:
    first = logs_with("alice", WEEK, monkeypatch)
    apply(first, statuses=["bounced", "deferred"])
    shared = dict(first.query_params)
    other = logs_with("alice", shared, monkeypatch)
    assert not other.exception
    assert other.multiselect(key="lf_statuses").value == ["bounced", "deferred"]
    assert total(other) == total(first) == 3
    assert table(other)["recipient"].tolist() == table(first)["recipient"].tolist()


def test_a_url_with_a_sliding_period_and_order_is_adopted(monkeypatch: pytest.MonkeyPatch) -> None:
    at = logs_with("bob", {"period": "30d", "order": "asc", "sort": "recipient"}, monkeypatch)
    assert at.selectbox(key="period_preset").value == "30d"
    assert at.segmented_control(key="logs_desc").value is False
    assert at.selectbox(key="logs_sort").value == "recipient"


# ---------------------------------------------------------------- rejects


def reject_senders() -> list[str]:
    root = backend.warehouse(demo_home().path, Scope.root())
    try:
        return root.query("SELECT DISTINCT sender FROM rejects WHERE sender <> '' ORDER BY sender")["sender"].to_list()
    finally:
        root.close()


def test_reject_queries_are_scoped_and_paged() -> None:
    sender = reject_senders()[0]
    week = LogFilter(Period.days(date(2026, 11, 19), date(2026, 11, 26)))
    own = backend.warehouse(demo_home().path, Scope(senders=frozenset({sender})))
    root = backend.warehouse(demo_home().path, Scope.root())
    try:
        mine = reject_rows(own, week)
        assert mine.height >= 1 and set(mine["sender"]) == {sender}
        assert int(reject_histogram(own, week)["rejects"].sum()) == mine.height
        everything = int(reject_histogram(root, week)["rejects"].sum())
        assert everything > mine.height
        first, second = reject_rows(root, week, limit=5), reject_rows(root, week, limit=5, offset=5)
        assert first.height == second.height == 5 and first["ts"].is_sorted(descending=True)
        assert first["ts"].min() >= second["ts"].max()
        with pytest.raises(ValueError):
            reject_rows(root, week, sort="delay")
    finally:
        own.close()
        root.close()


def test_the_rejects_kind_shows_only_the_users_rejects(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    sender = reject_senders()[0]
    home = copy_home(tmp_path)  # type: ignore[arg-type]
    store = open_store(home.path / "control.db")
    user_add(store, local_operator("t"), "rita", "user", PASSWORD)
    user_grant(store, local_operator("t"), "rita", "sender", sender)
    store.close()
    at = open_app(home, "rita", monkeypatch)
    at.query_params.update({**WEEK, "kind": "rejects"})
    goto(at, "logs.py")
    assert not at.exception
    assert at.segmented_control(key="logs_kind").value == "rejects"
    rows = table(at)
    assert len(rows) >= 1 and set(rows["sender"]) == {sender} and set(rows["status"]) == {"reject"}
    assert any(re.search("rejects? match", c) for c in texts(at.caption))
    alice = logs_with("alice", {**WEEK, "kind": "rejects"}, monkeypatch)
    assert table(alice).empty


# ---------------------------------------------------------------- honest figures


def test_nothing_delivered_is_flagged_not_a_green_zero(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    """root@gw1.example's only attempt was deferred: 100 % deferred, 0 sent, 0.00 % hard errors."""
    wh = backend.warehouse(demo_home().path, Scope(senders=frozenset({"root@gw1.example"})))
    try:
        data = overview(wh, Period.days(date(2026, 11, 19), date(2026, 11, 26)), soft_is_error=False)
    finally:
        wh.close()
    row = data.top_domains.row(0, named=True)
    assert (row["attempts"], row["sent"], row["deferred"], row["error_rate"]) == (1, 0, 1, 0.0)
    assert charts.level(0.0, 5, 10, undelivered=True) == "critical"
    assert charts.level(None, 5, 10) == "none"
    styled = charts.coloured(data.top_domains, "error_rate", 5, 10, language="en").to_html()
    assert charts.LEVEL_COLOURS["critical"] in styled and charts.LEVEL_COLOURS["ok"] not in styled

    home = copy_home(tmp_path)  # type: ignore[arg-type]
    store = open_store(home.path / "control.db")
    user_add(store, local_operator("t"), "ops2", "user", PASSWORD)
    user_grant(store, local_operator("t"), "ops2", "sender", "root@gw1.example")
    store.close()
    at = page_as("ops2", "overview.py", monkeypatch, home)
    assert ":red-badge[Nothing delivered]" in texts(at.markdown)
    domains = frame(at, "recipient_domain")
    assert domains.filter(pl.col("recipient_domain") == "example.net")["note"].to_list() == ["Nothing delivered"]


def test_no_data_is_not_ok_and_the_empty_period_points_to_the_newest_data(monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_app(demo_home(), "alice", monkeypatch)  # default Last 24 hours: the data is older
    assert ":gray-badge[No data]" in texts(at.markdown)
    assert ":green-badge[OK]" not in texts(at.markdown)
    assert any("11/25/2026 12:00 UTC" in i for i in texts(at.info))
    at.button(key="show_newest_deliveries").click().run()
    assert at.selectbox(key="period_preset").value == "custom"
    assert at.metric[0].value == "5"
    logs = goto(at, "logs.py")
    assert total(logs) == 5, "the chosen days follow the person to the Logs"


def test_newest_is_scoped() -> None:
    nobody = backend.warehouse(demo_home().path, Scope(senders=frozenset({"no-one@nowhere.example"})))
    try:
        assert newest(nobody) is None
        with pytest.raises(ValueError):
            newest(nobody, "lines")
    finally:
        nobody.close()


# ---------------------------------------------------------------- drill-down, French charts


def test_overview_counts_link_to_the_matching_logs(monkeypatch: pytest.MonkeyPatch) -> None:
    at = page_as("alice", "overview.py", monkeypatch)
    targets = {link.proto.query_string for link in at.get("page_link")}
    assert targets == {f"days=2026-11-19%2C2026-11-26&status={s}" for s in ("sent", "deferred", "bounced")}
    assert {link.proto.page for link in at.get("page_link")} == {"logs"}
    logs = logs_with("alice", {**WEEK, "status": "bounced"}, monkeypatch)
    assert total(logs) == 2 and set(table(logs)["status"]) == {"Bounced"}


def test_charts_speak_french(tmp_path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    home = copy_home(tmp_path)  # type: ignore[arg-type]
    save_settings(home.path, "bob", UserSettings(language="fr"))
    at = page_as("bob", "overview.py", monkeypatch, home)
    [chart] = at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")
    spec = json.loads(chart.proto.spec)
    colour = spec["encoding"]["color"]
    assert set(colour["scale"]["domain"]) <= {"Envoyés", "Différés", "Rebondis", "Expirés"}
    assert "Rebondis" in colour["scale"]["domain"]
    assert spec["encoding"]["y"]["title"] == "Tentatives" and spec["encoding"]["x"]["title"] == "Heure (UTC)"
    attempts = next(m.value for m in at.metric if m.label == "Tentatives")
    assert "\u202f" in attempts or int(attempts) < 1000, "French thousands separator"
