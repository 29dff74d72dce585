"""The core job: committed lines -> correlated, classified rows in the lake, exactly once.

Order of commits for each `lines` version v: deliveries, rejects, messages (each recording `process`=v),
the `delivery_hours` rollup of the hours the deliveries touched (warehouse.rollups), then the open-message
state `messages_open` (also `process`=v). After a crash the job restarts from the state's version and
skips the tables that already hold v, so nothing is counted twice or lost; the rollup catches up with
whatever deliveries commits it has not counted yet.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from ingest import CHUNK_BYTES, Chunk, file_chunks, gateway_name, identify
from relaywatch.core import file_lock
from warehouse.classify import RuleSet
from warehouse.correlate import Correlated, correlate, empty_state, with_outcome
from warehouse.lake import PROCESS_APP, Lake, LineBatch
from warehouse.parse import parse_counts
from warehouse.rollups import update_rollups

DERIVED = ("deliveries", "rejects", "messages")


@dataclass
class IngestStats:
    """What a run added: lines per outcome and rows per table."""

    lines: int = 0
    bytes: int = 0
    unparsed: dict[str, int] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DERIVED, 0))
    open_messages: int = 0
    waiting_bytes: int = 0
    """Bytes after the file's last newline: a line still being written, left for the next run."""

    def add_lines(self, frame: pl.DataFrame) -> None:
        self.lines += frame.height
        for service, count in parse_counts(frame).items():
            self.unparsed[service] = self.unparsed.get(service, 0) + count


@contextmanager
def writer_lock(lake: Lake) -> Iterator[None]:
    """One writer at a time per lake: the open-message state is shared by all gateways."""
    with file_lock(lake.root / ".writer.lock"):
        yield


def load_state(lake: Lake) -> pl.DataFrame:
    """The open-message state as last committed."""
    table = lake.table("messages_open")
    if table is None:
        return empty_state()
    state = pl.from_arrow(table.to_pyarrow_table())
    # a state written before a column was added (the last deferral's dsn and reply) gets it as null
    missing = [
        pl.lit(None, dtype).alias(name) for name, dtype in empty_state().schema.items() if name not in state.columns
    ]
    return state.with_columns(missing).select(empty_state().columns)


def write_derived(lake: Lake, version: int, result: Correlated, stats: IngestStats) -> None:
    """Commit what the `lines` version `version` adds to the derived tables, then the new state."""
    for name in DERIVED:
        frame = getattr(result, name)
        done = lake.app_version(name, PROCESS_APP)
        if frame.height and (done is None or done < version):
            lake.append(name, frame, app_id=PROCESS_APP, app_version=version, new_columns=True)
            stats.rows[name] += frame.height
    update_rollups(lake)
    lake.append(
        "messages_open",
        with_outcome(result.state),
        app_id=PROCESS_APP,
        app_version=version,
        mode="overwrite",
        partition_by=(),
    )
    stats.open_messages = result.state.height


def apply_batch(
    lake: Lake, batch: LineBatch, state: pl.DataFrame, stats: IngestStats, rules: RuleSet | None = None
) -> pl.DataFrame:
    """Correlate one committed batch and commit its derived rows; returns the new state."""
    result = correlate(batch.frame, batch.gateway, state, rules)
    write_derived(lake, batch.version, result, stats)
    return result.state


def _committed_batches(lake: Lake, after: int) -> Iterator[LineBatch]:
    """Chunk commits of `lines` newer than version `after`, read back from the lake in log order."""
    for version in range(after + 1, lake.version("lines") + 1):
        batch = lake.read_batch(version)
        if batch is not None:
            yield batch


def _catch_up(lake: Lake, stats: IngestStats, rules: RuleSet | None) -> pl.DataFrame:
    """Process committed lines not yet in the derived tables (caller holds the writer lock)."""
    state = load_state(lake)
    done = lake.app_version("messages_open", PROCESS_APP)
    for batch in _committed_batches(lake, -1 if done is None else done):
        stats.add_lines(batch.frame)
        state = apply_batch(lake, batch, state, stats, rules)
    return state


def process(lake: Lake, *, rules: RuleSet | None = None) -> IngestStats:
    """Bring the derived tables up to date with every committed line (run by the scheduler).

    `rules`: the classification rules with the home's local overrides (`classify.load_rules`)."""
    stats = IngestStats()
    with writer_lock(lake):
        _catch_up(lake, stats, rules)
    return stats


def ingest(
    lake: Lake,
    gateway: str,
    path: Path,
    *,
    rules: RuleSet | None = None,
    on_chunk: Callable[[Chunk], None] | None = None,
    chunk_bytes: int = CHUNK_BYTES,
) -> IngestStats:
    """Add the part of a log file the lake does not hold yet, and process it.

    Idempotent: the same file twice adds nothing; a file that grew adds only its new lines. A trailing
    line without its newline is left for the next run (the writer may still be writing it).
    """
    stats = IngestStats()
    gateway = gateway_name(gateway)
    with writer_lock(lake), ThreadPoolExecutor(max_workers=1, thread_name_prefix="lake-writer") as writer:
        state = _catch_up(lake, stats, rules)
        pending: Future[None] | None = None
        for chunk in file_chunks(path, gateway, lake, chunk_bytes=chunk_bytes):
            frame = lake.parse_chunk(chunk)
            result = correlate(frame, gateway, state, rules)
            state = result.state
            if pending is not None:
                pending.result()
            pending = writer.submit(_commit_chunk, lake, chunk, frame, result, stats)
            stats.add_lines(frame)
            stats.bytes += chunk.end - chunk.start
            if on_chunk is not None:
                on_chunk(chunk)
        if pending is not None:
            pending.result()
    if path.suffix != ".gz":
        file_id = identify(path)
        held = lake.committed(gateway, file_id) if file_id else 0
        stats.waiting_bytes = path.stat().st_size - held
    return stats


def _commit_chunk(lake: Lake, chunk: Chunk, frame: pl.DataFrame, result: Correlated, stats: IngestStats) -> None:
    """The writer thread's part: the chunk's lines, then its derived rows, in that order. While it
    writes (Rust, no GIL), the main thread parses and correlates the next chunk: both cores work."""
    write_derived(lake, lake.commit_lines(chunk, frame), result, stats)
