"""`relaywatch run` and `status`: collection, processing and queue snapshots on configured intervals.

Composition: each gateway has its own thread (SSH pull or local follow) committing chunks to the lake, so
an unreachable gateway only delays itself; commits wake one processing thread that brings the derived
tables up to date; queue snapshots are taken by each gateway's thread when due. Logs are JSON lines on
stderr. Intervals come from the `[collect]` table of DIR/relaywatch.toml (see `Settings`).

The gateway commands (`gateway add/list/remove/test`) live here too: they need both the registry and an
SSH connection.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from ingest.chunks import Chunk, ChunkSink
from ingest.follow import LocalCollector, LocalFiles
from ingest.gateways import (
    Gateway,
    GatewayError,
    delete_gateway,
    get_gateway,
    known_hosts_path,
    load_gateways,
    make_gateway,
    save_gateway,
)
from ingest.queue import local_runner, snapshot_queue
from ingest.ssh import (
    Backoff,
    CollectError,
    CollectResult,
    PermanentError,
    SSHCollector,
    connect,
    rotation_set,
)
from ingest.status import (
    forget_status,
    lag_seconds,
    read_status,
    record_failure,
    record_success,
    update_status,
)
from relaywatch import home as homes
from warehouse.classify import load_rules
from warehouse.lake import Lake
from warehouse.pipeline import process

log = logging.getLogger("relaywatch.scheduler")
REGISTRY_SECONDS = 2.0
"""How often `run` re-reads the gateway registry."""
Collector = SSHCollector | LocalCollector


@dataclass(frozen=True)
class Settings:
    """`[collect]` in relaywatch.toml; every key is optional."""

    poll_seconds: float = 10.0
    """Pause between two passes over an SSH gateway once it is caught up."""
    follow_seconds: float = 1.0
    """Longest pause between two passes over a local gateway (file events wake it sooner)."""
    follow_min_seconds: float = 0.5
    """Shortest pause between two passes over a local gateway: a busy log makes fewer, larger commits."""
    process_seconds: float = 60.0
    """Processing runs after new commits, and at least this often."""
    process_delay: float = 0.2
    """Wait after a commit before processing, so commits arriving together are processed together."""
    queue_seconds: float = 300.0
    """Pause between two queue snapshots of a gateway (0 disables snapshots)."""
    backoff_seconds: float = 1.0
    """First retry delay after a failure; it doubles up to backoff_max_seconds."""
    backoff_max_seconds: float = 300.0
    timeout_seconds: float = 15.0
    """SSH connect and request timeout."""
    attempts: int = 3
    """Tries per gateway in `run --once` before giving up until the next run."""
    chunk_bytes: int = 16 * 1024 * 1024
    """Largest chunk read and committed at once."""
    progress_bytes: int = 64 * 1024 * 1024
    """A gateway with more than this to backfill gets a progress bar (on a terminal)."""


def load_settings(home: Path) -> Settings:
    """Settings from the home's `[collect]` table, refusing unknown keys (a typo must not go unnoticed)."""
    table = homes.load_config(home).get("collect", {})
    known = {field.name: field.type for field in fields(Settings)}
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise homes.HomeError(f"[collect] in {homes.CONFIG_NAME}: unknown keys {', '.join(unknown)}")
    values = {}
    for name, value in table.items():
        cast = int if known[name] == "int" else float
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise homes.HomeError(f"[collect] {name} = {value!r}: expected a non-negative number")
        values[name] = cast(value)
    return Settings(**values)


class JsonLines(logging.Handler):
    """Log records as one JSON object per line on the current sys.stderr (so rich's progress bar,
    which swaps sys.stderr while it draws, keeps log lines above the bar)."""

    def emit(self, record: logging.LogRecord) -> None:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "event": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exception"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        try:
            sys.stderr.write(json.dumps(entry, default=str) + "\n")
            sys.stderr.flush()
        except (OSError, ValueError):
            self.handleError(record)


