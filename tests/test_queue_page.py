"""The Queue page from a real Postfix queue: the demo's gateway (relaywatch.demo_postfix: real Postfix +
scripted sink) defers a recipient, a `postqueue -j` snapshot goes through ingest's queue code into a lake,
and the page's query shows the message, its domain, its deferral reason and stuck mail; the page itself
warns of stuck mail and counts queued recipients per domain."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from datetime import UTC, datetime, timedelta

import polars as pl
import psutil
import pytest
from streamlit.testing.v1 import AppTest

from acl import Scope
from ingest import QUEUE_SCHEMA, local_runner, make_gateway, snapshot_queue
from relaywatch.core import ConfigError, load_config
from relaywatch.demo_postfix import POSTFIX, REPLIES, DemoPostfix
from tests.servers import require_executable, require_root
from tests.servers.postfix import make_root
from tests.test_dashboards_data import copy_home, texts
from tests.test_dashboards_pages import page_as
from warehouse import Period, open_lake, queue
from warehouse.lake import Lake
from warehouse.views import Warehouse


def wait_deferred(command: str, queue_id_of: str, timeout: float = 30.0) -> dict:
    """Poll `postqueue -j` until the message to `queue_id_of` (a recipient) is deferred with a reason."""
    deadline = time.monotonic() + timeout
    while True:
        out = subprocess.run(command.split(), capture_output=True, text=True, check=True, timeout=30).stdout
        for item in map(json.loads, out.splitlines()):
            reasons = [r.get("delay_reason") for r in item["recipients"] if r["address"] == queue_id_of]
            if item["queue_name"] == "deferred" and any(reasons):
                return item
        if time.monotonic() > deadline:
            raise TimeoutError(f"no deferred message to {queue_id_of} after {timeout}s: {out}")
        time.sleep(0.2)


def instance_processes(config_dir: str) -> list[psutil.Process]:
    """Live processes of one Postfix instance (MAIL_CONFIG in their environment)."""
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.environ().get("MAIL_CONFIG") == config_dir:
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def test_queue_page_shows_a_deferred_message_of_the_demo_postfix_gateway(tmp_path) -> None:
    require_root("Postfix")
    require_executable(POSTFIX)
    root = make_root()
    demo = DemoPostfix(root / "postfix").start()
    try:
        gateway = demo.gateway
        demo.gateway.send("shop@customer.example", ["soft1@slow.example", "user1@fast.example"])
        item = wait_deferred(gateway.queue_command, "soft1@slow.example")
        lake = Lake(tmp_path / "lake")
        registered = make_gateway("gw-postfix", log=str(gateway.log_path), queue_command=gateway.queue_command)
        frame = snapshot_queue(registered, local_runner(), lake.commit_queue)
        assert item["queue_id"] in frame["queue_id"].to_list()

        warehouse = Warehouse(lake, Scope.root())
        period = Period.last(1)
        view = queue(warehouse, period, stuck_hours=0.0)
        fresh = queue(warehouse, period)
    finally:
        demo.stop()
        shutil.rmtree(root, ignore_errors=True)
    assert not instance_processes(str(gateway.config_dir)), "postfix left running after DemoPostfix.stop()"

    assert item["queue_id"] in view.messages["queue_id"].to_list()
    slow = view.domains.filter(recipient_domain="slow.example").to_dicts()
    assert slow == [
        {"gateway": "gw-postfix", "recipient_domain": "slow.example", "recipients": 1, "messages": 1, "deferred": 1}
    ]
    (summary,) = view.summary.to_dicts()
    assert summary["gateway"] == "gw-postfix" and summary["messages"] == frame.height
    assert REPLIES["soft"][1] in summary["last_reason"]
    assert summary["oldest_arrival"] <= summary["snapshot_ts"]
    assert summary["snapshot_ts"] - summary["oldest_arrival"] < timedelta(minutes=5)
    assert summary["stuck"] == frame.height  # stuck after 0 h: everything queued
    assert fresh.summary["stuck"].to_list() == [0]  # the default 4 h: nothing stuck yet
    assert fresh.stuck_hours == 4.0


def test_queue_page_warns_of_stuck_mail_and_counts_recipient_domains(tmp_path, monkeypatch) -> None:
    home = copy_home(tmp_path)
    now = datetime.now(UTC)
    rows = [
        (now, "gw1", "deferred", "OLD1", now - timedelta(hours=10), 900, "a@x.example", ["r1@orange.fr"], ["421 busy"]),
        (now, "gw1", "deferred", "NEW1", now - timedelta(minutes=20), 100, "a@x.example", ["r2@orange.fr"], [None]),
    ]
    open_lake(home.path).commit_queue("gw1", pl.DataFrame(rows, schema=QUEUE_SCHEMA, orient="row"))
    at = page_as("root", "mailqueue.py", monkeypatch, home)
    assert not at.exception
    assert texts(at.warning) == ["gw1: 1 message(s) queued for more than 4 hours."]
    (summary,) = table(at, "stuck").filter(pl.col("gateway") == "gw1").to_dicts()
    assert (summary["messages"], summary["stuck"], summary["last_reason"]) == (2, 1, "421 busy")
    assert table(at, "recipient_domain").filter(pl.col("gateway") == "gw1").to_dicts() == [
        {"gateway": "gw1", "recipient_domain": "orange.fr", "recipients": 2, "messages": 2, "deferred": 1}
    ]

    with (home.path / "relaywatch.toml").open("a") as config:
        config.write("\n[dashboards]\nstuck_hours = 0.05\n")  # below the minimum: the configuration is refused
    with pytest.raises(ConfigError, match="stuck_hours"):
        load_config(home.path)
    text = (home.path / "relaywatch.toml").read_text().replace("stuck_hours = 0.05", "stuck_hours = 0.25")
    (home.path / "relaywatch.toml").write_text(text)  # 15 minutes: the newer message is stuck too
    at = page_as("root", "mailqueue.py", monkeypatch, home)
    assert texts(at.warning) == ["gw1: 2 message(s) queued for more than 0.25 hours."]


def table(at: AppTest, column: str) -> pl.DataFrame:
    """The page's table that has `column`."""
    [found] = [d.value for d in at.dataframe if column in d.value.columns]
    return pl.from_pandas(found)
