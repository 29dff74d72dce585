"""Follow a Postfix log on this machine: watchdog wakes the collector as soon as the log changes.

The reading itself is the collection algorithm (ingest.collect.collect_log) over local files, so rotation,
copytruncate, `.gz` siblings and exactly-once resume behave identically. Events only shorten the wait: the
collector also polls, so a missed event (or an NFS mount without inotify) delays a line, never loses it.
"""

from __future__ import annotations

import os
import posixpath
import stat
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from ingest.chunks import CHUNK_BYTES, Chunk, ChunkSink
from ingest.collect import CollectError, CollectResult, Fetch, collect_log
from ingest.gateways import Gateway
from ingest.queue import local_runner


class LocalFiles:
    """LogFiles over the local file system, read with pread (no shared file position)."""

    def listdir(self, directory: str) -> list[tuple[str, int, float]]:
        listing = []
        with os.scandir(directory) as entries:
            for entry in entries:
                try:
                    info = entry.stat()
                except FileNotFoundError:
                    continue
                if stat.S_ISREG(info.st_mode):
                    listing.append((entry.name, info.st_size, info.st_mtime))
        return listing

    @contextmanager
    def reader(self, path: str) -> Iterator[Fetch]:
        fd = os.open(path, os.O_RDONLY)
        try:
            yield lambda offset, size: os.pread(fd, size, offset)
        finally:
            os.close(fd)


class LogWatch(FileSystemEventHandler):
    """Sets `wake` whenever the log or one of its rotated siblings is written, created or moved."""

    def __init__(self, log_path: str, wake: threading.Event) -> None:
        super().__init__()
        self.directory, self.base = posixpath.split(log_path)
        self.wake = wake
        self._observer: Observer | None = None

    def on_any_event(self, event: FileSystemEvent) -> None:
        for path in (event.src_path, getattr(event, "dest_path", "")):
            name = posixpath.basename(os.fsdecode(path))
            if name.startswith(self.base):
                self.wake.set()
                return

    def start(self) -> None:
        observer = Observer()
        observer.schedule(self, self.directory, recursive=False)
        observer.daemon = True
        observer.start()
        self._observer = observer

    def stop(self) -> None:
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)
            self._observer = None


class LocalCollector:
    """Collects a gateway whose log is on this machine; `watch()` makes passes follow writes."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.files = LocalFiles()
        self.done: set[tuple] = set()
        self.watch: LogWatch | None = None

    follows = True

    def start_watch(self, wake: threading.Event) -> None:
        """Set `wake` on every change in the log's folder from now on."""
        if self.watch is None:
            self.watch = LogWatch(self.gateway.log, wake)
            self.watch.start()

    def poll(
        self,
        sink: ChunkSink,
        *,
        chunk_bytes: int = CHUNK_BYTES,
        on_plan: Callable[[str, int], None] | None = None,
        on_chunk: Callable[[Chunk], None] | None = None,
        stop: threading.Event | None = None,
    ) -> CollectResult:
        """One collection pass over the local log and its rotated siblings."""
        try:
            return collect_log(
                self.files,
                self.gateway.name,
                self.gateway.log,
                sink,
                done=self.done,
                chunk_bytes=chunk_bytes,
                on_plan=on_plan,
                on_chunk=on_chunk,
                stop=stop,
            )
        except OSError as exc:
            message = f"gateway {self.gateway.name}: reading {self.gateway.log} failed: {exc}"
            raise CollectError(message) from exc

    def run(self, command: str, timeout: float = 60.0) -> bytes:
        """Run a command on this machine (the local gateway's queue snapshots)."""
        return local_runner(timeout)(command)

    def close(self) -> None:
        if self.watch is not None:
            self.watch.stop()
            self.watch = None
