"""Byte chunks of a log file, identified by content fingerprint and offset.

A file's identity is the hash of its first line: it survives rename rotation (`mail.log` -> `mail.log.1`)
and compression (`mail.log.2.gz` decompresses to the same first line), and changes on copytruncate (the
file restarts with other content). Offsets are byte offsets in the uncompressed content, so a reader
resumes exactly where the last committed chunk ended.
"""

from __future__ import annotations

import gzip
import hashlib
import stat
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from relaywatch.core import CollectSection, RelaywatchError

CHUNK_BYTES = CollectSection().chunk_bytes
"""Largest chunk read and committed at once ([collect] chunk_bytes)."""
FINGERPRINT_BYTES = 1024


@dataclass(frozen=True)
class Chunk:
    """Whole lines `data` read from `start` to `end` (exclusive) of one file of one gateway."""

    gateway: str
    file_id: str
    path: str
    start: int
    end: int
    data: bytes
    mtime: float


class ChunkSink(Protocol):
    """Where chunks go: the lake answers what it already holds and commits new chunks atomically."""

    def committed(self, gateway: str, file_id: str) -> int: ...

    def commit(self, chunk: Chunk) -> None: ...


def fingerprint(head: bytes) -> str | None:
    """Identity of a file from its first bytes; None while the first line is not complete."""
    newline = head.find(b"\n", 0, FINGERPRINT_BYTES)
    if newline < 0:
        if len(head) < FINGERPRINT_BYTES:
            return None
        newline = FINGERPRINT_BYTES
    return "fp:" + hashlib.sha256(head[:newline]).hexdigest()[:24]


class LogFileError(RelaywatchError):
    """A log file that cannot be read as one: not a regular file, not gzip although named .gz, damaged."""


def open_log(path: Path) -> BinaryIO:
    """Open a log file for reading bytes, decompressing `.gz` transparently. Only regular files: a FIFO
    or a device would block or never end."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise LogFileError(f"{path}: cannot read it ({exc.strerror})") from exc
    if not stat.S_ISREG(mode):
        raise LogFileError(f"{path}: not a regular file (a FIFO, device or directory cannot be ingested)")
    if path.suffix == ".gz":
        with path.open("rb") as raw:
            magic = raw.read(2)
        if magic != b"\x1f\x8b":
            raise LogFileError(f"{path}: named .gz but not gzip data (it starts with {magic!r}): rename it")
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return path.open("rb")


@contextmanager
def _damage_reported(path: Path) -> Iterator[None]:
    """Damaged gzip data as a LogFileError (an EOFError would reach click as a bare 'Aborted!')."""
    try:
        yield
    except (gzip.BadGzipFile, zlib.error, EOFError) as exc:
        reason = str(exc) or type(exc).__name__
        raise LogFileError(
            f"{path}: corrupt or truncated gzip data ({reason}); the complete lines before the damage are kept,"
            " nothing after it was read"
        ) from exc


def read_chunks(
    stream: BinaryIO,
    *,
    gateway: str,
    file_id: str,
    path: str,
    start: int,
    mtime: float,
    final: bool = False,
    chunk_bytes: int = CHUNK_BYTES,
) -> Iterator[Chunk]:
    """Yield chunks of whole lines from `start`. A trailing partial line is left for later unless `final`
    (a rotated file that will not grow again), in which case it is yielded as the last line."""
    if stream.seekable():
        stream.seek(start)
    else:
        skip = start
        while skip:
            skip -= len(stream.read(min(skip, chunk_bytes)))
    offset = start
    pending = b""
    while True:
        block = stream.read(chunk_bytes)
        if not block:
            break
        data = pending + block
        cut = data.rfind(b"\n") + 1
        pending = data[cut:]
        if cut:
            yield Chunk(gateway, file_id, path, offset, offset + cut, data[:cut], mtime)
            offset += cut
    if final and pending:
        yield Chunk(gateway, file_id, path, offset, offset + len(pending), pending, mtime)


def identify(path: Path) -> str | None:
    """The identity of a local file (plain or .gz); None while its first line is not complete."""
    with open_log(path) as stream, _damage_reported(path):
        return fingerprint(stream.read(FINGERPRINT_BYTES))


def file_chunks(path: Path, gateway: str, sink: ChunkSink, *, chunk_bytes: int = CHUNK_BYTES) -> Iterator[Chunk]:
    """Chunks of whole lines of a local file that the sink does not hold yet (nothing when the file is
    already in, or while its first line is not complete)."""
    file_id = identify(path)
    if file_id is None:
        return
    with open_log(path) as stream, _damage_reported(path):
        yield from read_chunks(
            stream,
            gateway=gateway,
            file_id=file_id,
            path=str(path),
            start=sink.committed(gateway, file_id),
            mtime=path.stat().st_mtime,
            chunk_bytes=chunk_bytes,
        )
