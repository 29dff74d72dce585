"""Overview, Message detail, Bounces, Reputation, Queue, Account and Admin pages, each within its scope."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from acl import Scope, audit_entries, get_user, local_operator, open_store, user_grant
from dashboards import backend, charts
from ingest.queue import QUEUE_SCHEMA
from reports import load_settings, report_settings, settings_path
from tests.test_dashboards_data import (
    ALICE_SENDER,
    PASSWORD,
    choose_days,
    copy_home,
    demo_home,
    goto,
    open_app,
    texts,
)
from warehouse import Period, queue
from warehouse.lake import Lake
from warehouse.views import Warehouse


def page_as(user: str, script: str, monkeypatch: pytest.MonkeyPatch, home: object = None) -> AppTest:
    at = open_app(home or demo_home(), user, monkeypatch)  # type: ignore[arg-type]
    return goto(choose_days(at), script)


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def frame(at: AppTest, first_column: str) -> pl.DataFrame:
    """The table of the page whose first column is `first_column` (tables without selection have no key)."""
    [found] = [d.value for d in at.dataframe if list(d.value.columns[:1]) == [first_column]]
    return pl.from_pandas(found)


# ---------------------------------------------------------------- Overview


def test_overview_counts_only_the_users_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    at = page_as("alice", "overview.py", monkeypatch)
    assert not at.exception
    assert metrics(at) == {
        "Attempts": "5",
        "Sent": "2",
        "Deferred": "1",
        "Bounced": "2",
        "Expired": "0",
        "Error rate": "40.00%",
        "Complaints": "0",
        "Per 1,000 delivered": "0.000",
    }
    assert frame(at, "sender")["sender"].to_list() == [ALICE_SENDER]
    assert set(frame(at, "recipient_domain")["recipient_domain"]) == {"gmail.com", "orange.fr", "example.net"}
    assert frame(at, "gateway")["gateway"].to_list() == ["gw1"]
    assert texts(at.markdown) == [":red-badge[Critical]"]


def test_overview_of_another_user_and_of_root(monkeypatch: pytest.MonkeyPatch) -> None:
    home = demo_home()
    bob = page_as("bob", "overview.py", monkeypatch)
    assert frame(bob, "sender")["sender"].to_list() == [home.bob_sender]
    assert frame(bob, "gateway")["gateway"].to_list() == ["gw2"]
    root = page_as("root", "overview.py", monkeypatch)
    assert set(frame(root, "gateway")["gateway"]) == {"gw1", "gw2"}
    assert int(metrics(root)["Attempts"].replace(",", "")) > int(metrics(bob)["Attempts"].replace(",", ""))


def test_overview_without_grant_shows_no_data(monkeypatch: pytest.MonkeyPatch) -> None:
    at = page_as("nobody", "overview.py", monkeypatch)
    assert metrics(at)["Attempts"] == "0"
    assert texts(at.info) == ["No delivery in this period for what you may see."]
    assert not at.dataframe


def test_the_users_setting_decides_whether_soft_failures_are_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = copy_home(tmp_path)
    at = page_as("alice", "account.py", monkeypatch, home)
    at.toggle(key="pref_soft").set_value(True)
    at.button(key="pref_save").click().run()
    assert load_settings(home.path, "alice").soft_is_error
    goto(at, "overview.py")
    assert metrics(at)["Error rate"] == "60.00%"
    assert texts(at.caption)[0].startswith("Error rate: permanent and temporary failures / delivery attempts")


def test_overview_refreshes_itself_unless_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    at = page_as("alice", "overview.py", monkeypatch)
    assert at.toggle(key="overview_auto").label == "Refresh every 60 s"
    at.toggle(key="overview_auto").set_value(False).run()
    assert not at.exception and metrics(at)["Attempts"] == "5"


# ---------------------------------------------------------------- Message detail


def alice_message_key() -> str:
    warehouse = backend.warehouse(demo_home().path, Scope.root())
    try:
        return warehouse.query(
            "SELECT message_key FROM messages WHERE queue_id = '4A1B2C3D4E' AND sender = $s", {"s": ALICE_SENDER}
        )["message_key"][0]
    finally:
        warehouse.close()


def test_message_search_by_queue_id_opens_the_only_message_in_scope(monkeypatch: pytest.MonkeyPatch) -> None:
    at = page_as("alice", "message.py", monkeypatch)
    at.text_input(key="message_search").set_value("4a1b2c3d4e")
    at.button(key="message_find").click().run()
    assert not at.exception
    assert at.query_params["key"] == alice_message_key()
    timeline = frame(at, "ts")
    assert timeline["event"].to_list() == ["received", "attempt", "attempt", "attempt", "ndr", "attempt", "removed"]
    carol = timeline.filter(pl.col("recipient") == "carol@orange.fr")
    assert carol["attempt"].to_list() == [1, 2] and carol["status"].to_list() == ["Deferred", "Sent"]  # named
    assert timeline["ts"].is_sorted()
    unknown = timeline.filter(pl.col("recipient") == "nobody@gmail.com").row(0, named=True)
    assert (unknown["qualification"], unknown["reason"]) == ("hard (permanent)", "user unknown") and unknown["rule"]
    recipients = frame(at, "recipient")
    assert dict(zip(recipients["recipient"], recipients["attempts"], strict=True))["carol@orange.fr"] == 2
    [code] = at.code
    lines = code.value.splitlines()
    assert "4A1B2C3D4E: client=" in lines[0] and lines[-1].endswith("4A1B2C3D4E: removed")
    assert "A non-delivery notice (5B2C3D4E5F) went back to the sender." in texts(at.caption)
    assert "message_ndr" not in [b.key for b in at.button], "alice may not open the notice (null sender)"
    assert code.proto.language == "plaintext", "raw lines are plain text, not highlighted code"


def test_a_message_outside_the_scope_is_not_found(monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_app(demo_home(), "bob", monkeypatch)
    at.query_params["key"] = alice_message_key()
    goto(at, "message.py")
    assert texts(at.warning) == ["No such message among those you may see."]
    assert not at.code
    at.text_input(key="message_search").set_value("4A1B2C3D4E")
    at.button(key="message_find").click().run()
    assert "No such message among those you may see." in texts(at.warning)


def test_the_ndr_link_leads_to_the_notice_and_back(monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_app(demo_home(), "root", monkeypatch)
    at.query_params["key"] = alice_message_key()
    goto(at, "message.py")
    at.button(key="message_ndr").click().run()
    assert at.query_params["key"] != alice_message_key()
    facts = dict(frame(at, "field").iter_rows())
    assert facts["Sender"] == "<>"
    at.button(key="message_original").click().run()
    assert at.query_params["key"] == alice_message_key()


# ---------------------------------------------------------------- Bounces and Reputation


def test_bounces_of_a_user_stay_within_its_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    at = page_as("alice", "bounces.py", monkeypatch)
    assert not at.exception
    domains = frame(at, "recipient_domain")
    assert set(domains["recipient_domain"]) == {"gmail.com", "orange.fr", "example.net"}
    matrix = frame(at, "qualification")
    assert set(matrix.iter_rows()) == {  # codes named as the legends name them
        ("hard (permanent)", "user unknown", 1),
        ("soft (temporary)", "reputation", 1),
        ("hard (permanent)", "policy", 1),
    }
    assert frame(at, "recipient").is_empty()


def test_bounces_list_unknown_recipients_seen_in_several_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    at = page_as("root", "bounces.py", monkeypatch)
    unknown = frame(at, "recipient")
    assert unknown.height and (unknown["messages"] >= 2).all()
    providers = frame(at, "provider")
    assert providers["failures"].sum() > 0


def test_reputation_is_per_gateway_and_provider_within_the_admins_grants(monkeypatch: pytest.MonkeyPatch) -> None:
    ops = page_as("ops", "reputation.py", monkeypatch)
    assert not ops.exception
    table = frame(ops, "gateway")
    assert set(table["gateway"]) == {"gw2"}
    assert {"reputation", "rate_limited", "policy", "accepted_rate", "deferred_rate", "rejected_rate"} <= set(
        table.columns
    )
    assert ((table["accepted_rate"] + table["deferred_rate"] + table["rejected_rate"]) - 100).abs().max() < 0.1
    root = page_as("root", "reputation.py", monkeypatch)
    assert set(frame(root, "gateway")["gateway"]) == {"gw1", "gw2"}


# ---------------------------------------------------------------- Queue


def test_queue_page_says_when_there_are_no_snapshots(monkeypatch: pytest.MonkeyPatch) -> None:
    at = page_as("root", "mailqueue.py", monkeypatch)
    assert not at.exception
    assert texts(at.info) == ["No queue snapshots yet: the gateways' queues have not been collected."]


def queue_rows(snapshot: datetime, rows: list[tuple]) -> pl.DataFrame:
    """One `postqueue -j` snapshot in the collectors' schema: (queue_id, arrival, size, recipients, reasons)."""
    return pl.DataFrame(
        [
            (snapshot, "gw1", "deferred", qid, arrival, size, "a@x.example", rcpts, reasons)
            for qid, arrival, size, rcpts, reasons in rows
        ],
        schema=QUEUE_SCHEMA,
        orient="row",
    )


