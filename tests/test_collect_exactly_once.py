"""Exactly once in the collector: a pass stopped midway, what a pass reports, what it skips.

Local files and the strict in-memory sink of test_collect_local (it fails on any gap or overlap);
every check is on counts and events, none on time.
"""

from __future__ import annotations

import gzip
import threading
from collections import Counter
from pathlib import Path

from ingest.collect import collect_log, plan
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
