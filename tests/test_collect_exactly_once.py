"""Exactly once in the collector: a pass stopped midway, what a pass reports, what it skips.

Local files and the strict in-memory sink of test_collect_local (it fails on any gap or overlap);
every check is on counts and events, none on time.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ingest.chunks import Chunk
from ingest.collect import LogFile, Planned, collect_log, plan, plan_file, rotation_set, whole_hash
from ingest.follow import LocalFiles
from tests.test_collect_local import StrictSink, append, postfix_lines


def test_a_pass_stopped_after_one_chunk_resumes_where_it_stopped_and_reads_each_line_once(tmp_path: Path) -> None:
    log = tmp_path / "mail.log"
    append(log, postfix_lines(0, 300))
    sink, stop = StrictSink(), threading.Event()
    first = collect_log(LocalFiles(), "gw1", str(log), sink, chunk_bytes=4096, on_chunk=lambda _: stop.set(), stop=stop)
    assert first.chunks == 1 and first.bytes_behind > 0
    rest = collect_log(LocalFiles(), "gw1", str(log), sink, chunk_bytes=4096)
    assert rest.bytes_behind == 0 and rest.chunks > 1
    assert sink.lines() == Counter(postfix_lines(0, 300))
    assert first.bytes + rest.bytes == log.stat().st_size


def test_a_stop_set_before_the_pass_reads_nothing(tmp_path: Path) -> None:
    log = tmp_path / "mail.log"
    append(log, postfix_lines(0, 10))
    stop = threading.Event()
    stop.set()
    result = collect_log(LocalFiles(), "gw1", str(log), StrictSink(), stop=stop)
    assert (result.chunks, result.bytes, result.files) == (0, 0, 0)


def test_a_pass_reports_files_lines_bytes_and_the_planned_total(tmp_path: Path) -> None:
    old, new = postfix_lines(0, 20), postfix_lines(20, 10)
    (tmp_path / "mail.log.1").write_text("".join(f"{x}\n" for x in old))
    append(tmp_path / "mail.log", new)
    planned: list[tuple[str, int]] = []
    result = collect_log(
        LocalFiles(), "gw1", str(tmp_path / "mail.log"), StrictSink(), on_plan=lambda g, n: planned.append((g, n))
    )
    size = sum(len(x) + 1 for x in old + new)
    assert planned == [("gw1", size)]
    assert (result.files, result.lines, result.bytes) == (2, 90, size)
    assert result.last_line == new[-1]


def test_a_finished_rotated_file_is_remembered_and_not_planned_again(tmp_path: Path) -> None:
    (tmp_path / "mail.log.2.gz").write_bytes(gzip.compress("".join(f"{x}\n" for x in postfix_lines(0, 5)).encode()))
    append(tmp_path / "mail.log", postfix_lines(5, 5))
    sink, done, warnings = StrictSink(), set(), []
    collect_log(LocalFiles(), "gw1", str(tmp_path / "mail.log"), sink, done=done)
    assert not plan(LocalFiles(), "gw1", str(tmp_path / "mail.log"), sink, done, warnings)
    assert any(path.endswith("mail.log.2.gz") for path, _, _ in done)
    assert warnings == []


def rotated(log_path: str, listing: list[tuple[str, int, float]]) -> list[str]:
    """The file names of `rotation_set`, in its order."""
    return [Path(f.path).name for f in rotation_set(log_path, listing)]


def test_rotation_set_keeps_each_files_path_size_mtime_and_kind() -> None:
    listing = [("mail.log", 30, 3.0), ("mail.log.1", 20, 2.0), ("mail.log.2.gz", 10, 1.0)]
    assert rotation_set("/var/log/mail.log", listing) == [
        LogFile("/var/log/mail.log.2.gz", 10, 1.0, True, False),
        LogFile("/var/log/mail.log.1", 20, 2.0, False, False),
        LogFile("/var/log/mail.log", 30, 3.0, False, True),
    ]


def test_rotation_set_orders_numbers_by_value_and_dates_by_time_of_day() -> None:
    listing = [
        ("mail.log", 1, 0.0),
        ("mail.log.2", 1, 0.0),
        ("mail.log.10", 1, 0.0),
        ("mail.log.1234567", 1, 0.0),  # seven digits is still a number, not a date
        ("mail.log.20260101-101500", 1, 0.0),
        ("mail.log-20260101", 1, 0.0),  # midnight of the same day: older
        ("mail.log-20251231", 1, 0.0),
    ]
    names = rotated("/var/log/mail.log", listing)
    assert names == [
        "mail.log-20251231",
        "mail.log-20260101",
        "mail.log.20260101-101500",
        "mail.log.1234567",
        "mail.log.10",
        "mail.log.2",
        "mail.log",
    ]
    # a compressed sibling without a number (the live log is gone): newer than every numbered one
    names = rotated("mail.log", [("mail.log.gz", 1, 0.0), ("mail.log.1", 1, 0.0)])
    assert names == ["mail.log.1", "mail.log.gz"]


def test_rotation_set_without_the_live_log_or_with_other_logs_only() -> None:
    assert rotation_set("mail.log", [("mail.log.1", 1, 0.0)]) == [LogFile("mail.log.1", 1, 0.0, False, False)]
    assert rotation_set("/l/mail.log", [("xmail.log", 1, 0.0), ("mail.log.1.gz.tmp", 1, 0.0)]) == []
    # a .gz is skipped only while its own uncompressed twin exists, not any other sibling's
    names = rotated("/l/mail.log", [("mail.log.2.gz", 1, 0.0), ("mail.log.2.g", 1, 0.0)])
    assert names == ["mail.log.2.gz"]


def test_whole_hash_reads_the_stream_from_its_start_in_full() -> None:
    data = b"x" * (3 * 1024 * 1024 + 7)
    stream = io.BytesIO(data)
    stream.seek(5)
    assert whole_hash(stream) == "fp:" + hashlib.sha256(data).hexdigest()[:24]
    assert whole_hash(io.BytesIO(b"")) == "fp:" + hashlib.sha256(b"").hexdigest()[:24]


def test_a_rotated_file_without_a_complete_first_line_is_known_by_its_whole_content_once_final(
    tmp_path: Path,
) -> None:
    (tmp_path / "mail.log.1").write_bytes(b"partial line without newline")
    sink = StrictSink()
    waiting = LogFile(str(tmp_path / "mail.log.1"), 28, 0.0, False, False)
    assert plan_file(LocalFiles(), "gw1", waiting, sink, final=False) is None
    item = plan_file(LocalFiles(), "gw1", waiting, sink, final=True)
    assert item == Planned(
        waiting, "fp:" + hashlib.sha256(b"partial line without newline").hexdigest()[:24], 0, 28, True
    )
    assert plan_file(LocalFiles(), "gw1", LogFile(str(tmp_path / "empty"), 0, 0.0, False, False), sink, True) is None


def test_a_compressed_file_read_before_compression_is_not_planned_again(tmp_path: Path) -> None:
    text = "".join(f"{x}\n" for x in postfix_lines(0, 5)).encode()
    (tmp_path / "mail.log.1").write_bytes(text)
    sink = StrictSink()
    collect_log(LocalFiles(), "gw1", str(tmp_path / "mail.log"), sink)
    (tmp_path / "mail.log.1.gz").write_bytes(gzip.compress(text))
    (tmp_path / "mail.log.1").unlink()
    entry = rotation_set(str(tmp_path / "mail.log"), LocalFiles().listdir(str(tmp_path)))[0]
    assert entry.compressed and plan_file(LocalFiles(), "gw1", entry, sink, final=True) is None
    assert sink.lines() == Counter(postfix_lines(0, 5))


def test_a_pass_reports_the_last_line_and_count_of_a_final_file_ending_without_newline(tmp_path: Path) -> None:
    old = postfix_lines(0, 4)
    (tmp_path / "mail.log.1").write_text("\n".join(old))  # rotated, last line without its newline
    (tmp_path / "mail.log").write_text("")  # the new log exists but is empty: mail.log.1 is not final yet
    sink = StrictSink()
    first = collect_log(LocalFiles(), "gw1", str(tmp_path / "mail.log"), sink)
    assert (first.files, first.lines, first.last_line) == (1, 11, old[-2])
    append(tmp_path / "mail.log", postfix_lines(4, 1))  # the live log started: mail.log.1 is final
    result = collect_log(LocalFiles(), "gw1", str(tmp_path / "mail.log"), sink)
    assert (result.files, result.lines, result.last_line) == (2, 4, postfix_lines(4, 1)[-1])
    again = collect_log(LocalFiles(), "gw1", str(tmp_path / "mail.log"), sink)
    assert (again.files, again.lines, again.last_line) == (0, 0, None)
    assert sink.lines() == Counter(postfix_lines(0, 5))


class Offset:
    """A sink that holds `end` bytes of every file (and takes nothing)."""

    def __init__(self, end: int) -> None:
        self.end = end

    def committed(self, gateway: str, file_id: str) -> int:
        return self.end

    def commit(self, chunk: Chunk) -> None:
        raise AssertionError("nothing is read by plan_file")


def test_a_file_partly_read_before_compression_is_finished_from_its_offset(tmp_path: Path) -> None:
    text = "".join(f"{x}\n" for x in postfix_lines(0, 100)).encode()
    (tmp_path / "mail.log.1").write_bytes(text)
    append(tmp_path / "mail.log", postfix_lines(100, 1))
    sink, stop = StrictSink(), threading.Event()
    collect_log(
        LocalFiles(),
        "gw1",
        str(tmp_path / "mail.log"),
        sink,
        chunk_bytes=4096,
        on_chunk=lambda _: stop.set(),
        stop=stop,
    )
    held = sum(len(c.data) for c in sink.chunks)
    assert 0 < held < len(text)
    (tmp_path / "mail.log.1.gz").write_bytes(gzip.compress(text))
    (tmp_path / "mail.log.1").unlink()
    entry = rotation_set(str(tmp_path / "mail.log"), LocalFiles().listdir(str(tmp_path)))[0]
    item = plan_file(LocalFiles(), "gw1", entry, sink, final=True)
    assert item is not None and (item.start, item.total) == (held, len(text))
    collect_log(LocalFiles(), "gw1", str(tmp_path / "mail.log"), sink)
    assert sink.lines() == Counter(postfix_lines(0, 101))


def test_a_compressed_file_beyond_4_gib_is_planned_in_the_4_gib_range_of_its_offset(tmp_path: Path) -> None:
    """gzip's trailer keeps the size modulo 2**32: the offset already held tells which 4 GiB range it is in."""
    (tmp_path / "big.gz").write_bytes(gzip.compress(b"first line\n" + b"x" * 90 + b"\n"))  # trailer: 102
    entry = LogFile(str(tmp_path / "big.gz"), (tmp_path / "big.gz").stat().st_size, 0.0, True, False)
    item = plan_file(LocalFiles(), "gw1", entry, Offset(2**32 + 50), final=True)
    assert item is not None and (item.start, item.total) == (2**32 + 50, 2**32 + 102)
    assert plan_file(LocalFiles(), "gw1", entry, Offset(2**32 + 102), final=True) is None
    assert plan_file(LocalFiles(), "gw1", entry, Offset(2 * 2**32 + 102), final=True) is None