def setup_logging(level: int = logging.INFO) -> None:
    """Send relaywatch's logs to stderr as JSON lines (once per process)."""
    logger = logging.getLogger("relaywatch")
    if not any(isinstance(handler, JsonLines) for handler in logger.handlers):
        logger.addHandler(JsonLines())
        logger.propagate = False
    logger.setLevel(level)


def event(level: int, name: str, **values: Any) -> None:
    """Log one structured event."""
    log.log(level, name, extra={"fields": values})


class SharedLake:
    """One lake shared by the gateway threads (a ChunkSink): commits are serialised, and log commits wake
    the processing thread."""

    def __init__(self, lake: Lake, committed: threading.Event) -> None:
        self.lake = lake
        self.committed_event = committed
        self._lock = threading.Lock()

    def committed(self, gateway: str, file_id: str) -> int:
        with self._lock:
            return self.lake.committed(gateway, file_id)

    def commit(self, chunk: Chunk) -> None:
        with self._lock:
            self.lake.commit(chunk)
        self.committed_event.set()

    def commit_queue(self, gateway: str, rows: pl.DataFrame) -> None:
        with self._lock:
            self.lake.commit_queue(gateway, rows)


class Backfill:
    """A rich progress bar per gateway whose first pass has a lot to read (only on a terminal)."""

    def __init__(self, threshold: int, console: Console) -> None:
        self.threshold = threshold
        self.console = console
        self.progress: Progress | None = None
        self.tasks: dict[str, Any] = {}
        self._lock = threading.Lock()

    def planned(self, gateway: str, total: int) -> None:
        if not self.console.is_terminal or total < self.threshold:
            return
        with self._lock:
            if self.progress is None:
                self.progress = Progress(
                    TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                    TimeRemainingColumn(), console=self.console,
                )
                self.progress.start()
            self.tasks[gateway] = self.progress.add_task(f"backfill {gateway}", total=total)

    def chunk(self, chunk: Chunk) -> None:
        task = self.tasks.get(chunk.gateway)
        if task is not None and self.progress is not None:
            self.progress.advance(task, chunk.end - chunk.start)

    def finished(self, gateway: str) -> None:
        with self._lock:
            task = self.tasks.pop(gateway, None)
            if task is not None and self.progress is not None:
                self.progress.update(task, completed=self.progress.tasks[task].total)
                if not self.tasks:
                    self.progress.stop()
                    self.progress = None

    def close(self) -> None:
        with self._lock:
            if self.progress is not None:
                self.progress.stop()
                self.progress = None


@contextmanager
def gateway_lock(home: Path, name: str, *, wait: threading.Event | None = None) -> Iterator[bool]:
    """Per-gateway lock across processes: True when this process may collect the gateway.

    Without `wait` it does not block (a cron `run --once` overlapping a long-running `run` skips the
    gateway instead of racing it); with `wait` it retries every second until it gets the lock or `wait`
    is set (a `run` takes over once the other process is done).
    """
    folder = home / ".locks"
    folder.mkdir(parents=True, exist_ok=True)
    waited = False
    with (folder / f"collect-{name}").open("a") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if wait is None or wait.is_set():
                    yield False
                    return
                if not waited:
                    event(logging.INFO, "collect_waiting", gateway=name, reason="collected by another process")
                    waited = True
                wait.wait(1.0)
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def make_collector(home: Path, gateway: Gateway, settings: Settings) -> Collector:
    if gateway.local:
        return LocalCollector(gateway)
    return SSHCollector(home, gateway, timeout=settings.timeout_seconds)


def queue_runner(collector: Collector, settings: Settings) -> Callable[[str], bytes]:
    """Runs the queue command where the gateway is: over the collector's SSH session, or locally."""
    if isinstance(collector, SSHCollector):
        return lambda command: collector.run(command, timeout=settings.timeout_seconds * 4)
    return local_runner(settings.timeout_seconds * 4)


