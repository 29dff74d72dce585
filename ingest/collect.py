"""The transport-independent collection algorithm: rotation, resume, exactly once.

A log and its rotated siblings (`mail.log.1`, `mail.log.2.gz`, `mail.log-20260101`) are read oldest first.
Each file is known by its content fingerprint (first line), so after a rename rotation `mail.log.1` is
finished from the offset the lake recorded, a copytruncate shows up as a new identity, and a `.gz` sibling
that was read before compression is skipped (its uncompressed size, from the gzip trailer, equals the
committed offset). Before every commit the file's first line is read again through the same handle: if a
copytruncate replaced the content under us the chunk is dropped instead of being filed under the wrong
identity. Where the files are is a `LogFiles` (ingest.ssh over SFTP, ingest.follow on this machine); what a
gateway's collector offers the scheduler is the `Collector` protocol.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import posixpath
import re
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Protocol

from ingest.chunks import CHUNK_BYTES, FINGERPRINT_BYTES, Chunk, ChunkSink, fingerprint, read_chunks
from ingest.gateways import Gateway
from relaywatch.core import RelaywatchError

GZIP_BUFFER = 4 * 1024 * 1024

Fetch = Callable[[int, int], bytes]


class CollectError(RelaywatchError):
    """Collection of one gateway failed; worth retrying later."""


class PermanentError(CollectError):
    """Retrying cannot help until an operator acts (host key changed or never accepted)."""


class FileReplaced(CollectError):
    """The file changed identity while being read (copytruncate); the next pass reads it again."""


class LogFiles(Protocol):
    """Where a gateway's log files are: listed by folder, read by positioned reads."""

    def listdir(self, directory: str) -> list[tuple[str, int, float]]:
        """(name, size, mtime) of the regular files of a folder."""
        ...

    def reader(self, path: str) -> AbstractContextManager[Fetch]:
        """An open file as `fetch(offset, size) -> bytes` (short at end of file)."""
        ...


@dataclass(frozen=True)
class LogFile:
    """One file of a log's rotation set."""

    path: str
    size: int
    mtime: float
    compressed: bool
    active: bool


@dataclass
class CollectResult:
    """What one pass over a gateway's log brought in."""

    bytes: int = 0
    lines: int = 0
    chunks: int = 0
    files: int = 0
    bytes_behind: int = 0
    last_line: str | None = None
    warnings: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.time)


class Window(io.RawIOBase):
    """A file seen through positioned reads, bounded to the size it had when listed.

    Bounding keeps a pass consistent (what grows meanwhile is read next pass) and never asks an SFTP
    server for bytes past the end.
    """

    def __init__(self, fetch: Fetch, size: int) -> None:
        super().__init__()
        self._fetch = fetch
        self._size = size
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        size = min(len(buffer), self._size - self._pos)
        if size <= 0:
            return 0
        data = self._fetch(self._pos, size)
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)


ROTATED = r"(?:[.-](?P<suffix>\d+(?:-\d+)?))?(?P<gz>\.gz)?"
"""After the log's name: `.1`, `-20260101` (logrotate dateext), `.20260101-101500` (postfix logrotate)."""


def rotation_set(log_path: str, listing: list[tuple[str, int, float]]) -> list[LogFile]:
    """The log and its rotated siblings, oldest first, the live log last.

    Numbered siblings are older the higher their number; dated ones the older their date, and all of them
    older than the numbered ones (a folder normally has one kind only).
    A `.gz` whose uncompressed twin still exists is being written by the compressor and is left alone.
    """
    directory, base = posixpath.split(log_path)
    pattern = re.compile(re.escape(base) + ROTATED + "$")
    names = {name for name, _, _ in listing}
    ordered = []
    for name, size, mtime in listing:
        match = pattern.fullmatch(name)
        if not match or (match["gz"] and name[:-3] in names):
            continue
        suffix = match["suffix"]
        active = name == base
        if active:
            rank = (2, 0)
        elif suffix is not None and len(suffix) >= 8:
            rank = (0, int(suffix.replace("-", "").ljust(14, "0")))
        else:
            rank = (1, -int(suffix or 0))
        path = posixpath.join(directory, name)
        ordered.append((rank, LogFile(path, size, mtime, bool(match["gz"]), active)))
    return [entry for _, entry in sorted(ordered, key=lambda item: item[0])]


