"""Issue 16, the Gateways page: collector state, lag, bytes behind, last error, queue size and last
snapshot from ingest's status file (what `relaywatch status` reads); admins see their granted gateways."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest import make_gateway, record_failure, record_success, save_gateway, update_status
from reports import UserSettings, save_settings
from tests.test_dashboards_data import DemoHome, copy_home, goto, open_app, texts
from tests.test_dashboards_pages import frame, metrics


def gateway_home(tmp_path: Path) -> DemoHome:
    demo = copy_home(tmp_path)
    home = demo.path
    for name in ("gw1", "gw2"):
        save_gateway(home, make_gateway(name, log=f"/var/log/{name}.log"))
    record_success(
        home,
        "gw1",
        lines=10,
        bytes_read=900,
        bytes_behind=0,
        last_line="Nov 25 gw1 postfix/qmgr",
        warnings=[],
        started=1.0e9,
    )
    update_status(home, "gw1", queue_messages=3, queue_at="2026-11-25T12:00:00+00:00")
    record_failure(home, "gw2", "ssh: connection refused <b>x</b>", stopped=False, retry_in=60)
    return demo


def test_root_sees_every_gateway_with_its_collector_figures(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = gateway_home(tmp_path)
    at = goto(open_app(home, "root", monkeypatch), "gateways.py")
    assert not at.exception
    rows = {r["gateway"]: r for r in frame(at, "gateway").iter_rows(named=True)}
    assert set(rows) == {"gw1", "gw2"}
    assert rows["gw1"]["state"] == "collecting" and rows["gw1"]["queue_messages"] == 3
    assert rows["gw1"]["bytes_behind"] == 0 and rows["gw1"]["lag"].endswith(" d")
    assert (
        rows["gw2"]["state"] == "error (retrying)" and rows["gw2"]["last_error"] == "ssh: connection refused <b>x</b>"
    )
    assert rows["gw2"]["lag"] == "never" and rows["gw2"]["next_try_at"]
    assert metrics(at) == {"Gateways": "2", "In error": "1", "Messages queued": "3"}
    assert rows["gw1"]["queue_at"] == "11/25/2026 12:00 UTC"


def test_status_times_are_shown_in_the_persons_zone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = gateway_home(tmp_path)
    save_settings(home.path, "root", UserSettings(timezone="Europe/Paris", language="fr"))
    at = goto(open_app(home, "root", monkeypatch), "gateways.py")
    rows = {r["gateway"]: r for r in frame(at, "gateway").iter_rows(named=True)}
    assert rows["gw1"]["queue_at"] == "25/11/2026 13:00 Europe/Paris"
    assert rows["gw2"]["last_error_at"].endswith(" Europe/Paris")


def test_an_admin_sees_only_its_granted_gateways_and_a_user_has_no_such_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = gateway_home(tmp_path)
    at = goto(open_app(home, "ops", monkeypatch), "gateways.py")
    assert frame(at, "gateway")["gateway"].to_list() == ["gw2"]
    user = open_app(home, "alice", monkeypatch)
    with pytest.raises(ValueError):
        user.switch_page("gateways.py")
    assert "Gateways" not in texts(user.title)
