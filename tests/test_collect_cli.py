"""The collector commands end to end on local gateways: gateway add/list/test/remove, run --once, status,
JSON logs and the backfill progress bar."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import polars as pl
from click.testing import CliRunner
from rich.console import Console

from ingest.gateways import load_gateways, make_gateway, save_gateway
from relaywatch import core as homes
from relaywatch.cli import main
from relaywatch.core import CollectSection
from relaywatch.output import Backfill
from relaywatch.registry import gateway_add, gateway_remove, status
from relaywatch.scheduler import REGISTRY_SECONDS, collect_with_retries, gateway_lock
from tests.test_collect_local import StrictSink, append, postfix_lines
from tests.test_collect_ssh import Running, wait_for


def invoke(home: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--home", str(home), *args], catch_exceptions=False)
    return result.exit_code, result.output


def test_local_gateway_lifecycle_from_add_to_status(tmp_path: Path) -> None:
    home, log = tmp_path / "home", tmp_path / "gw" / "mail.log"
    log.parent.mkdir()
    append(log, postfix_lines(0, 40))
    fake_postqueue = tmp_path / "postqueue"
    fake_postqueue.write_text(
        '#!/bin/sh\necho \'{"queue_name": "deferred", "queue_id": "AB12", '
        '"arrival_time": 1, "message_size": 5, "sender": "a@b", "recipients": []}\'\n'
    )
    fake_postqueue.chmod(0o755)

    code, out = invoke(
        home,
        "gateway",
        "add",
        "edge-1",
        "--log",
        str(log),
        "--ip",
        "192.0.2.25",
        "--queue-command",
        f"{fake_postqueue} -j",
    )
    assert code == 0, out
    assert "gateway edge-1 added: 1 log file(s)" in out
    assert load_gateways(home)["edge-1"].ips == ("192.0.2.25",)

    code, out = invoke(home, "gateway", "add", "edge-1", "--log", str(log))
    assert code == 1 and "already exists" in out

    code, out = invoke(home, "gateway", "list", "--json")
    assert json.loads(out)["target"] == "local"

    code, out = invoke(home, "gateway", "test", "edge-1")
    assert code == 0 and "queue: ok: 1 queued messages" in out

    code, out = invoke(home, "status", "--json")
    assert json.loads(out)["state"] == "never collected"

    code, out = invoke(home, "run", "--once")
    assert code == 0, out
    code, out = invoke(home, "status", "--json")
    row = json.loads(out)
    assert row["state"] == "ok" and row["lines_total"] == 120 and row["bytes_behind"] == 0
    assert row["last_line"] == postfix_lines(39, 1)[-1]
    lines = pl.read_delta(str(home / "lake" / "lines"))
    assert sorted(lines["line"].to_list()) == sorted(postfix_lines(0, 40))

    code, out = invoke(home, "run", "--once")  # nothing new: nothing added
    assert pl.read_delta(str(home / "lake" / "lines")).height == 120

    code, out = invoke(home, "gateway", "remove", "edge-1")
    assert code == 0 and load_gateways(home) == {}
    code, out = invoke(home, "status", "--json")
    assert out == ""


def test_bad_gateway_definitions_are_refused_with_a_reason(tmp_path: Path) -> None:
    home = tmp_path / "home"
    key = tmp_path / "id"
    key.write_text("not used")
    cases = [
        (["gateway", "add", "edge 1", "--log", "/var/log/mail.log"], "gateway name"),
        (["gateway", "add", "edge1", "--log", "mail.log"], "absolute path"),
        (
            ["gateway", "add", "edge1", "--log", "/var/log/mail.log", "--ssh", "host-only", "--key", str(key)],
            "USER@HOST[:PORT]",
        ),
        (["gateway", "add", "edge1", "--log", "/var/log/mail.log", "--ssh", "u@h"], "--key"),
        (["gateway", "remove", "nope"], "no gateway named nope"),
    ]
    for args, reason in cases:
        code, out = invoke(home, *args)
        assert code == 1 and reason in out, (args, out)


def test_run_once_logs_json_lines_and_fails_when_a_gateway_cannot_be_read(tmp_path: Path) -> None:
    home = homes.open_home(tmp_path / "home", create=True)
    (home / homes.CONFIG_NAME).write_text("[collect]\nattempts = 2\nbackoff_seconds = 0.05\nqueue_seconds = 0\n")
    good = tmp_path / "good" / "mail.log"
    good.parent.mkdir()
    append(good, postfix_lines(0, 10))
    save_gateway(home, make_gateway("good", log=str(good)))
    save_gateway(home, make_gateway("gone", log=str(tmp_path / "missing" / "mail.log")))

    code, out = invoke(home, "run", "--once")
    assert code == 1 and "gone: gateway gone: reading" in out
    events = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert [e["event"] for e in events if e.get("gateway") == "gone"] == ["collect_failed", "collect_failed"]
    collected = next(e for e in events if e["event"] == "collected")
    assert collected["gateway"] == "good" and collected["lines"] == 30
    assert events[-1]["event"] == "run_finished" and "gone" in events[-1]["failed"]
    rows = {row["gateway"]: row for row in status(home)}
    assert rows["good"]["state"] == "ok" and rows["gone"]["state"] == "error"
    assert "No such file or directory" in rows["gone"]["last_error"]


def test_a_long_first_backfill_shows_a_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    log = tmp_path / "mail.log"
    append(log, postfix_lines(0, 3000))
    screen = io.StringIO()
    backfill = Backfill(100_000, Console(file=screen, force_terminal=True, width=120))
    settings = CollectSection(chunk_bytes=65536)
    sink = StrictSink()
    result = collect_with_retries(tmp_path, make_gateway("big", log=str(log)), sink, settings, backfill)
    backfill.close()
    assert result.lines == 9000
    assert "backfill big" in screen.getvalue() and "1.1/1.1 MB" in screen.getvalue()
    quiet = io.StringIO()
    small = Backfill(100_000, Console(file=quiet, force_terminal=True))
    append(log, postfix_lines(3000, 10))
    assert collect_with_retries(tmp_path, make_gateway("big", log=str(log)), sink, settings, small).lines == 30
    assert quiet.getvalue() == ""  # only the next 30 lines: no bar


def test_run_picks_up_added_and_removed_gateways_without_a_restart(tmp_path: Path) -> None:
    home = homes.open_home(tmp_path / "home", create=True)
    (home / homes.CONFIG_NAME).write_text("[collect]\nqueue_seconds = 0\nprocess_delay = 0.1\n")
    logs = {name: tmp_path / name / "mail.log" for name in ("first", "second")}
    for number, log in enumerate(logs.values()):
        log.parent.mkdir()
        append(log, postfix_lines(1000 * number, 10))
    gateway_add(home, "first", log_path=str(logs["first"]))

    def held(name: str) -> int:
        path = home / "lake" / "lines"
        return pl.read_delta(str(path)).filter(pl.col("gateway") == name).height if path.exists() else 0

    with Running(home):
        wait_for(lambda: held("first") == 30, 10, "first gateway")
        gateway_add(home, "second", log_path=str(logs["second"]))
        wait_for(lambda: held("second") == 30, 10, "second gateway, added while running")
        gateway_remove(home, "first")
        time.sleep(2 * REGISTRY_SECONDS + 0.5)
        append(logs["first"], postfix_lines(10, 5))
        append(logs["second"], postfix_lines(1010, 5))
        wait_for(lambda: held("second") == 45, 10, "second gateway still collected")
        time.sleep(1.5)
    assert held("first") == 30


def test_run_once_skips_a_gateway_another_process_is_collecting(tmp_path: Path) -> None:
    home = homes.open_home(tmp_path / "home", create=True)
    (home / homes.CONFIG_NAME).write_text("[collect]\nqueue_seconds = 0\n")
    log = tmp_path / "gw" / "mail.log"
    log.parent.mkdir()
    append(log, postfix_lines(0, 5))
    gateway_add(home, "busy", log_path=str(log))
    with gateway_lock(home, "busy") as mine:
        assert mine
        code, out = invoke(home, "run", "--once")
    assert code == 0 and '"event": "collect_skipped"' in out
    assert not (home / "lake" / "lines").exists()