def last_line(data: bytes) -> str:
    """The last line of a chunk, for status displays."""
    text = data.rstrip(b"\n")
    return text[text.rfind(b"\n") + 1 :].decode("utf-8", errors="replace")[:500]


@dataclass(frozen=True)
class Planned:
    """A file with data the sink does not hold yet."""

    file: LogFile
    file_id: str
    start: int
    total: int
    final: bool


def whole_hash(stream: io.RawIOBase | io.BufferedIOBase | gzip.GzipFile) -> str:
    """Identity of a file too short to have a complete first line (only used once it is final)."""
    digest = hashlib.sha256()
    stream.seek(0)
    while block := stream.read(1024 * 1024):
        digest.update(block)
    return "fp:" + digest.hexdigest()[:24]


@contextmanager
def open_stream(files: LogFiles, entry: LogFile) -> Iterator[tuple[Fetch, io.RawIOBase | gzip.GzipFile]]:
    """The raw fetch and a readable stream (decompressed for `.gz`) of one file."""
    with files.reader(entry.path) as fetch:
        window = Window(fetch, entry.size)
        if entry.compressed:
            with gzip.GzipFile(fileobj=io.BufferedReader(window, GZIP_BUFFER), mode="rb") as unzipped:
                yield fetch, unzipped
        else:
            yield fetch, window


def plan_file(files: LogFiles, gateway: str, entry: LogFile, sink: ChunkSink, final: bool) -> Planned | None:
    """Identity, committed offset and size of one file; None when there is nothing to read."""
    if entry.size == 0:
        return None
    with open_stream(files, entry) as (fetch, stream):
        head = stream.read(FINGERPRINT_BYTES)
        file_id = fingerprint(head)
        if file_id is None:
            if not final:
                return None
            file_id = whole_hash(stream)
        start = sink.committed(gateway, file_id)
        if entry.compressed:  # the gzip trailer's size modulo 2**32, in the 4 GiB range of the offset
            total = int.from_bytes(fetch(entry.size - 4, 4), "little") + ((start >> 32) << 32)
        else:
            total = entry.size
    if start >= total:
        return None
    return Planned(entry, file_id, start, total, final)


@contextmanager
def skipping_bad_gzip(entry: LogFile, done: set[tuple], warnings: list[str]) -> Iterator[None]:
    """Skip a compressed sibling that cannot be decompressed, with a warning, until it changes: one
    damaged archive must not block the live log."""
    try:
        yield
    except (gzip.BadGzipFile, zlib.error, EOFError) as exc:
        if not entry.compressed or (isinstance(exc, EOFError) and not is_truncated_gzip(exc)):
            raise
        warnings.append(f"{entry.path}: unreadable compressed file, skipped: {exc}")
        done.add((entry.path, entry.size, entry.mtime))


def plan(
    files: LogFiles, gateway: str, log_path: str, sink: ChunkSink, done: set[tuple], warnings: list[str]
) -> list[Planned]:
    """Files of the rotation set with data not committed yet, oldest first.

    A rotated file is final (its last line is taken even without a newline) once the live log has a
    complete first line: the logger has reopened the new file and will not write to the old one again.
    `done` remembers (path, size, mtime) of rotated files already complete, to skip them cheaply.
    """
    directory = posixpath.dirname(log_path)
    entries = rotation_set(log_path, files.listdir(directory))
    live = next((entry for entry in entries if entry.active), None)
    live_started = False
    if live is not None and live.size:
        with files.reader(live.path) as fetch:
            live_started = fingerprint(fetch(0, FINGERPRINT_BYTES)) is not None
    planned = []
    for entry in entries:
        key = (entry.path, entry.size, entry.mtime)
        if key in done:
            continue
        final = not entry.active and (entry.compressed or live_started)
        with skipping_bad_gzip(entry, done, warnings):
            item = plan_file(files, gateway, entry, sink, final)
            if item is not None:
                planned.append(item)
            elif final:
                done.add(key)
    return planned