def test_chunks_carry_their_files_mtime_and_the_pass_counts_every_chunk_and_line(tmp_path: Path) -> None:
    old, new = postfix_lines(0, 100), postfix_lines(100, 100)
    (tmp_path / "mail.log.1").write_text("".join(f"{x}\n" for x in old))
    append(tmp_path / "mail.log", new)
    os.utime(tmp_path / "mail.log.1", (1_700_000_000, 1_700_000_000))
    sink, handed = StrictSink(), []
    result = collect_log(
        LocalFiles(), "gw1", str(tmp_path / "mail.log"), sink, chunk_bytes=4096, on_chunk=handed.append
    )
    assert handed == sink.chunks and len(handed) > 4
    assert (result.chunks, result.lines, result.files) == (len(handed), 600, 2)
    assert {c.mtime for c in handed if c.path.endswith(".1")} == {1_700_000_000}
    assert {c.mtime for c in handed if c.path.endswith(".log")} == {(tmp_path / "mail.log").stat().st_mtime}


def test_a_resumed_pass_plans_only_the_bytes_not_held(tmp_path: Path) -> None:
    log = tmp_path / "mail.log"
    append(log, postfix_lines(0, 10))
    sink = StrictSink()
    collect_log(LocalFiles(), "gw1", str(log), sink)
    before = log.stat().st_size
    append(log, postfix_lines(10, 5))
    planned: list[tuple[str, int]] = []
    collect_log(LocalFiles(), "gw1", str(log), sink, on_plan=lambda g, n: planned.append((g, n)))
    assert planned == [("gw1", log.stat().st_size - before)]


