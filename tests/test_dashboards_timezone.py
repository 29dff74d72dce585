"""The time-zone preference: checked with zoneinfo, chosen on the Account page, and the times of the Logs,
Message and Queue pages shown in it (the lake and the period in the URL stay UTC)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from acl import Scope
from dashboards import backend
from reports import UserSettings, load_settings, save_settings, settings_path
from tests.test_dashboards_data import ALICE_SENDER, copy_home, demo_home, texts
from tests.test_dashboards_pages import frame, page_as

PARIS = ZoneInfo("Europe/Paris")


@pytest.mark.parametrize("bad", ["Mars/Olympus", "europe/paris", "../../etc/passwd", "/etc/localtime", "UTC+2"])
def test_an_unknown_zone_is_refused_and_the_browsers_is_used(tmp_path: Path, bad: str) -> None:
    assert UserSettings(timezone=bad).checked().timezone == ""
    settings_path(tmp_path, "alice").parent.mkdir(parents=True)
    settings_path(tmp_path, "alice").write_text(json.dumps({"timezone": bad, "language": "fr"}))
    assert load_settings(tmp_path, "alice") == UserSettings(language="fr"), "the rest of a hand-edited file kept"
    save_settings(tmp_path, "alice", UserSettings(timezone=bad))
    assert json.loads(settings_path(tmp_path, "alice").read_text())["timezone"] == ""


def test_a_known_zone_is_kept(tmp_path: Path) -> None:
    save_settings(tmp_path, "alice", UserSettings(timezone="America/New_York"))
    assert load_settings(tmp_path, "alice").timezone == "America/New_York"
    assert UserSettings(timezone="UTC").checked().timezone == "UTC"


def alice_message() -> dict[str, object]:
    warehouse = backend.warehouse(demo_home().path, Scope.root())
    try:
        return warehouse.query(
            "SELECT message_key, first_ts FROM messages WHERE queue_id = '4A1B2C3D4E' AND sender = $s",
            {"s": ALICE_SENDER},
        ).row(0, named=True)
    finally:
        warehouse.close()


def test_the_message_page_shows_paris_times(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = copy_home(tmp_path)
    save_settings(home.path, "alice", UserSettings(timezone="Europe/Paris"))
    message = alice_message()
    at = page_as("alice", "message.py", monkeypatch, home)
    at.query_params["key"] = message["message_key"]
    at.run()
    assert not at.exception
    first = message["first_ts"]
    assert isinstance(first, datetime)
    facts = frame(at, "field")
    shown = dict(zip(facts["field"], facts["value"], strict=True))["First seen"]
    paris = first.astimezone(PARIS)
    assert shown == f"{paris:%-m/%-d/%Y %H:%M:%S} Europe/Paris"
    assert paris.utcoffset() != first.utcoffset(), "not the UTC time"
    timeline = frame(at, "ts")
    assert timeline.schema["ts"] == pl.Datetime("us", "Europe/Paris")
    assert timeline["ts"][0] == paris
    [grid] = [d for d in at.dataframe if list(d.value.columns[:1]) == ["ts"]]
    column = json.loads(grid.proto.columns)["ts"]
    assert column["label"] == "Time (Europe/Paris)" and column["type_config"]["timezone"] == "Europe/Paris"


def test_logs_times_and_the_chart_are_in_the_zone_and_the_days_say_utc(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = copy_home(tmp_path)
    save_settings(home.path, "alice", UserSettings(timezone="America/New_York", language="fr"))
    at = page_as("alice", "logs.py", monkeypatch, home)
    assert not at.exception
    grid = frame(at, "ts")
    assert grid.height and grid.schema["ts"] == pl.Datetime("us", "America/New_York")
    [chart] = at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")
    spec = json.loads(chart.proto.spec)
    assert spec["encoding"]["x"]["title"] == "Heure (America/New_York)"
    assert spec["encoding"]["x"]["scale"]["type"] == "utc"
    assert any("sont en UTC" in c and "America/New_York" in c for c in texts(at.caption))


def test_the_zone_is_chosen_on_the_account_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = copy_home(tmp_path)
    at = page_as("alice", "account.py", monkeypatch, home)
    zone = at.selectbox(key="pref_timezone")
    assert zone.value == "" and zone.format_func("") == "The browser's (UTC)", "AppTest's browser names none"
    assert "Europe/Paris" in zone.options and "America/New_York" in zone.options
    zone.set_value("Europe/Paris")
    at.button(key="pref_save").click().run()
    assert texts(at.success) == ["Saved."]
    assert load_settings(home.path, "alice").timezone == "Europe/Paris"
    assert at.selectbox(key="pref_timezone").value == "Europe/Paris"