def read_planned(
    files: LogFiles,
    gateway: str,
    item: Planned,
    sink: ChunkSink,
    *,
    chunk_bytes: int = CHUNK_BYTES,
    on_chunk: Callable[[Chunk], None] | None = None,
    stop: threading.Event | None = None,
) -> CollectResult:
    """Read one planned file from its committed offset and commit it chunk by chunk.

    The identity is checked when the file is opened and again after each chunk is read and before it is
    committed: a chunk read across a copytruncate is never committed.
    """
    result = CollectResult()
    entry = item.file
    with open_stream(files, entry) as (fetch, stream):
        if fingerprint(stream.read(FINGERPRINT_BYTES)) not in (item.file_id, None):
            raise FileReplaced(f"{entry.path} changed identity before it was read")
        chunks = read_chunks(
            stream,  # type: ignore[arg-type]
            gateway=gateway,
            file_id=item.file_id,
            path=entry.path,
            start=item.start,
            mtime=entry.mtime,
            final=item.final,
            chunk_bytes=chunk_bytes,
        )
        for chunk in chunks:
            if not entry.compressed and fingerprint(fetch(0, FINGERPRINT_BYTES)) not in (item.file_id, None):
                raise FileReplaced(f"{entry.path} was truncated while being read")
            sink.commit(chunk)
            result.bytes += len(chunk.data)
            result.lines += chunk.data.count(b"\n") + (not chunk.data.endswith(b"\n"))
            result.chunks += 1
            result.last_line = last_line(chunk.data)
            if on_chunk is not None:
                on_chunk(chunk)
            if stop is not None and stop.is_set():
                break
    return result


def collect_log(
    files: LogFiles,
    gateway: str,
    log_path: str,
    sink: ChunkSink,
    *,
    done: set[tuple] | None = None,
    chunk_bytes: int = CHUNK_BYTES,
    on_plan: Callable[[str, int], None] | None = None,
    on_chunk: Callable[[Chunk], None] | None = None,
    stop: threading.Event | None = None,
) -> CollectResult:
    """One pass over a log's rotation set: commit every complete line the sink does not hold yet."""
    result = CollectResult()
    done = set() if done is None else done
    planned = plan(files, gateway, log_path, sink, done, result.warnings)
    if on_plan is not None:
        on_plan(gateway, sum(item.total - item.start for item in planned))
    for item in planned:
        if stop is not None and stop.is_set():
            break
        part = CollectResult()
        try:
            with skipping_bad_gzip(item.file, done, result.warnings):
                part = read_planned(files, gateway, item, sink, chunk_bytes=chunk_bytes, on_chunk=on_chunk, stop=stop)
        except FileReplaced as exc:
            result.warnings.append(str(exc))
            continue
        result.bytes += part.bytes
        result.lines += part.lines
        result.chunks += part.chunks
        result.files += bool(part.chunks)
        result.last_line = part.last_line or result.last_line
    result.bytes_behind = behind(files, gateway, log_path, sink)
    return result


def is_truncated_gzip(exc: EOFError) -> bool:
    """True for gzip's own "compressed file ended" error, as opposed to a closed SFTP channel."""
    return str(exc).startswith("Compressed file ended")


def behind(files: LogFiles, gateway: str, log_path: str, sink: ChunkSink) -> int:
    """Bytes of the live log not committed yet (what arrived during the pass, or a partial last line)."""
    live = next(
        (entry for entry in rotation_set(log_path, files.listdir(posixpath.dirname(log_path))) if entry.active), None
    )
    if live is None or live.size == 0:
        return 0
    with files.reader(live.path) as fetch:
        file_id = fingerprint(fetch(0, FINGERPRINT_BYTES))
    if file_id is None:
        return live.size
    return max(0, live.size - sink.committed(gateway, file_id))


class Collector(Protocol):
    """What the scheduler needs of one gateway's collector, whatever the transport."""

    gateway: Gateway
    follows: bool
    """True when file events wake the collector (a local log): the scheduler then paces passes by
    follow_seconds instead of poll_seconds."""

    def start_watch(self, wake: threading.Event) -> None:
        """Set `wake` whenever the log changes from now on (a no-op where nothing can be watched)."""
        ...

    def poll(
        self,
        sink: ChunkSink,
        *,
        chunk_bytes: int = CHUNK_BYTES,
        on_plan: Callable[[str, int], None] | None = None,
        on_chunk: Callable[[Chunk], None] | None = None,
        stop: threading.Event | None = None,
    ) -> CollectResult:
        """One collection pass; a transport failure raises CollectError."""
        ...

    def run(self, command: str, timeout: float = 60.0) -> bytes:
        """Run a command where the gateway is (queue snapshots); its standard output."""
        ...

    def close(self) -> None: ...
