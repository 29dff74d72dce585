"""The time-zone preference: checked with zoneinfo, chosen on the Account page, and the times of the Logs,
Message pages shown in it, in AppTest and in a real browser living in another zone (the lake and the
period in the URL stay UTC)."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from acl import Scope
from dashboards import backend
from reports import UserSettings, load_settings, save_settings, settings_path
from tests import test_browser
from tests.test_browser import sign_in
from tests.test_dashboards_data import ALICE_SENDER, DemoHome, copy_home, demo_home, texts
from tests.test_dashboards_pages import frame, page_as

PARIS = ZoneInfo("Europe/Paris")
server, browser = test_browser.server, test_browser.browser  # relaywatch serve + Chromium, this module's own


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


def in_browser_zone(browser: Browser, zone: str) -> Page:
    """A page of a new English context whose browser lives in `zone` (what st.context.timezone reports)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US", timezone_id=zone)
    context.set_default_timeout(20_000)
    return context.new_page()


def hour_labels(page: Page) -> list[int]:
    """The hours written on the first chart's time axis (labels "HH:MM")."""
    chart = page.get_by_test_id("stVegaLiteChart").first
    expect(chart.locator("svg text").first).to_be_attached()
    page.wait_for_timeout(500)  # the axis is laid out after the marks
    labels = [t.strip() for t in chart.locator("svg text").all_text_contents()]
    return [int(t[:2]) for t in labels if re.fullmatch(r"\d\d:\d\d", t)]


def header(page: Page, title: str) -> Locator:
    """The Logs grid's column header titled `title` (in the grid's accessible DOM copy of its canvas)."""
    return page.locator('[data-testid="stDataFrame"] [role="columnheader"]').filter(has_text=title)


@pytest.mark.server
def test_a_real_browser_draws_the_chart_and_grid_in_the_chosen_zone_not_its_own(
    server: tuple[str, DemoHome], browser: Browser
) -> None:
    base, home = server
    save_settings(home.path, "root", UserSettings(timezone="America/New_York"))
    page = in_browser_zone(browser, "Asia/Tokyo")
    try:
        sign_in(page, base, "root")
        page.goto(f"{base}/logs?days=2026-11-25,2026-11-25&hours=8,20")  # UTC hours: 03:00 to 15:00 in New York
        expect(page.get_by_text("delivery attempts match")).to_be_visible()
        hours = hour_labels(page)
        assert hours and all(3 <= h <= 15 for h in hours) and min(hours) < 8, hours
        expect(header(page, "Time (America/New_York)")).to_be_attached()
        cells = page.locator('[data-testid="stDataFrame"] [role="gridcell"]')
        expect(cells.first).to_be_attached()  # the accessible copy holds the values, with their offset
        times = [c for c in cells.all_text_contents() if re.fullmatch(r"2026-11-25 \d\d:\d\d:\d\d-05:00", c)]
        assert times and all(3 <= int(c[11:13]) <= 15 for c in times), times
    finally:
        page.context.close()


@pytest.mark.server
def test_without_a_preference_times_follow_the_browsers_zone(server: tuple[str, DemoHome], browser: Browser) -> None:
    base, home = server
    save_settings(home.path, "root", UserSettings())
    page = in_browser_zone(browser, "Asia/Tokyo")
    try:
        sign_in(page, base, "root")
        page.goto(f"{base}/logs?days=2026-11-25,2026-11-25&hours=8,12")  # 17:00 to 21:00 in Tokyo
        expect(header(page, "Time (Asia/Tokyo)")).to_be_attached()
        hours = hour_labels(page)
        assert hours and all(17 <= h <= 21 for h in hours), hours
    finally:
        page.context.close()


def chart_titles(at) -> set[str]:
    """The x-axis titles of a page's charts (layers included)."""

    def titles(spec: dict) -> set[str]:
        found = {str(spec["encoding"]["x"].get("title"))} if "x" in spec.get("encoding", {}) else set()
        return found.union(*(titles(layer) for layer in spec.get("layer", [])))

    return set().union(
        *(titles(json.loads(c.proto.spec)) for c in [*at.get("arrow_vega_lite_chart"), *at.get("vega_lite_chart")])
    )


def test_bounces_reputation_and_the_audit_log_show_times_in_the_persons_zone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = copy_home(tmp_path)
    save_settings(home.path, "root", UserSettings(timezone="Europe/Paris"))
    paris = re.compile(r"^\d{1,2}/\d{1,2}/\d{4} \d{2}:\d{2}(:\d{2})? Europe/Paris$")

    bounces = page_as("root", "bounces.py", monkeypatch, home)
    assert not bounces.exception
    assert "Time (Europe/Paris)" in chart_titles(bounces)
    unknown = frame(bounces, "recipient")
    assert unknown.height and unknown.schema["first_seen"] == pl.Datetime("us", "Europe/Paris")

    reputation = page_as("root", "reputation.py", monkeypatch, home)
    assert not reputation.exception
    assert chart_titles(reputation) == {"Time (Europe/Paris)"}

    admin = page_as("root", "admin.py", monkeypatch, home)
    assert not admin.exception
    audit = frame(admin, "id")
    assert audit.height and all(paris.match(ts) for ts in audit["ts"]), audit["ts"].to_list()[:3]
