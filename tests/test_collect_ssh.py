"""The SSH collector against a real OpenSSH sshd, ending in the real lake and warehouse.

A real Postfix writes the log that sshd serves while `relaywatch run` collects it; the log rotates with
`postfix logrotate` (rename, then gzip) and by copytruncate. Two gateways run side by side while one
sshd goes down and comes back. Host keys are pinned on first contact and a changed key stops a gateway.
"""

from __future__ import annotations

import gzip
import shutil
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from ingest.gateways import load_gateways, pin_host_key, read_known_hosts
from ingest.queue import snapshot_queue
from ingest.ssh import SSHCollector, connect
from ingest.status import read_status
from relaywatch import core as homes
from relaywatch.registry import gateway_add, gateway_test, status
from relaywatch.scheduler import run
from tests.servers.postfix import POSTFIX, PostfixGateway
from tests.servers.sshd import SshServer
from tests.test_collect_local import append, postfix_lines

pytestmark = pytest.mark.server

CONFIG = """
[parse]
timezone = "UTC"

[collect]
poll_seconds = 0.2
process_delay = 0.1
process_seconds = 5
queue_seconds = 0
backoff_seconds = 0.2
backoff_max_seconds = 1.0
timeout_seconds = 3
"""


def make_home(tmp_path: Path) -> Path:
    home = homes.open_home(tmp_path / "home", create=True)
    (home / homes.CONFIG_NAME).write_text(CONFIG)
    return home


def add_ssh_gateway(home: Path, name: str, server: SshServer, log: Path, **options: str) -> dict:
    return gateway_add(
        home,
        name,
        log_path=str(log),
        ssh=f"{server.user}@{server.host}:{server.port}",
        key=str(server.client_key_path),
        accept_host_key=True,
        **options,
    )


def wait_for(condition: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout}s waiting for {what}"
        time.sleep(0.1)


def table(home: Path, name: str) -> pl.DataFrame:
    path = home / "lake" / name
    return pl.read_delta(str(path)) if path.exists() else pl.DataFrame()


def lake_lines(home: Path, gateway: str) -> pl.DataFrame:
    lines = table(home, "lines")
    return lines.filter(pl.col("gateway") == gateway) if lines.height else lines


def files_lines(folder: Path, base: str = "mail.log") -> Counter[str]:
    """Every line of a log and its rotated siblings, as the gateway's disk holds them."""
    found: Counter[str] = Counter()
    for path in folder.glob(f"{base}*"):
        data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        found.update(data.decode().splitlines())
    return found


def assert_exactly_once(home: Path, gateway: str, expected: Counter[str]) -> None:
    lines = lake_lines(home, gateway)
    assert lines.select(pl.struct("file_id", "offset").is_unique().all()).item()
    held = Counter(lines["line"].to_list())
    assert held - expected == Counter(), "lines in the lake that are not in the log (duplicates)"
    assert expected - held == Counter(), "lines of the log missing from the lake"