def take_queue_snapshot(home: Path, collector: Collector, lake: SharedLake, settings: Settings) -> None:
    """One queue snapshot into the lake; failures are logged and recorded, never fatal."""
    gateway = collector.gateway
    started = time.monotonic()
    try:
        frame = snapshot_queue(gateway, queue_runner(collector, settings), lake.commit_queue)
    except Exception as exc:  # a snapshot failure must not stop log collection
        update_status(home, gateway.name, queue_error=str(exc), queue_error_at=datetime.now(UTC).isoformat())
        event(logging.WARNING, "queue_failed", gateway=gateway.name, error=str(exc))
        return
    update_status(home, gateway.name, queue_messages=frame.height,
                  queue_at=datetime.now(UTC).isoformat(timespec="seconds"), queue_error=None)
    event(logging.INFO, "queue_snapshot", gateway=gateway.name, messages=frame.height,
          seconds=round(time.monotonic() - started, 3))


def collect_pass(
    home: Path, collector: Collector, sink: ChunkSink, settings: Settings, backfill: Backfill,
    stop: threading.Event | None = None,
) -> CollectResult:
    """One pass over one gateway, with its outcome logged and recorded in the status file."""
    name = collector.gateway.name
    result = collector.poll(sink, chunk_bytes=settings.chunk_bytes, on_plan=backfill.planned,
                            on_chunk=backfill.chunk, stop=stop)
    backfill.finished(name)
    record_success(home, name, lines=result.lines, bytes_read=result.bytes, bytes_behind=result.bytes_behind,
                   last_line=result.last_line, warnings=result.warnings, started=result.started)
    if result.lines or result.warnings:
        event(logging.INFO, "collected", gateway=name, lines=result.lines, bytes=result.bytes,
              chunks=result.chunks, files=result.files, bytes_behind=result.bytes_behind,
              seconds=round(time.time() - result.started, 3), warnings=result.warnings or None)
    return result


def report_failure(home: Path, name: str, exc: Exception, retry_in: float | None) -> None:
    stopped = isinstance(exc, PermanentError)
    record_failure(home, name, str(exc), stopped=stopped, retry_in=None if stopped else retry_in)
    if stopped:
        event(logging.ERROR, "gateway_stopped", gateway=name, error=str(exc))
    elif isinstance(exc, CollectError):
        event(logging.WARNING, "collect_failed", gateway=name, error=str(exc), retry_in=retry_in)
    else:
        log.error("collect_failed", exc_info=exc, extra={"fields": {"gateway": name, "retry_in": retry_in}})


def collect_with_retries(
    home: Path, gateway: Gateway, sink: ChunkSink, settings: Settings, backfill: Backfill
) -> CollectResult | Exception | None:
    """`run --once` for one gateway: a few tries with back-off, then give up until the next run.

    Returns the pass's result, the last error, or None when another process is collecting the gateway.
    """
    with gateway_lock(home, gateway.name) as mine:
        if not mine:
            event(logging.INFO, "collect_skipped", gateway=gateway.name,
                  reason="collected by another process")
            return None
        collector = make_collector(home, gateway, settings)
        backoff = Backoff(settings.backoff_seconds, settings.backoff_max_seconds)
        try:
            for attempt in range(1, max(1, settings.attempts) + 1):
                try:
                    return collect_pass(home, collector, sink, settings, backfill)
                except Exception as exc:  # recorded and reported per gateway, never raised
                    if attempt >= settings.attempts or isinstance(exc, PermanentError):
                        report_failure(home, gateway.name, exc, None)
                        return exc
                    delay = backoff.next()
                    report_failure(home, gateway.name, exc, delay)
                    time.sleep(delay)
            return None
        finally:
            collector.close()


