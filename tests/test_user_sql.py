"""User SQL runs in a child process within bounded time (output included), rows, bytes and memory.

The bounds are those of `[sql]` (documented in the README). Each test measures what it claims: the wall
time with a clock, the memory of this (the caller's) process with psutil while the query runs.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import psutil
import pytest

from acl import USER, Scope, User, check_user_sql, make_grant, scope_for
from relaywatch.core import SqlSection
from relaywatch.loggen import generate
from warehouse import Lake, QueryError, UserQuery, Warehouse, csv_chunks, ingest, run_user_sql

LIMITS = SqlSection(seconds=8, max_rows=5000, max_bytes=16 * 2**20, memory="256MB", process_memory_bytes=768 * 2**20)
CALLER_GROWTH = 150 * 2**20
"""The caller holds one batch of at most ~8 MiB at a time: its memory may not grow by more than this."""


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    root = tmp_path_factory.mktemp("usersql")
    generate(
        None,
        days=1,
        gateways=["gw-a"],
        seed=5,
        start=datetime(2026, 11, 20, tzinfo=UTC),
        per_gateway_dir=root / "logs",
        messages_per_day=200,
    )
    lake = Lake(root / "lake")
    ingest(lake, "gw-a", root / "logs" / "gw-a.log")
    return lake


@pytest.fixture(scope="module")
def sender(lake: Lake) -> str:
    frame = Warehouse(lake, Scope.root()).query("SELECT min(sender) AS s FROM deliveries WHERE sender <> ''")
    return frame["s"][0]


def user_scope(sender: str) -> Scope:
    return scope_for(User(3, "customer", USER, grants=(make_grant("sender", sender),)))


def run(lake: Lake, scope: Scope, sql: str, limits: SqlSection = LIMITS) -> UserQuery:
    return run_user_sql(lake.root, lake.timezone, scope, sql, guard=check_user_sql, limits=limits)


class PeakMemory:
    """The peak resident memory of this process while the block runs, sampled every 10 ms."""

    def __enter__(self) -> PeakMemory:
        self.process = psutil.Process()
        self.start = self.peak = self.process.memory_info().rss
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def _sample(self) -> None:
        while not self.done.wait(0.01):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.thread.join()

    @property
    def growth(self) -> int:
        return self.peak - self.start


def command_line(process: psutil.Process) -> list[str]:
    """A process's command line; empty for one that has ended (a zombie left by an earlier test)."""
    try:
        return process.cmdline()
    except (psutil.ZombieProcess, psutil.NoSuchProcess):
        return []


def drain(query: UserQuery, per_batch: float = 0.0) -> tuple[int, int]:
    rows = size = 0
    for batch in query:
        rows, size = rows + batch.num_rows, size + batch.nbytes
        time.sleep(per_batch)
    return rows, size


def test_a_scoped_query_returns_only_the_users_rows(lake: Lake, sender: str) -> None:
    rows = [b.to_pylist() for b in run(lake, user_scope(sender), "SELECT DISTINCT sender FROM deliveries")]
    assert [r["sender"] for batch in rows for r in batch] == [sender]


def test_the_guard_runs_for_every_role_root_included(lake: Lake) -> None:
    with pytest.raises(QueryError, match="read_csv.. is not allowed"):
        run(lake, Scope.root(), "SELECT * FROM read_csv('/etc/passwd')")
    bypass = (
        "WITH RECURSIVE _lake_deliveries AS (SELECT gateway FROM _lake_deliveries UNION ALL "
        "SELECT gateway FROM _lake_deliveries WHERE false) SELECT count(*) FROM _lake_deliveries"
    )
    with pytest.raises(QueryError, match="refused"):
        run(lake, Scope.root(), bypass)


def test_huge_strings_stop_the_query_and_the_caller_stays_small(lake: Lake, sender: str) -> None:
    """Three 1.5 GB string columns: the child is stopped (memory or byte bound), the caller holds none."""
    sql = "SELECT repeat('x', 1500000000) AS a, repeat('y', 1500000000) AS b, repeat('z', 1500000000) AS c"
    started = time.monotonic()
    with PeakMemory() as memory:
        try:
            query = run(lake, user_scope(sender), sql)
            rows, _ = drain(query)
            outcome = query.truncated
            assert rows == 0
        except QueryError as exc:
            outcome = [str(exc)]
    assert outcome, "the query must be stopped or its result cut, and say so"
    assert time.monotonic() - started < LIMITS.seconds + 2
    assert memory.growth < CALLER_GROWTH, f"the caller grew by {memory.growth / 2**20:.0f} MiB ({outcome})"


