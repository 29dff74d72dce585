"""`relaywatch run`: collection, processing and queue snapshots on configured intervals.

Composition: each gateway has its own thread (SSH pull or local follow, behind ingest's `Collector`)
committing chunks to the lake, so an unreachable gateway only delays itself; commits wake one processing
thread that brings the derived tables up to date; queue snapshots are taken by each gateway's thread when
due. Logs are JSON lines on stderr (relaywatch.jsonlog). Intervals come from `[collect]` of
relaywatch.toml (relaywatch.core.CollectSection).
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl
from rich.console import Console

from ingest import (
    Backoff,
    Chunk,
    ChunkSink,
    CollectError,
    Collector,
    CollectResult,
    Gateway,
    GatewayError,
    PermanentError,
    known_hosts_path,
    load_gateways,
    open_collector,
    record_failure,
    record_success,
    snapshot_queue,
    update_status,
)
from relaywatch.core import CollectSection, file_lock, load_config, locks_dir, open_home
from relaywatch.fbl import fbl_pass, start_fbl_worker
from relaywatch.jsonlog import event, failure, setup_logging
from relaywatch.output import Backfill
from reports import ReportScheduler, send_due_reports
from warehouse import Lake, load_rules, open_lake, process

REGISTRY_SECONDS = 2.0
"""How often `run` re-reads the gateway registry."""


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


@contextmanager
def gateway_lock(home: Path, name: str, *, wait: threading.Event | None = None) -> Iterator[bool]:
    """Per-gateway lock across processes: True when this process may collect the gateway.

    Without `wait` it does not block (a cron `run --once` overlapping a long-running `run` skips the
    gateway instead of racing it); with `wait` it retries every second until it gets the lock or `wait`
    is set (a `run` takes over once the other process is done).
    """
    path = locks_dir(home) / f"collect-{name}"
    with file_lock(path, wait=False) as mine:
        if mine or wait is None:
            yield mine
            return
    event(logging.INFO, "collect_waiting", gateway=name, reason="collected by another process")
    with file_lock(path, wait=wait) as mine:
        yield mine


def make_collector(home: Path, gateway: Gateway, settings: CollectSection) -> Collector:
    return open_collector(home, gateway, timeout=settings.timeout_seconds)


def take_queue_snapshot(home: Path, collector: Collector, lake: SharedLake, settings: CollectSection) -> None:
    """One queue snapshot into the lake; failures are logged and recorded, never fatal."""
    gateway = collector.gateway
    started = time.monotonic()
    try:
        frame = snapshot_queue(
            gateway, lambda command: collector.run(command, settings.timeout_seconds * 4), lake.commit_queue
        )
    except Exception as exc:  # a snapshot failure must not stop log collection
        update_status(home, gateway.name, queue_error=str(exc), queue_error_at=datetime.now(UTC).isoformat())
        event(logging.WARNING, "queue_failed", gateway=gateway.name, error=str(exc))
        return
    update_status(
        home,
        gateway.name,
        queue_messages=frame.height,
        queue_at=datetime.now(UTC).isoformat(timespec="seconds"),
        queue_error=None,
    )
    event(
        logging.INFO,
        "queue_snapshot",
        gateway=gateway.name,
        messages=frame.height,
        seconds=round(time.monotonic() - started, 3),
    )


def collect_pass(
    home: Path,
    collector: Collector,
    sink: ChunkSink,
    settings: CollectSection,
    backfill: Backfill,
    stop: threading.Event | None = None,
) -> CollectResult:
    """One pass over one gateway, with its outcome logged and recorded in the status file."""
    name = collector.gateway.name
    result = collector.poll(
        sink, chunk_bytes=settings.chunk_bytes, on_plan=backfill.planned, on_chunk=backfill.chunk, stop=stop
    )
    backfill.finished(name)
    record_success(
        home,
        name,
        lines=result.lines,
        bytes_read=result.bytes,
        bytes_behind=result.bytes_behind,
        last_line=result.last_line,
        warnings=result.warnings,
        started=result.started,
    )
    if result.lines or result.warnings:
        event(
            logging.INFO,
            "collected",
            gateway=name,
            lines=result.lines,
            bytes=result.bytes,
            chunks=result.chunks,
            files=result.files,
            bytes_behind=result.bytes_behind,
            seconds=round(time.time() - result.started, 3),
            warnings=result.warnings or None,
        )
    return result


def report_failure(home: Path, name: str, exc: Exception, retry_in: float | None) -> None:
    stopped = isinstance(exc, PermanentError)
    record_failure(home, name, str(exc), stopped=stopped, retry_in=None if stopped else retry_in)
    if stopped:
        event(logging.ERROR, "gateway_stopped", gateway=name, error=str(exc))
    elif isinstance(exc, CollectError):
        event(logging.WARNING, "collect_failed", gateway=name, error=str(exc), retry_in=retry_in)
    else:
        failure("collect_failed", exc, gateway=name, retry_in=retry_in)


def collect_with_retries(
    home: Path, gateway: Gateway, sink: ChunkSink, settings: CollectSection, backfill: Backfill
) -> CollectResult | Exception | None:
    """`run --once` for one gateway: a few tries with back-off, then give up until the next run.

    Returns the pass's result, the last error, or None when another process is collecting the gateway.
    """
    with gateway_lock(home, gateway.name) as mine:
        if not mine:
            event(logging.INFO, "collect_skipped", gateway=gateway.name, reason="collected by another process")
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

    def __init__(
        self, home: Path, gateway: Gateway, lake: SharedLake, settings: CollectSection, backfill: Backfill
    ) -> None:
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
        collector.start_watch(self.wake)
        local = collector.follows
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
            if (
                settings.queue_seconds
                and self.gateway.has_queue
                and time.monotonic() >= next_queue
                and backoff.failures == 0
            ):
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

    def __init__(self, home: Path, settings: CollectSection, committed: threading.Event, stop: threading.Event):
        super().__init__(name="process", daemon=True)
        self.home, self.settings, self.committed, self.stop = home, settings, committed, stop

    def run(self) -> None:
        lake = open_lake(self.home)
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
        stats = process(lake, rules=load_rules(load_config(home).classify))
    except Exception as exc:  # processing retries on the next commit or interval
        failure("process_failed", exc)
        return {"error": f"{type(exc).__name__}: {exc}"}
    summary = {
        "lines": stats.lines,
        "rows": dict(stats.rows),
        "open_messages": stats.open_messages,
        "seconds": round(time.monotonic() - started, 3),
    }
    if stats.lines:
        event(logging.INFO, "processed", **summary)
        summary["auto_blacklist"] = run_auto_blacklist(home)
    return summary


def run_auto_blacklist(home: Path) -> int | str:
    """The automatic blacklist rules after new data was processed (when `[policy] auto`), then, with
    `[policy] auto_deploy`, the deployment of the gateways whose maps changed; the number of entries
    created or extended, or the error (logged; the next run retries)."""
    from acl import local_operator
    from policy import auto_blacklist, deploy_pending

    try:
        settings = load_config(home).policy
        changes = auto_blacklist(home) if settings.auto else []
        deployed = deploy_pending(home, local_operator("scheduler")) if settings.auto_deploy else {}
    except Exception as exc:  # a policy failure must not stop collection
        failure("auto_blacklist_failed", exc)
        return f"{type(exc).__name__}: {exc}"
    if changes:
        event(logging.INFO, "auto_blacklisted", entries=[f"{c.action} {c.value}" for c in changes])
    if deployed:
        event(logging.INFO, "policy_deployed", gateways=deployed)
    return len(changes)


def run(home: Path, once: bool = False, *, stop: threading.Event | None = None) -> dict[str, Any]:
    """Collect every gateway, process, snapshot queues: once, or continuously until SIGTERM/SIGINT.

    `once` (cron, systemd timer) returns a summary with each gateway's outcome; continuous mode returns
    when `stop` is set or a signal arrives.
    """
    open_home(home, create=False)
    setup_logging()
    settings = load_config(home).collect
    gateways = load_gateways(home)
    if not gateways and not load_config(home).fbl.mailboxes:
        raise GatewayError(
            "nothing to run: no gateway registered (`relaywatch gateway add`) and no feedback-loop mailbox"
        )
    backfill = Backfill(settings.progress_bytes, Console(stderr=True))
    committed = threading.Event()
    lake = SharedLake(open_lake(home), committed)
    event(logging.INFO, "run_started", gateways=sorted(gateways), once=once)
    try:
        if once:
            return run_once(home, gateways, lake, settings, backfill)
        run_forever(home, gateways, lake, settings, backfill, stop or threading.Event())
        return {}
    finally:
        backfill.close()


def run_once(
    home: Path, gateways: dict[str, Gateway], lake: SharedLake, settings: CollectSection, backfill: Backfill
) -> dict[str, Any]:
    """Each gateway collected in parallel (a few tries each), then processing, then queue snapshots."""
    with ThreadPoolExecutor(max_workers=max(len(gateways), 1), thread_name_prefix="collect") as pool:
        futures = {
            name: pool.submit(collect_with_retries, home, gw, lake, settings, backfill) for name, gw in gateways.items()
        }
        outcomes = {name: future.result() for name, future in futures.items()}
    processed = run_process(open_lake(home), home)
    fbl_pass(home)
    if settings.queue_seconds and gateways:
        with ThreadPoolExecutor(max_workers=len(gateways), thread_name_prefix="queue") as pool:
            for name, gateway in gateways.items():
                if gateway.has_queue and isinstance(outcomes[name], CollectResult):
                    pool.submit(snapshot_once, home, gateway, lake, settings)
    send_due_reports(home)
    failed = {name: str(outcome) for name, outcome in outcomes.items() if isinstance(outcome, Exception)}
    collected = {
        name: {"lines": outcome.lines, "bytes": outcome.bytes, "bytes_behind": outcome.bytes_behind}
        for name, outcome in outcomes.items()
        if isinstance(outcome, CollectResult)
    }
    skipped = sorted(name for name, outcome in outcomes.items() if outcome is None)
    event(logging.INFO, "run_finished", collected=collected, failed=failed or None, skipped=skipped or None)
    return {"collected": collected, "failed": failed, "skipped": skipped, "processed": processed}


def snapshot_once(home: Path, gateway: Gateway, lake: SharedLake, settings: CollectSection) -> None:
    collector = make_collector(home, gateway, settings)
    try:
        take_queue_snapshot(home, collector, lake, settings)
    finally:
        collector.close()


def run_forever(
    home: Path,
    gateways: dict[str, Gateway],
    lake: SharedLake,
    settings: CollectSection,
    backfill: Backfill,
    stop: threading.Event,
) -> None:
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
        ReportScheduler(home, stop).start()
        start_fbl_worker(home, stop)
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
        run_process(open_lake(home), home)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    event(logging.INFO, "run_stopped")