class Running:
    """`relaywatch run` (continuous) in a thread, stopped at exit as SIGTERM would."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self.main, daemon=True)

    def main(self) -> None:
        try:
            run(self.home, stop=self.stop)
        except BaseException as exc:
            self.error = exc
            raise

    def __enter__(self) -> Running:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(30)
        assert not self.thread.is_alive()
        if self.error is not None:
            raise self.error


def test_host_key_is_pinned_on_first_contact_only_when_accepted(sshd_server: SshServer, tmp_path: Path) -> None:
    home = make_home(tmp_path)
    log = tmp_path / "mail.log"
    append(tmp_path / "postfix.log", postfix_lines(0, 1))
    log.symlink_to(tmp_path / "postfix.log")  # a log reached through a symbolic link is followed
    target = f"{sshd_server.user}@{sshd_server.host}:{sshd_server.port}"
    with pytest.raises(Exception, match="not pinned yet") as refused:
        gateway_add(home, "edge", log_path=str(log), ssh=target, key=str(sshd_server.client_key_path))
    assert sshd_server.host_key_fingerprint in str(refused.value)
    assert load_gateways(home) == {} and read_known_hosts(home) == []

    report = add_ssh_gateway(home, "edge", sshd_server, log)
    assert report["host_key"] == sshd_server.host_key_fingerprint
    assert read_known_hosts(home) == [(f"[127.0.0.1]:{sshd_server.port}", *sshd_server.host_public_key.split())]
    assert gateway_test(home, "edge")["files"][0]["size"] == log.stat().st_size


def test_a_changed_host_key_stops_the_gateway_before_anything_is_read(sshd_server: SshServer, tmp_path: Path) -> None:
    home = make_home(tmp_path)
    log = tmp_path / "mail.log"
    append(log, postfix_lines(0, 5))
    add_ssh_gateway(home, "edge", sshd_server, log)
    other = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    entry = f"[127.0.0.1]:{sshd_server.port}"
    for kind, key in [
        other.with_suffix(".pub").read_text().split()[:2],
        ("ssh-rsa", "AAAAB3NzaC1yc2EAAAADAQABAAABAQC7" + "A" * 340),
    ]:
        pin_host_key(home, entry, kind, key)
        summary = run(home, once=True)
        assert "HOST KEY CHANGED" in summary["failed"]["edge"]
        entry_status = read_status(home)["edge"]
        assert entry_status["state"] == "stopped" and "HOST KEY CHANGED" in entry_status["last_error"]
        assert lake_lines(home, "edge").height == 0
        with pytest.raises(Exception, match="HOST KEY CHANGED"):
            connect(home, load_gateways(home)["edge"], accept_host_key=True)


def postfix_logrotate(gateway: PostfixGateway) -> None:
    """`postfix logrotate`: rename mail.log with a time stamp, HUP, then gzip the renamed file."""
    subprocess.run([POSTFIX, "-c", str(gateway.config_dir), "logrotate"], check=True, capture_output=True)


def copytruncate(log: Path, gateway: PostfixGateway) -> None:
    """logrotate's copytruncate. Lines written between the copy and the truncation are lost on disk
    (logrotate documents it), which would make the file list a wrong oracle: Postfix's log writer
    (postlogd) is paused for the rotation, as if it had been idle."""
    writers = [p for p in gateway.processes() if p.name() == "postlogd"]
    for writer in writers:
        writer.suspend()
    try:
        shutil.copyfile(log, log.with_name(log.name + ".1"))
        with log.open("r+b") as handle:
            handle.truncate(0)
    finally:
        for writer in writers:
            writer.resume()


def test_real_postfix_log_growing_and_rotating_ends_in_the_warehouse_exactly_once(
    sshd_server: SshServer, postfix_gateway: PostfixGateway, tmp_path: Path
) -> None:
    home = make_home(tmp_path)
    history = postfix_gateway.root / "mail.log.20261101-000000.gz"  # rotated before relaywatch came
    history.write_bytes(gzip.compress("".join(f"{line}\n" for line in postfix_lines(0, 500, "gw-pf")).encode()))
    add_ssh_gateway(
        home,
        "gw-pf",
        sshd_server,
        postfix_gateway.log_path,
        queue_command=f"/usr/sbin/postqueue -c {postfix_gateway.config_dir} -j",
    )

    def send(first: int, count: int) -> None:
        """Send `count` messages and wait until the live log holds each one's last line (postlogd writes
        asynchronously: the queue is idle before the log is complete)."""
        sent = []
        for n in range(first, first + count):
            kind = ("ok", "ok", "soft", "hard")[n % 4]
            recipients = [f"{kind}{n}@dest.example", f"ok{n}b@dest.example"]
            sent.append((kind, postfix_gateway.send(f"sender{n}@client.example", recipients).queue_id))
        postfix_gateway.wait_idle()
        for kind, queue_id in sent:  # both recipients' results, then (unless one is deferred) the removal
            postfix_gateway.wait_for_log(rf"{queue_id}: to=<", count=2)
            if kind != "soft":
                postfix_gateway.wait_for_log(rf"{queue_id}: removed")
            if kind == "hard":  # and the non-delivery notification sent back for it
                [notice] = postfix_gateway.wait_for_log(rf"{queue_id}: sender non-delivery notification: \w+")
                postfix_gateway.wait_for_log(rf"{notice.rsplit(': ', 1)[1].strip()}: removed")

    with Running(home):
        send(0, 12)
        postfix_logrotate(postfix_gateway)  # by rename, then compressed: mail.log.<stamp>.gz
        send(12, 12)
        copytruncate(postfix_gateway.log_path, postfix_gateway)
        send(24, 12)
        expected = files_lines(postfix_gateway.root)
        wait_for(lambda: lake_lines(home, "gw-pf").height >= sum(expected.values()), 30, "collection")
        wait_for(lambda: table(home, "deliveries").height, 30, "processing")

    names = sorted(p.name for p in postfix_gateway.root.glob("mail.log*"))
    assert names[:3] == ["mail.log", "mail.log.1", history.name] and names[3].endswith(".gz"), names
    assert_exactly_once(home, "gw-pf", expected)
    lines = lake_lines(home, "gw-pf")
    deliveries = table(home, "deliveries").filter(pl.col("gateway") == "gw-pf")
    assert deliveries.height == lines.filter(pl.col("event") == "delivery").height > 500 + 36
    assert set(deliveries["status"]) >= {"sent", "deferred", "bounced"}

    queued: list[pl.DataFrame] = []
    collector = SSHCollector(home, load_gateways(home)["gw-pf"])
    try:
        frame = snapshot_queue(collector.gateway, collector.run, lambda name, rows: queued.append(rows))
    finally:
        collector.close()
    assert frame.height == len(postfix_gateway.queue_json()) > 0
    assert set(frame["queue_name"]) == {"deferred"} and frame["delay_reasons"].list.len().min() >= 1


def test_one_sshd_down_the_other_gateway_keeps_flowing_and_the_first_catches_up(
    sshd_server: SshServer, tmp_path: Path
) -> None:
    home = make_home(tmp_path)
    (tmp_path / "sshd-b").mkdir(mode=0o700)
    second = SshServer(tmp_path / "sshd-b")
    logs = {"gw-a": tmp_path / "a" / "mail.log", "gw-b": tmp_path / "b" / "mail.log"}
    for log in logs.values():
        log.parent.mkdir()
        append(log, postfix_lines(0, 50))
    second.start()
    try:
        add_ssh_gateway(home, "gw-a", sshd_server, logs["gw-a"])
        add_ssh_gateway(home, "gw-b", second, logs["gw-b"])
        written = {name: 50 for name in logs}
        writing = threading.Event()
        writing.set()

        def writer() -> None:
            while writing.is_set():
                for name, log in logs.items():
                    append(log, postfix_lines(written[name], 5))
                    written[name] += 5
                time.sleep(0.05)

        thread = threading.Thread(target=writer, daemon=True)
        with Running(home):
            thread.start()
            wait_for(lambda: all(lake_lines(home, n).height > 300 for n in logs), 20, "both gateways")
            sshd_server.stop()
            wait_for(lambda: read_status(home)["gw-a"].get("state") == "error", 15, "gw-a error")
            before = lake_lines(home, "gw-b").height
            wait_for(lambda: lake_lines(home, "gw-b").height > before + 300, 15, "gw-b flowing")
            row = {r["gateway"]: r for r in status(home)}["gw-a"]
            assert row["state"] == "error" and "127.0.0.1" in row["last_error"] and row["bytes_behind"] is not None
            assert row["lag_seconds"] >= 0.5
            stalled = lake_lines(home, "gw-a").height
            assert {r["gateway"]: r for r in status(home)}["gw-b"]["state"] == "ok"
            sshd_server.start()
            writing.clear()
            thread.join()
            for name in logs:
                total = 3 * written[name]
                wait_for(lambda n=name, t=total: lake_lines(home, n).height == t, 20, f"{name} caught up")
        assert stalled < 3 * written["gw-a"]
        for name, log in logs.items():
            assert_exactly_once(home, name, files_lines(log.parent))
        assert {r["gateway"]: r["state"] for r in status(home)} == {"gw-a": "ok", "gw-b": "ok"}
    finally:
        second.stop()