def test_queue_view_newest_snapshot_grouped_reasons_and_history(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    snap1, snap2, snap3 = (datetime(2026, 11, 24, h, tzinfo=UTC) for h in (10, 11, 12))
    early, later = datetime(2026, 11, 24, 8, tzinfo=UTC), datetime(2026, 11, 24, 10, tzinfo=UTC)
    lake.commit_queue("gw1", queue_rows(snap1, [("A1", early, 100, ["r1@orange.fr"], ["421 busy"])]))
    lake.commit_queue(
        "gw1",
        queue_rows(
            snap2,
            [
                (
                    "A1",
                    early,
                    100,
                    ["r1@orange.fr"],
                    ["connect to mx1.orange.fr[193.252.22.1]:25: Connection timed out"],
                ),
                (
                    "B2",
                    later,
                    200,
                    ["r2@orange.fr", "r3@free.fr"],
                    ["connect to mx1.orange.fr[193.252.22.2]:25: Connection timed out", None],
                ),
                ("C3", later, 300, ["r4@free.fr"], ["421 busy"]),
            ],
        ),
    )
    period = Period(datetime(2026, 11, 24, tzinfo=UTC), datetime(2026, 11, 25, tzinfo=UTC))
    data = queue(Warehouse(lake, Scope.root()), period)
    summary = data.summary.row(0, named=True)
    assert (summary["messages"], summary["recipients"], summary["bytes"]) == (3, 4, 600)
    assert summary["oldest_hours"] == 3.0
    reasons = dict(zip(data.reasons["reason"], data.reasons["recipients"], strict=True))
    assert reasons == {"connect to mx1.orange.fr[...]:25: Connection timed out": 2, "421 busy": 1}
    assert data.history["messages"].to_list() == [1, 3]
    lake.commit_queue("gw1", queue_rows(snap3, []), at=snap3)
    emptied = queue(Warehouse(lake, Scope.root()), period)
    assert emptied.summary.height == 0, "the newest snapshot is empty: nothing is queued now"
    assert emptied.history["messages"].to_list() == [1, 3, 0]


# ---------------------------------------------------------------- Account


def test_account_settings_are_saved_per_user_and_the_language_applies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = copy_home(tmp_path)
    at = page_as("alice", "account.py", monkeypatch, home)
    assert frame(at, "Grants").to_series().to_list() == [f"sender:{ALICE_SENDER}"]
    at.selectbox(key="pref_language").set_value("fr")
    at.number_input(key="pref_warn").set_value(1.0)
    at.number_input(key="pref_critical").set_value(2.0)
    at.selectbox(key="pref_refresh").set_value(0)
    at.button(key="pref_save").click().run()
    assert texts(at.title) == ["Compte"] and texts(at.success) == ["Enregistré."]
    at.selectbox(key="pref_report_frequency").set_value("daily")
    at.number_input(key="pref_report_hour").set_value(9)
    at.text_input(key="pref_report_timezone").set_value("Europe/Paris")
    at.button(key="report_save").click().run()
    saved = json.loads(settings_path(home.path, "alice").read_text())
    assert saved["language"] == "fr" and saved["warn_rate"] == 1.0 and saved["refresh_seconds"] == 0
    report = report_settings(home.path, "alice")
    assert (report.frequency, report.hour, report.timezone) == ("daily", 9, "Europe/Paris")
    assert at.text_area(key="pref_report_recipients").disabled  # a user may not add recipients
    goto(at, "overview.py")
    assert texts(at.title) == ["Vue d'ensemble"] and not at.toggle
    assert not settings_path(home.path, "bob").exists()


def test_thresholds_must_be_ordered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = copy_home(tmp_path)
    at = page_as("alice", "account.py", monkeypatch, home)
    at.number_input(key="pref_warn").set_value(20.0)
    at.number_input(key="pref_critical").set_value(10.0)
    at.button(key="pref_save").click().run()
    assert texts(at.error) == ["The critical threshold must not be below the warning one."]
    assert not settings_path(home.path, "alice").exists()


def test_password_change_needs_the_current_one_and_signs_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = copy_home(tmp_path)
    at = page_as("alice", "account.py", monkeypatch, home)
    new = "another long passphrase"
    for current, expected in (("wrong current pw", ["The current password is wrong."]), (PASSWORD, [])):
        at.text_input(key="pw_current").set_value(current)
        at.text_input(key="pw_new").set_value(new)
        at.text_input(key="pw_again").set_value(new)
        at.button(key="pw_submit").click().run()
        assert texts(at.error) == expected
    assert texts(at.info) == ["Password changed: sign in with the new one."]
    at.text_input(key="signin_name").set_value("alice")
    at.text_input(key="signin_password").set_value(new)
    at.button(key="signin_submit").click().run()
    assert texts(at.title) == ["Account"], "signing in again returns to the page it was asked on"


# ---------------------------------------------------------------- Admin


def test_root_manages_accounts_and_grants_and_reads_the_audit_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = copy_home(tmp_path)
    at = open_app(home, "root", monkeypatch)
    goto(at, "admin.py")
    assert not at.exception
    assert {"root", "ops", "alice", "bob", "nobody", "gwbot"} <= set(frame(at, "name")["name"])
    at.text_input(key="admin_new_name").set_value("dave")
    at.selectbox(key="admin_new_role").set_value("user")
    at.text_input(key="admin_new_password").set_value(PASSWORD)
    at.button(key="admin_add_submit").click().run()
    assert texts(at.success) == ["Done."]
    at.selectbox(key="admin_user").set_value("dave").run()
    at.selectbox(key="admin_grant_kind").set_value("domain")
    at.text_input(key="admin_grant_value").set_value("Customer.example")
    at.button(key="admin_grant_submit").click().run()
    store = open_store(home.path / "control.db")
    assert [g.describe() for g in get_user(store, "dave").grants] == ["domain:customer.example"]
    at.selectbox(key="admin_user").set_value("dave").run()
    at.button(key="admin_revoke_0").click().run()
    assert get_user(store, "dave").grants == ()
    at.selectbox(key="admin_user").set_value("dave").run()
    at.selectbox(key="admin_grant_kind").set_value("gateway")
    at.text_input(key="admin_grant_value").set_value("*")
    at.button(key="admin_grant_submit").click().run()
    assert any("only root may grant every gateway" in e for e in texts(at.error))
    audit = frame(at, "id")
    assert audit["action"].to_list()[:3] == ["user_revoke", "user_grant", "user_add"]
    assert set(audit["actor"].head(3)) == {"root"}


def test_an_admin_grants_its_customers_within_its_own_grants_and_nothing_else(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = copy_home(tmp_path)
    store = open_store(home.path / "control.db")
    bob_domain = home.bob_sender.rpartition("@")[2]
    user_grant(store, local_operator("tests"), "ops", "domain", bob_domain)
    at = open_app(home, "ops", monkeypatch)
    goto(at, "admin.py")
    assert not at.exception
    assert frame(at, "name")["name"].to_list() == ["bob"], "only the accounts it shares a grant with"
    keys = {w.key for w in at.main.button} | {w.key for w in at.main.text_input} | {w.key for w in at.main.selectbox}
    assert not keys & {"admin_new_name", "admin_role_value", "admin_password_value", "admin_toggle_disabled"}
    assert not [d for d in at.dataframe if d.key == "admin_audit"]

    at.selectbox(key="admin_user").set_value("bob").run()
    at.selectbox(key="admin_grant_kind").set_value("domain")
    at.text_input(key="admin_grant_value").set_value(bob_domain.upper())
    at.button(key="admin_grant_submit").click().run()
    assert texts(at.success) == ["Done."]
    assert f"domain:{bob_domain}" in [g.describe() for g in get_user(store, "bob").grants]

    at.selectbox(key="admin_user").set_value("bob").run()
    at.selectbox(key="admin_grant_kind").set_value("sender")
    at.text_input(key="admin_grant_value").set_value(ALICE_SENDER)
    at.button(key="admin_grant_submit").click().run()
    assert any("outside your own grants" in e for e in texts(at.error))
    assert f"sender:{ALICE_SENDER}" not in [g.describe() for g in get_user(store, "bob").grants]

    entries = audit_entries(store, local_operator("tests"))
    assert (entries[-1].actor, entries[-1].action, entries[-1].target) == ("ops", "user_grant", "bob")


def test_the_report_preview_is_an_iframe_of_a_sanitised_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = copy_home(tmp_path)
    at = page_as("alice", "account.py", monkeypatch, home)
    at.button(key="report_preview").click().run()
    assert not at.exception
    preview = (home.path / "previews" / "alice.html").read_text(encoding="utf-8")
    assert "<script" not in preview and not re.search(r"<[^>]+\son[a-z]+=", preview)
    assert "Deliverability report" in preview and at.get("iframe")
    at = page_as("nobody", "account.py", monkeypatch, home)
    at.button(key="report_preview").click().run()
    assert "no grant" in " ".join(texts(at.info))


def test_the_reasons_by_provider_chart_gives_each_provider_a_bar_of_its_own_height() -> None:
    frame = pl.DataFrame(
        {"provider": [f"p{i}" for i in range(10)], "reason": ["user_unknown"] * 10, "attempts": list(range(10))}
    )
    spec = charts.reasons_by(
        frame, category="provider", reason="reason", value="attempts", x_title="x", y_title="y", language="en"
    ).to_dict()
    # the height is the plot's (28 px a bar), not squeezed with the legend and axes into a fitted box
    assert spec["height"] == 280 and spec["autosize"] == {"type": "fit-x", "contains": "padding"}