class GatewayWorker(threading.Thread):
    """The long-running loop of one gateway: pass, wait, retry with back-off, snapshot the queue."""

    def __init__(self, home: Path, gateway: Gateway, lake: SharedLake, settings: Settings,
                 backfill: Backfill) -> None:
        super().__init__(name=f"collect-{gateway.name}", daemon=True)
        self.home, self.gateway, self.lake = home, gateway, lake
        self.settings, self.backfill = settings, backfill
        self.stop = threading.Event()
        self.wake = threading.Event()

    def halt(self) -> None:
        """Ask the loop to end after the chunk it is committing."""
        self.stop.set()
        self.wake.set()

    def run(self) -> None:
        with gateway_lock(self.home, self.gateway.name, wait=self.stop) as mine:
            if not mine:
                return
            collector = make_collector(self.home, self.gateway, self.settings)
            try:
                self.loop(collector)
            finally:
                collector.close()

    def loop(self, collector: Collector) -> None:
        settings = self.settings
        backoff = Backoff(settings.backoff_seconds, settings.backoff_max_seconds)
        if isinstance(collector, LocalCollector):
            collector.start_watch(self.wake)
        local = isinstance(collector, LocalCollector)
        pause = settings.follow_seconds if local else settings.poll_seconds
        next_queue = time.monotonic()
        while not self.stop.is_set():
            self.wake.clear()
            try:
                collect_pass(self.home, collector, self.lake, settings, self.backfill, self.stop)
                backoff.reset()
                delay = pause
            except PermanentError as exc:
                report_failure(self.home, self.gateway.name, exc, None)
                self.wait_for_operator()
                continue
            except Exception as exc:  # a gateway thread must never die
                delay = backoff.next()
                report_failure(self.home, self.gateway.name, exc, delay)
                self.stop.wait(delay)  # the back-off holds even while file events keep waking the follower
                continue
            if settings.queue_seconds and time.monotonic() >= next_queue and backoff.failures == 0:
                take_queue_snapshot(self.home, collector, self.lake, settings)
                next_queue = time.monotonic() + settings.queue_seconds
            if local and backoff.failures == 0:
                self.stop.wait(settings.follow_min_seconds)
                delay -= settings.follow_min_seconds
            self.wake.wait(max(0.0, delay))

    def wait_for_operator(self) -> None:
        """After a host key change: no retry until the pinned keys change (a changed registry entry
        restarts the worker instead)."""
        path = known_hosts_path(self.home)

        def mark() -> float:
            return path.stat().st_mtime if path.exists() else 0.0

        before = mark()
        while not self.stop.is_set() and mark() == before:
            self.wake.wait(5.0)


class Processor(threading.Thread):
    """Brings the derived tables up to date after commits (and at least every process_seconds)."""

    def __init__(self, home: Path, settings: Settings, committed: threading.Event, stop: threading.Event):
        super().__init__(name="process", daemon=True)
        self.home, self.settings, self.committed, self.stop = home, settings, committed, stop

    def run(self) -> None:
        lake = homes.open_lake(self.home)
        while not self.stop.is_set():
            self.committed.wait(self.settings.process_seconds)
            if self.stop.is_set():
                break
            self.stop.wait(self.settings.process_delay)
            self.committed.clear()
            run_process(lake, self.home)


def run_process(lake: Lake, home: Path) -> dict[str, Any]:
    """One processing run, logged; a failure (a broken local rule included) is logged and returned as
    {"error": ...} (the next run resumes from what the lake holds). Local rules are read at each run, so
    an operator's fix applies without a restart."""
    started = time.monotonic()
    try:
        stats = process(lake, rules=load_rules(home / homes.CONFIG_NAME))
    except Exception as exc:  # processing retries on the next commit or interval
        log.error("process_failed", exc_info=exc, extra={"fields": {}})
        return {"error": f"{type(exc).__name__}: {exc}"}
    summary = {"lines": stats.lines, "rows": dict(stats.rows), "open_messages": stats.open_messages,
               "seconds": round(time.monotonic() - started, 3)}
    if stats.lines:
        event(logging.INFO, "processed", **summary)
    return summary


def run(home: Path, once: bool = False, *, stop: threading.Event | None = None) -> dict[str, Any]:
    """Collect every gateway, process, snapshot queues: once, or continuously until SIGTERM/SIGINT.

    `once` (cron, systemd timer) returns a summary with each gateway's outcome; continuous mode returns
    when `stop` is set or a signal arrives.
    """
    homes.open_home(home, create=False)
    setup_logging()
    settings = load_settings(home)
    gateways = load_gateways(home)
    if not gateways:
        raise GatewayError("no gateway registered: add one with `relaywatch gateway add`")
    backfill = Backfill(settings.progress_bytes, Console(stderr=True))
    committed = threading.Event()
    lake = SharedLake(homes.open_lake(home), committed)
    event(logging.INFO, "run_started", gateways=sorted(gateways), once=once)
    try:
        if once:
            return run_once(home, gateways, lake, settings, backfill)
        run_forever(home, gateways, lake, settings, backfill, stop or threading.Event())
        return {}
    finally:
        backfill.close()


