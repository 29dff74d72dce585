"""What the CLI prints: progress bars, summaries and query results."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table
from rich.text import Text

from warehouse import csv_chunks, json_chunks, printable, text_rows

if TYPE_CHECKING:
    from ingest import Chunk
    from warehouse import IngestStats, Lake, UserQuery

TABLE_ROWS = 1000
"""A terminal table shows at most this many rows (it must measure them all before printing)."""


@contextmanager
def progress(path: Path, lake: Lake, gateway: str, *, enabled: bool) -> Iterator[Callable[[Chunk], None]]:
    """A byte progress bar on stderr for an ingest (silent when not a terminal or disabled)."""
    console = Console(stderr=True)
    if not enabled or not console.is_terminal:
        yield lambda chunk: None
        return
    columns = (
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console) as bar:
        task = bar.add_task(f"{gateway}: {path.name}", total=path.stat().st_size)
        yield lambda chunk: bar.update(task, completed=chunk.end)


def ingest_summary(gateway: str | None, path: Path | None, stats: IngestStats) -> str:
    """One paragraph: what was added, and what could not be parsed (kept in the lake, never dropped)."""
    where = f" from {path} (gateway {gateway})" if path else ""
    rows = ", ".join(f"{name} {count}" for name, count in stats.rows.items())
    text = f"ingested {stats.lines} lines{where}: {rows}; messages still queued {stats.open_messages}"
    if stats.unparsed:
        detail = ", ".join(f"{service or '-'}: {n}" for service, n in sorted(stats.unparsed.items()))
        text += f"\nnot recognised (kept in the lake, table lines): {sum(stats.unparsed.values())} ({detail})"
    if stats.waiting_bytes:
        text += f"\n{stats.waiting_bytes} byte(s) after the last newline wait for the next run (a line being written)"
    elif stats.lines == 0:
        text += "\nnothing new: the lake already holds this file up to its last complete line"
    return text


def write_result(result: UserQuery, fmt: str, out: BinaryIO) -> str | None:
    """Stream a query result as CSV (formulas neutralised) or JSON Lines, or print its first TABLE_ROWS
    rows as a table (text only, never markup); control characters never reach the terminal raw.
    Returns a notice for the person when the result is not complete (a limit, or the table's cut)."""
    batches = iter(result)
    try:
        if fmt == "table":
            rows, more = text_rows(batches, TABLE_ROWS)
            names = [printable(name) for name in result.schema.names]
            table = Table(*names)
            for row in rows:
                table.add_row(*(Text(cell) for cell in row))
            text = io.TextIOWrapper(out, encoding="utf-8", errors="replace", write_through=True)
            Console(file=text, width=max(80, min(250, 30 * len(names)))).print(table)
            text.detach()
            if more:
                return f"only the first {TABLE_ROWS} rows are shown: use --format csv or json for all of them"
        else:
            for chunk in csv_chunks(batches, result.schema.names) if fmt == "csv" else json_chunks(batches):
                out.write(chunk)
        out.flush()
    finally:
        close = getattr(batches, "close", None)
        if close is not None:
            close()
    return "; ".join(result.truncated) or None


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
                    TextColumn("{task.description}"),
                    BarColumn(),
                    DownloadColumn(),
                    TransferSpeedColumn(),
                    TimeRemainingColumn(),
                    console=self.console,
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
