"""The collection algorithm on local files: growth, rename rotation, copytruncate, .gz siblings, resume.

A strict in-memory sink stands in for the lake here (it refuses a chunk that does not start where the
last one of its file ended); the SSH tests end in the real lake.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest

from ingest.backoff import Backoff
from ingest.chunks import FINGERPRINT_BYTES, Chunk
from ingest.collect import FileReplaced, collect_log, plan, read_planned, rotation_set
from ingest.follow import LocalCollector, LocalFiles
from ingest.gateways import make_gateway
from ingest.queue import parse_postqueue, snapshot_queue
from ingest.status import read_status, record_failure, record_success


class StrictSink:
    """Chunks by (gateway, file id); a gap or overlap with what is held fails the test."""

    def __init__(self) -> None:
        self.ends: dict[tuple[str, str], int] = {}
        self.chunks: list[Chunk] = []
        self.lock = threading.Lock()

    def committed(self, gateway: str, file_id: str) -> int:
        return self.ends.get((gateway, file_id), 0)

    def commit(self, chunk: Chunk) -> None:
        with self.lock:
            held = self.ends.get((chunk.gateway, chunk.file_id), 0)
            assert chunk.start == held, f"chunk starts at {chunk.start}, lake holds up to {held}"
            self.ends[(chunk.gateway, chunk.file_id)] = chunk.end
            self.chunks.append(chunk)

    def lines(self) -> Counter[str]:
        return Counter(line for chunk in self.chunks for line in chunk.data.decode().splitlines())


def postfix_lines(first: int, count: int, host: str = "gw1") -> list[str]:
    """`count` delivered messages (3 log lines each), numbered from `first`: every line is unique."""
    lines = []
    for n in range(first, first + count):
        qid = f"{n:010X}"
        stamp = f"Nov 24 10:{n // 60 % 60:02d}:{n % 60:02d}"
        lines += [
            f"{stamp} {host} postfix/qmgr[100]: {qid}: from=<s{n}@example.com>, size={1000 + n}, nrcpt=1 "
            "(queue active)",
            f"{stamp} {host} postfix/smtp[200]: {qid}: to=<r{n}@example.net>, relay=mx.example.net"
            "[192.0.2.1]:25, delay=0.5, delays=0.1/0/0.2/0.2, dsn=2.0.0, status=sent (250 2.0.0 Ok)",
            f"{stamp} {host} postfix/qmgr[100]: {qid}: removed",
        ]
    return lines


def append(path: Path, lines: list[str]) -> None:
    with path.open("a") as handle:
        handle.write("".join(line + "\n" for line in lines))


def collect(log: Path, sink: StrictSink, done: set | None = None, gateway: str = "gw1"):
    return collect_log(LocalFiles(), gateway, str(log), sink, done=done, chunk_bytes=4096)


def test_rotation_set_orders_oldest_first_and_ignores_gz_being_written() -> None:
    listing = [
        ("mail.log", 10, 5.0),
        ("mail.log.1", 10, 4.0),
        ("mail.log.2.gz", 10, 9.0),
        ("mail.log.3.gz", 10, 1.0),
        ("mail.log.3", 10, 1.0),
        ("mail.log-20260101", 10, 0.0),
        ("mail.err", 10, 0.0),
        ("mail.log.1.bak", 10, 0.0),
        ("mail.log.20251231-235959.gz", 10, 0.0),
    ]
    names = [Path(f.path).name for f in rotation_set("/var/log/mail.log", listing)]
    assert names == [
        "mail.log.20251231-235959.gz",
        "mail.log-20260101",
        "mail.log.3",
        "mail.log.2.gz",
        "mail.log.1",
        "mail.log",
    ]


def test_growth_rename_rotation_copytruncate_and_gz_each_line_exactly_once(tmp_path: Path) -> None:
    log = tmp_path / "mail.log"
    sink, done, written = StrictSink(), set(), []

    def write(count: int) -> None:
        lines = postfix_lines(len(written), count)
        written.extend(lines)
        append(log, lines)

    write(200)
    collect(log, sink, done)
    write(100)  # growth after a pass
    with log.open("a") as handle:
        handle.write("Nov 24 11:00:00 gw1 postfix/qmgr[100]: ABC: rem")  # a line being written
    collect(log, sink, done)
    with log.open("a") as handle:
        handle.write("oved\n")
    written.append("Nov 24 11:00:00 gw1 postfix/qmgr[100]: ABC: removed")
    write(50)  # written after the last pass, before the rotation: must come from mail.log.1
    log.rename(tmp_path / "mail.log.1")
    write(80)
    collect(log, sink, done)
    # second rotation by rename with compression of the previous one, never read in between
    write(60)
    (tmp_path / "mail.log.2.gz").write_bytes(gzip.compress((tmp_path / "mail.log.1").read_bytes()))
    (tmp_path / "mail.log.1").unlink()
    log.rename(tmp_path / "mail.log.1")
    write(40)
    collect(log, sink, done)
    # copytruncate: the copy holds what the collector had not read yet, the live file restarts
    write(30)
    (tmp_path / "mail.log.2.gz").write_bytes(gzip.compress((tmp_path / "mail.log.1").read_bytes()))
    (tmp_path / "mail.log.1").write_bytes(log.read_bytes())
    with log.open("r+") as handle:
        handle.truncate(0)
    write(20)
    result = collect(log, sink, done)
    assert result.bytes_behind == 0
    assert sink.lines() == Counter(written)
    assert max(sink.lines().values()) == 1
    assert collect(log, sink, done).lines == 0  # nothing new: nothing read again


def test_a_compressed_sibling_never_read_is_read_from_the_start(tmp_path: Path) -> None:
    old = postfix_lines(0, 100)
    (tmp_path / "mail.log.2.gz").write_bytes(gzip.compress("".join(f"{x}\n" for x in old).encode()))
    (tmp_path / "mail.log.1").write_text("".join(f"{x}\n" for x in postfix_lines(100, 10)))
    append(tmp_path / "mail.log", postfix_lines(110, 10))
    sink = StrictSink()
    collect(tmp_path / "mail.log", sink)
    assert sink.lines() == Counter(postfix_lines(0, 120))
    assert [Path(c.path).name for c in sink.chunks][0] == "mail.log.2.gz"
    assert [Path(c.path).name for c in sink.chunks][-1] == "mail.log"


def test_resume_reads_only_what_the_sink_does_not_hold(tmp_path: Path) -> None:
    log = tmp_path / "mail.log"
    append(log, postfix_lines(0, 100))
    sink = StrictSink()
    collect(log, sink)
    append(log, postfix_lines(100, 5))
    fresh_process = collect(log, sink)  # no cache: only the sink says where to resume
    assert fresh_process.lines == 15
    assert fresh_process.bytes == sum(len(x) + 1 for x in postfix_lines(100, 5))


def test_rotated_file_last_line_without_newline_is_taken_once_the_new_log_started(tmp_path: Path) -> None:
    log = tmp_path / "mail.log"
    append(log, postfix_lines(0, 3))
    with log.open("a") as handle:
        handle.write("Nov 24 12:00:00 gw1 postfix/anvil[1]: statistics: last line, no newline")
    log.rename(tmp_path / "mail.log.1")
    sink = StrictSink()
    collect(log, sink)
    assert "Nov 24 12:00:00 gw1 postfix/anvil[1]: statistics: last line, no newline" not in sink.lines()
    append(log, postfix_lines(3, 1))
    collect(log, sink)
    assert sink.lines() == Counter(
        postfix_lines(0, 3)
        + postfix_lines(3, 1)
        + ["Nov 24 12:00:00 gw1 postfix/anvil[1]: statistics: last line, no newline"]
    )


def test_a_chunk_read_across_a_copytruncate_is_not_committed(tmp_path: Path) -> None:
    log = tmp_path / "mail.log"
    append(log, postfix_lines(0, 50))

    class TruncatedWhileRead(LocalFiles):
        """Copytruncate happens right after the collector read its data, before it commits."""

        @contextmanager
        def reader(self, path: str) -> Iterator[Callable[[int, int], bytes]]:
            with super().reader(path) as fetch:

                def truncating(offset: int, size: int) -> bytes:
                    data = fetch(offset, size)
                    if size > FINGERPRINT_BYTES:  # reading data, not checking the identity
                        log.write_text("".join(f"{x}\n" for x in postfix_lines(1000, 60)))
                    return data

                yield truncating

    sink = StrictSink()
    files = TruncatedWhileRead()
    item = plan(files, "gw1", str(log), sink, set(), [])[0]
    with pytest.raises(FileReplaced, match=f"^{re.escape(str(log))} was truncated while being read$"):
        read_planned(files, "gw1", item, sink, chunk_bytes=1 << 20)
    assert sink.chunks == []
    collect(log, sink)
    assert sink.lines() == Counter(postfix_lines(1000, 60))


def test_damaged_compressed_siblings_are_skipped_with_a_warning(tmp_path: Path) -> None:
    (tmp_path / "mail.log.3.gz").write_bytes(b"this is not gzip at all\n")
    (tmp_path / "mail.log.2.gz").write_bytes(gzip.compress(b"Nov 24 line one\nline two\n" * 100)[:60])
    append(tmp_path / "mail.log", postfix_lines(0, 10))
    sink, done = StrictSink(), set()
    result = collect(tmp_path / "mail.log", sink, done)
    assert ["mail.log.3.gz" in result.warnings[0], "mail.log.2.gz" in result.warnings[1]] == [True, True]
    assert Counter(postfix_lines(0, 10)) <= sink.lines()
    append(tmp_path / "mail.log", postfix_lines(10, 1))
    again = collect(tmp_path / "mail.log", sink, done)
    assert again.warnings == [] and again.lines == 3  # not retried until the damaged files change


def test_local_follower_is_woken_by_file_events_not_by_its_poll(tmp_path: Path) -> None:
    """The follower's fallback poll is 5 s here: a line committed well before that was seen through the
    file event. (How fast that is, ~0.6 s end to end, is bench/freshness.py's figure, not a test's.)"""
    log = tmp_path / "mail.log"
    append(log, postfix_lines(0, 10))
    gateway = make_gateway("local1", log=str(log))
    collector = LocalCollector(gateway)
    sink = StrictSink()
    wake, stop = threading.Event(), threading.Event()
    collector.start_watch(wake)
    delays = []

    def follow() -> None:
        while not stop.is_set():
            wake.clear()
            collector.poll(sink)
            wake.wait(5.0)  # only file events wake the follower quickly in this test

    thread = threading.Thread(target=follow, daemon=True)
    thread.start()
    try:
        for n in range(10, 15):
            time.sleep(0.2)
            line = postfix_lines(n, 1)[0]
            appended = time.monotonic()
            append(log, [line])
            while line not in sink.lines():
                assert time.monotonic() - appended < 4.0, "line not committed before the fallback poll"
                time.sleep(0.01)
            delays.append(time.monotonic() - appended)
    finally:
        stop.set()
        wake.set()
        thread.join(5)
        collector.close()
    assert max(delays) < 4.0


def test_postqueue_json_becomes_queue_rows() -> None:
    output = (
        b"\n".join(
            json.dumps(item).encode()
            for item in [
                {
                    "queue_name": "deferred",
                    "queue_id": "3F1A92C0B1",
                    "arrival_time": 1764000000,
                    "message_size": 2048,
                    "forced_expire": False,
                    "sender": "news@example.com",
                    "recipients": [
                        {
                            "address": "a@example.net",
                            "delay_reason": "connect to mx.example.net[192.0.2.7]:25: Connection timed out",
                        },
                        {"address": "b@example.net"},
                    ],
                },
                {
                    "queue_name": "active",
                    "queue_id": "4B2C",
                    "arrival_time": 1764000100,
                    "message_size": 512,
                    "sender": "",
                    "recipients": [{"address": "c@example.org"}],
                },
            ]
        )
        + b"\n"
    )
    stamp = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    frame = parse_postqueue(output, "gw1", stamp)
    assert frame.columns == [
        "snapshot_ts",
        "gateway",
        "queue_name",
        "queue_id",
        "arrival_time",
        "message_size",
        "sender",
        "recipients",
        "delay_reasons",
    ]
    assert frame["recipients"].to_list() == [["a@example.net", "b@example.net"], ["c@example.org"]]
    assert frame["delay_reasons"][0].to_list()[1] is None
    assert frame["arrival_time"][0] == datetime(2025, 11, 24, 16, 0, tzinfo=UTC)
    assert frame["sender"][1] == ""
    assert parse_postqueue(b"", "gw1", stamp).schema == frame.schema


def test_queue_snapshot_runs_the_gateway_command_and_stores_the_frame(tmp_path: Path) -> None:
    gateway = make_gateway("local1", log=str(tmp_path / "mail.log"), queue_command="fake -j")
    stored: list[tuple[str, pl.DataFrame]] = []
    line = json.dumps(
        {
            "queue_name": "hold",
            "queue_id": "AB",
            "arrival_time": 1,
            "message_size": 3,
            "sender": "x@y",
            "recipients": [],
        }
    ).encode()
    frame = snapshot_queue(
        gateway, lambda command: line if command == "fake -j" else b"", lambda name, rows: stored.append((name, rows))
    )
    assert stored[0][0] == "local1" and stored[0][1].equals(frame) and frame["queue_name"][0] == "hold"


def test_status_file_is_rewritten_whole_under_concurrent_updates(tmp_path: Path) -> None:
    def hammer(name: str) -> None:
        for n in range(30):
            record_success(
                tmp_path,
                name,
                lines=1,
                bytes_read=10,
                bytes_behind=0,
                last_line=f"line {n}",
                warnings=[],
                started=time.time(),
            )

    threads = [threading.Thread(target=hammer, args=(f"gw{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    record_failure(tmp_path, "gw0", "cannot reach 127.0.0.1:1", stopped=False, retry_in=4.0)
    status = read_status(tmp_path)
    assert {name: entry["lines_total"] for name, entry in status.items()} == {f"gw{n}": 30 for n in range(4)}
    assert status["gw0"]["state"] == "error" and status["gw0"]["last_line"] == "line 29"
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_backoff_doubles_up_to_the_ceiling_with_jitter() -> None:
    backoff = Backoff(1.0, 10.0, seed=1)
    delays = [backoff.next() for _ in range(6)]
    assert 0.8 <= delays[0] <= 1.2 and 1.6 <= delays[1] <= 2.4 and all(8 <= d <= 12 for d in delays[4:])
    backoff.reset()
    assert backoff.next() <= 1.2