def test_a_file_replaced_between_plan_and_read_is_skipped_with_a_warning_and_the_rest_is_read(tmp_path: Path) -> None:
    rotated = tmp_path / "mail.log.1"
    rotated.write_text("".join(f"{x}\n" for x in postfix_lines(0, 10)))
    append(tmp_path / "mail.log", postfix_lines(10, 10))

    class ReplacedAfterPlan(LocalFiles):
        """The rotated file gets another first line after it was planned, before it is read."""

        opened = 0

        @contextmanager
        def reader(self, path: str) -> Iterator[Callable[[int, int], bytes]]:
            if path == str(rotated):
                self.opened += 1
                if self.opened == 2:
                    rotated.write_text("".join(f"{x}\n" for x in postfix_lines(50, 10)))
            with super().reader(path) as fetch:
                yield fetch

    sink = StrictSink()
    result = collect_log(ReplacedAfterPlan(), "gw1", str(tmp_path / "mail.log"), sink)
    assert result.warnings == [f"{rotated} changed identity before it was read"]
    assert sink.lines() == Counter(postfix_lines(10, 10)) and result.files == 1


def test_savelogs_dot_0_is_the_newest_rotated_file_and_ties_keep_the_listing_order() -> None:
    listing = [("mail.log", 1, 0.0), ("mail.log.0", 1, 0.0), ("mail.log.1.gz", 1, 0.0)]  # savelog's scheme
    assert rotated("mail.log", listing) == ["mail.log.1.gz", "mail.log.0", "mail.log"]
    same_day = [("mail.log.20260101", 2, 0.0), ("mail.log-20260101", 1, 0.0)]  # two styles, one rank
    assert rotated("mail.log", same_day) == ["mail.log.20260101", "mail.log-20260101"]


def test_a_live_log_whose_first_line_is_empty_has_started(tmp_path: Path) -> None:
    (tmp_path / "mail.log.1").write_text("first\nlast without newline")
    (tmp_path / "mail.log").write_text("\n")  # an empty first line is a complete one
    sink = StrictSink()
    collect_log(LocalFiles(), "gw1", str(tmp_path / "mail.log"), sink)
    assert sink.lines() == Counter(["first", "last without newline", ""])