def run_once(home: Path, gateways: dict[str, Gateway], lake: SharedLake, settings: Settings,
             backfill: Backfill) -> dict[str, Any]:
    """Each gateway collected in parallel (a few tries each), then processing, then queue snapshots."""
    with ThreadPoolExecutor(max_workers=len(gateways), thread_name_prefix="collect") as pool:
        futures = {name: pool.submit(collect_with_retries, home, gw, lake, settings, backfill)
                   for name, gw in gateways.items()}
        outcomes = {name: future.result() for name, future in futures.items()}
    processed = run_process(homes.open_lake(home), home)
    if settings.queue_seconds:
        with ThreadPoolExecutor(max_workers=len(gateways), thread_name_prefix="queue") as pool:
            for name, gateway in gateways.items():
                if isinstance(outcomes[name], CollectResult):
                    pool.submit(snapshot_once, home, gateway, lake, settings)
    failed = {name: str(outcome) for name, outcome in outcomes.items() if isinstance(outcome, Exception)}
    collected = {name: {"lines": outcome.lines, "bytes": outcome.bytes, "bytes_behind": outcome.bytes_behind}
                 for name, outcome in outcomes.items() if isinstance(outcome, CollectResult)}
    skipped = sorted(name for name, outcome in outcomes.items() if outcome is None)
    event(logging.INFO, "run_finished", collected=collected, failed=failed or None, skipped=skipped or None)
    return {"collected": collected, "failed": failed, "skipped": skipped, "processed": processed}


def snapshot_once(home: Path, gateway: Gateway, lake: SharedLake, settings: Settings) -> None:
    collector = make_collector(home, gateway, settings)
    try:
        take_queue_snapshot(home, collector, lake, settings)
    finally:
        collector.close()


def run_forever(home: Path, gateways: dict[str, Gateway], lake: SharedLake, settings: Settings,
                backfill: Backfill, stop: threading.Event) -> None:
    """One thread per gateway and one processing thread, until `stop` or SIGTERM/SIGINT.

    The registry is re-read every few seconds: an added gateway starts, a removed one stops, a changed
    one restarts, without restarting `run`.
    """
    workers: dict[str, GatewayWorker] = {}
    processor = Processor(home, settings, lake.committed_event, stop)

    def halt(signum: int, _frame: object) -> None:
        event(logging.INFO, "run_stopping", signal=signal.Signals(signum).name)
        stop.set()

    def stop_worker(name: str) -> None:
        worker = workers.pop(name)
        worker.halt()
        worker.join(timeout=settings.timeout_seconds + 5)

    def sync(current: dict[str, Gateway]) -> None:
        for name in [n for n, worker in workers.items() if current.get(n) != worker.gateway]:
            stop_worker(name)
            event(logging.INFO, "gateway_stopped" if name not in current else "gateway_changed", gateway=name)
        for name in sorted(set(current) - set(workers)):
            workers[name] = GatewayWorker(home, current[name], lake, settings, backfill)
            workers[name].start()

    in_main = threading.current_thread() is threading.main_thread()
    previous = {sig: signal.signal(sig, halt) for sig in (signal.SIGTERM, signal.SIGINT)} if in_main else {}
    try:
        processor.start()
        sync(gateways)
        while not stop.wait(REGISTRY_SECONDS):
            try:
                sync(load_gateways(home))
            except GatewayError as exc:
                event(logging.ERROR, "registry_unreadable", error=str(exc))
        for name in list(workers):
            workers[name].halt()
        for name in list(workers):
            stop_worker(name)
        lake.committed_event.set()
        processor.join(timeout=settings.timeout_seconds + 5)
        run_process(homes.open_lake(home), home)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    event(logging.INFO, "run_stopped")


