"""Crash safety: `relaywatch run --once` killed with SIGKILL at random points loses and duplicates nothing.

The collector runs in a fresh process (multiprocessing, spawn) pulling over a real sshd, and is killed at
a seeded random moment: while connecting, between and during chunk commits, while processing. Between
runs the log grows and rotates (by rename with gzip, and by copytruncate). A last, uninterrupted run must
leave every line in the lake exactly once and one delivery row per delivery line.
"""

from __future__ import annotations

import gzip
import multiprocessing
import random
import shutil
import time
from collections import Counter
from pathlib import Path

import polars as pl
import pytest

from relaywatch import core as homes
from relaywatch.registry import gateway_add
from relaywatch.scheduler import run
from tests.servers.sshd import SshServer
from tests.test_collect_local import append, postfix_lines

pytestmark = pytest.mark.server

SEED = 20261124
KILLS = 20
MID_COLLECTION = 3
"""Kills that must land after the run committed some chunks but before it committed them all."""
CONFIG = """
[parse]
timezone = "UTC"

[collect]
queue_seconds = 0
attempts = 1
chunk_bytes = 32768
timeout_seconds = 5
"""


def make_room(log: Path) -> None:
    """Shift the compressed siblings up by one and compress mail.log.1 into mail.log.2.gz."""
    rotated = sorted(log.parent.glob("mail.log.*.gz"), key=lambda p: -int(p.name.split(".")[2]))
    for path in rotated:
        path.rename(log.with_name(f"mail.log.{int(path.name.split('.')[2]) + 1}.gz"))
    first = log.with_name("mail.log.1")
    if first.exists():
        log.with_name("mail.log.2.gz").write_bytes(gzip.compress(first.read_bytes()))
        first.unlink()


def rotate_by_rename(log: Path) -> None:
    """logrotate with `compress` and `delaycompress`: mail.log becomes mail.log.1."""
    make_room(log)
    log.rename(log.with_name("mail.log.1"))


def copytruncate(log: Path) -> None:
    """logrotate with `copytruncate`: mail.log is copied to mail.log.1, then emptied in place."""
    make_room(log)
    shutil.copyfile(log, log.with_name("mail.log.1"))
    with log.open("r+b") as handle:
        handle.truncate(0)


def on_disk(folder: Path) -> Counter[str]:
    found: Counter[str] = Counter()
    for path in folder.glob("mail.log*"):
        data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        found.update(data.decode().splitlines())
    return found


def held(home: Path, table: str) -> pl.DataFrame:
    path = home / "lake" / table
    return pl.read_delta(str(path)) if path.exists() else pl.DataFrame()


def test_collector_killed_at_random_points_loses_and_duplicates_nothing(sshd_server: SshServer, tmp_path: Path) -> None:
    home = homes.open_home(tmp_path / "home", create=True)
    (home / homes.CONFIG_NAME).write_text(CONFIG)
    log = tmp_path / "gw" / "mail.log"
    log.parent.mkdir()
    append(log, postfix_lines(0, 100))
    gateway_add(
        home,
        "gw-crash",
        log_path=str(log),
        ssh=f"{sshd_server.user}@127.0.0.1:{sshd_server.port}",
        key=str(sshd_server.client_key_path),
        accept_host_key=True,
    )
    rng = random.Random(SEED)
    spawn = multiprocessing.get_context("spawn")
    written, kills, mid_collection, iteration = 100, 0, 0, 0
    while kills < KILLS or mid_collection < MID_COLLECTION:
        iteration += 1
        assert iteration <= 3 * KILLS, f"{kills} kills ({mid_collection} while collecting) in {iteration} runs"
        count = rng.randint(150, 400)
        append(log, postfix_lines(written, count))
        written += count
        if iteration % 5 == 0:
            rotate_by_rename(log)
            append(log, postfix_lines(written, 50))
            written += 50
        elif iteration % 7 == 0:
            copytruncate(log)
        before = held(home, "lines").height
        child = spawn.Process(target=run, args=(home, True), daemon=True)
        child.start()
        time.sleep(rng.uniform(0.3, 1.6))
        if child.is_alive():
            child.kill()
            kills += 1
            child.join(30)
            mid_collection += before < held(home, "lines").height < 3 * written
        child.join(30)

    summary = run(home, once=True)
    assert summary["failed"] == {}
    lines = held(home, "lines")
    assert lines.select(pl.struct("file_id", "offset").is_unique().all()).item()
    assert Counter(lines["line"].to_list()) == on_disk(log.parent)
    assert lines.height == 3 * written
    deliveries = held(home, "deliveries")
    assert deliveries.height == lines.filter(pl.col("event") == "delivery").height == written
    assert deliveries["queue_id"].n_unique() == written
