"""The Complaints page: each user sees the complaints about their own traffic only, with rates and the
detail of a report linked to its message."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from acl import Scope
from relaywatch.fblgen import seed_complaints
from reports import UserSettings, save_settings
from tests.test_dashboards_data import ALICE_SENDER, DemoHome, choose_days, copy_home, goto, open_app
from warehouse import complaint_detail
from warehouse.lake import Lake
from warehouse.views import Warehouse


@pytest.fixture
def home(tmp_path: Path) -> DemoHome:
    """The dashboards' test home with complaints about two of alice's and three of bob's deliveries."""
    home = copy_home(tmp_path)
    lake = Lake(home.path / "lake")
    wh = Warehouse(lake, Scope.root())
    deliveries = wh.query(
        "(SELECT gateway, queue_id, ts, sender, recipient, message_id FROM deliveries "
        " WHERE sender = $alice AND status = 'sent' ORDER BY ts LIMIT 2) UNION ALL "
        "(SELECT gateway, queue_id, ts, sender, recipient, message_id FROM deliveries "
        " WHERE sender = $bob AND status = 'sent' ORDER BY ts LIMIT 3)",
        {"alice": ALICE_SENDER, "bob": home.bob_sender},
    )
    wh.close()
    assert deliveries.height == 5
    assert seed_complaints(lake, deliveries, seed=1, unparsed=1) == 6
    return home


def page(home: DemoHome, user: str, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201 - AppTest
    at = goto(choose_days(open_app(home, user, monkeypatch)), "complaints.py")
    assert not at.exception, at.exception
    return at


def listed(at) -> pl.DataFrame:  # noqa: ANN001 - AppTest
    [table] = [d.value for d in at.dataframe if "linked_by" in d.value.columns]
    return pl.from_pandas(table)


def test_each_user_sees_only_the_complaints_about_their_own_traffic(
    home: DemoHome, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = listed(page(home, "alice", monkeypatch))
    assert set(alice["sender"]) == {ALICE_SENDER} and alice.height == 2
    bob = listed(page(home, "bob", monkeypatch))
    assert set(bob["sender"]) == {home.bob_sender} and bob.height == 3
    nobody = page(home, "nobody", monkeypatch)
    assert not [d for d in nobody.dataframe if "linked_by" in d.value.columns]
    root = listed(page(home, "root", monkeypatch))
    assert root.height == 5  # the unparsed mail is not a report: not listed, kept aside for root's SQL


def test_the_page_shows_rates_and_the_detail_of_the_selected_report(
    home: DemoHome, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = page(home, "alice", monkeypatch)
    metrics = {m.label: m.value for m in at.metric}
    counted = listed(at)["counted"].sum()
    assert metrics["Complaints"] == str(counted)
    assert counted > 0
    [rates] = [pl.from_pandas(d.value) for d in at.dataframe if "per_thousand" in d.value.columns]
    assert rates["sender"].to_list() == [ALICE_SENDER] and rates["complaints"].to_list() == [counted]
    lake = Lake(home.path / "lake")
    root = Warehouse(lake, Scope.root())
    every = root.query("SELECT report_id, sender FROM complaints")
    alice_id = every.filter(pl.col("sender") == ALICE_SENDER)["report_id"][0]
    bob_id = every.filter(pl.col("sender") == home.bob_sender)["report_id"][0]
    mine = Warehouse(lake, Scope(senders=frozenset({ALICE_SENDER})))
    assert complaint_detail(mine, alice_id)["message_key"]  # linked to the message it is about
    assert complaint_detail(mine, bob_id) is None


def test_the_overview_counts_the_users_complaints(home: DemoHome, monkeypatch: pytest.MonkeyPatch) -> None:
    complaints = listed(page(home, "alice", monkeypatch))["counted"].sum()
    at = goto(choose_days(open_app(home, "alice", monkeypatch)), "overview.py")
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["Complaints"] == str(complaints)


def test_report_times_are_shown_in_the_persons_zone(home: DemoHome, monkeypatch: pytest.MonkeyPatch) -> None:
    save_settings(home.path, "alice", UserSettings(timezone="Asia/Tokyo"))
    at = page(home, "alice", monkeypatch)
    reports = listed(at)
    assert reports.height and reports.schema["arrival_ts"] == pl.Datetime("us", "Asia/Tokyo")
    [grid] = [d for d in at.dataframe if "linked_by" in d.value.columns]
    column = json.loads(grid.proto.columns)["arrival_ts"]
    assert column["label"] == "Time (Asia/Tokyo)" and column["type_config"]["timezone"] == "Asia/Tokyo"