def status(home: Path) -> list[dict[str, Any]]:
    """Per registered gateway: state, last line collected, lag, bytes behind, last error, queue size."""
    homes.open_home(home, create=False)
    recorded = read_status(home)
    now = datetime.now(UTC)
    rows = []
    for name, gateway in sorted(load_gateways(home).items()):
        entry = recorded.get(name, {})
        lag = lag_seconds(entry, now)
        rows.append({
            "gateway": name,
            "target": gateway.target,
            "log": gateway.log,
            "state": entry.get("state", "never collected"),
            "last_line": entry.get("last_line"),
            "last_line_at": entry.get("last_line_at"),
            "lag_seconds": None if lag is None else round(lag, 1),
            "bytes_behind": entry.get("bytes_behind"),
            "last_error": entry.get("last_error"),
            "last_error_at": entry.get("last_error_at"),
            "next_try_at": entry.get("next_try_at"),
            "lines_total": entry.get("lines_total", 0),
            "queue_messages": entry.get("queue_messages"),
            "queue_at": entry.get("queue_at"),
            "queue_error": entry.get("queue_error"),
        })
    return rows


def gateway_add(
    home: Path, name: str, *, log_path: str, ssh: str | None = None, key: str | None = None,
    ips: tuple[str, ...] = (), accept_host_key: bool = False, queue_command: str | None = None,
) -> dict[str, Any]:
    """Register a gateway after checking it: SSH ones are contacted (host key pinned with
    `accept_host_key` on first contact, key authentication, log folder readable); local ones need a
    readable log folder."""
    homes.open_home(home, create=True)
    extra = {"queue_command": queue_command} if queue_command else {}
    gateway = make_gateway(name, log=log_path, ssh=ssh, key=key, ips=ips, **extra)
    if gateway.name in load_gateways(home):
        raise GatewayError(f"gateway {gateway.name} already exists (remove it first)")
    report = probe(home, gateway, accept_host_key=accept_host_key)
    save_gateway(home, gateway)
    return report


def gateway_list(home: Path) -> list[Gateway]:
    """Registered gateways, by name."""
    homes.open_home(home, create=False)
    return [gateway for _, gateway in sorted(load_gateways(home).items())]


def gateway_remove(home: Path, name: str) -> Gateway:
    """Unregister a gateway (and its pinned key and status); what it collected stays in the lake."""
    homes.open_home(home, create=False)
    gateway = delete_gateway(home, name)
    forget_status(home, name)
    return gateway


def gateway_test(home: Path, name: str, *, accept_host_key: bool = False) -> dict[str, Any]:
    """Check a registered gateway end to end: host key, login, log files, queue command."""
    homes.open_home(home, create=False)
    return probe(home, get_gateway(home, name), accept_host_key=accept_host_key, queue=True)


def probe(home: Path, gateway: Gateway, *, accept_host_key: bool, queue: bool = False) -> dict[str, Any]:
    """What a gateway shows of itself: host key fingerprint, the log's rotation set, the queue command."""
    report: dict[str, Any] = {"gateway": gateway.name, "target": gateway.target, "log": gateway.log}
    directory = os.path.dirname(gateway.log)
    session = None if gateway.local else connect(home, gateway, accept_host_key=accept_host_key)
    with session or nullcontext():
        files = LocalFiles() if session is None else session.files
        try:
            listing = files.listdir(directory)
        except OSError as exc:
            raise CollectError(f"gateway {gateway.name}: cannot list {directory}: {exc}") from exc
        report["files"] = [{"path": f.path, "size": f.size, "compressed": f.compressed}
                           for f in rotation_set(gateway.log, listing)]
        if session is not None:
            report["host_key"] = session.fingerprint
        if queue:
            run_command = local_runner() if session is None else session.run
            try:
                output = run_command(gateway.queue_command)
                report["queue"] = f"ok: {len(output.splitlines())} queued messages"
            except CollectError as exc:
                report["queue"] = f"failed: {exc}"
    return report
