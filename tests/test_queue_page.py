"""The Queue page's data from a real Postfix queue: the demo's gateway (relaywatch.demo_postfix: real
Postfix + scripted sink) defers a recipient, a `postqueue -j` snapshot goes through ingest's queue code
into a lake, and the page's query shows the message, its domain, its deferral reason and stuck mail."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from datetime import timedelta

import psutil

from acl import Scope
from ingest import local_runner, make_gateway, snapshot_queue
from relaywatch.demo_postfix import POSTFIX, REPLIES, DemoPostfix
from tests.servers import require_executable, require_root
from tests.servers.postfix import make_root
from warehouse import Period, queue
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