def test_many_rows_are_cut_at_the_row_limit_and_say_so(lake: Lake, sender: str) -> None:
    query = run(lake, user_scope(sender), "SELECT range AS n FROM range(1000000)")
    rows, _ = drain(query)
    assert rows == LIMITS.max_rows
    assert query.truncated == [f"result cut at {LIMITS.max_rows} rows (the row limit)"]


def test_many_bytes_are_cut_at_the_byte_limit(lake: Lake, sender: str) -> None:
    query = run(lake, user_scope(sender), "SELECT repeat('x', 100000) AS s FROM range(4000)")
    _, size = drain(query)
    assert size <= LIMITS.max_bytes
    assert query.truncated and "bytes" in query.truncated[0]


def test_slow_output_is_stopped_at_the_time_limit_output_included(lake: Lake, sender: str) -> None:
    """A cross join written slowly (a reader that takes its time): the deadline includes the writing."""
    limits = SqlSection(seconds=2, max_rows=10**9, max_bytes=2**40, memory="256MB")
    sql = "SELECT d.*, r.range FROM deliveries d, range(100000) r"
    started = time.monotonic()
    with pytest.raises(QueryError, match="longer than 2 s"):
        query = run(lake, user_scope(sender), sql, limits)
        for _chunk in csv_chunks(query, query.schema.names):
            time.sleep(0.05)
    assert time.monotonic() - started < 4


def test_a_query_that_never_ends_is_killed_at_the_deadline(lake: Lake, sender: str) -> None:
    limits = SqlSection(seconds=1.5, memory="256MB")
    started = time.monotonic()
    with pytest.raises(QueryError, match="longer than 1.5 s"):
        drain(run(lake, user_scope(sender), "SELECT count(*) FROM range(100000000000) a", limits))
    assert time.monotonic() - started < 3.5


def query_workers() -> list[psutil.Process]:
    """The processes running user queries (forked by the forkserver) right now, zombies left out."""
    servers = [p for p in psutil.Process().children() if "forkserver" in " ".join(command_line(p))]
    return [w for server in servers for w in server.children() if command_line(w)]


def test_other_users_keep_getting_answers_while_a_heavy_query_runs(lake: Lake, sender: str) -> None:
    """A query that would run for a minute in its own process; three light queries answer meanwhile.
    No clock decides it: the heavy one is known to be running (its process exists, its thread has not
    ended) before and after the light ones, and is then stopped by killing its process."""
    before = {w.pid for w in query_workers()}
    heavy_done = threading.Event()
    failure: list[QueryError] = []

    def heavy() -> None:
        try:
            drain(
                run(
                    lake,
                    Scope.root(),
                    "SELECT count(*) FROM range(100000000000) a",
                    SqlSection(seconds=60, memory="256MB"),
                )
            )
        except QueryError as exc:
            failure.append(exc)
        finally:
            heavy_done.set()

    thread = threading.Thread(target=heavy)
    thread.start()
    deadline = time.monotonic() + 30
    while not (running := [w for w in query_workers() if w.pid not in before]):
        assert time.monotonic() < deadline, "the heavy query's process never started"
        time.sleep(0.05)
    for _ in range(3):
        rows, _ = drain(run(lake, user_scope(sender), "SELECT count(*) AS n FROM deliveries"))
        assert rows == 1
    assert not heavy_done.is_set(), "the heavy query was still running while the others answered"
    for worker in running:
        worker.kill()
    thread.join(30)
    assert heavy_done.is_set() and failure, "killing its process ends the heavy query with an error"


def test_an_abandoned_result_stops_its_process(lake: Lake, sender: str) -> None:
    query = run(
        lake, user_scope(sender), "SELECT range FROM range(1000000)", SqlSection(max_rows=10**7, memory="256MB")
    )
    batches = query.batches
    next(batches)
    workers = query_workers()
    assert workers, "the query runs in a process of its own, forked by the forkserver"
    batches.close()  # type: ignore[attr-defined]
    _, alive = psutil.wait_procs(workers, timeout=5)
    assert alive == []
