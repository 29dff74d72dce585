"""File helpers every package shares: atomic replacement and cross-process locks.

A file is replaced in one rename (readers see the old or the new content, never a mix; a crash never
leaves half a file), and read-modify-write of a shared file happens under an fcntl lock held by the
process (released when it exits, even on a crash).
"""

from __future__ import annotations

import fcntl
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def write_atomic(path: Path, data: str | bytes, *, durable: bool = True, mode: int | None = None) -> None:
    """Replace `path` by `data` in one rename.

    `durable` flushes to disk first (a crash then keeps the new content); frequently rewritten files
    whose loss is harmless skip it. `mode` sets the permission bits before the rename (e.g. 0o600 for
    files holding secrets, so they are never readable by others even for an instant)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        if mode is not None:
            os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextmanager
def file_lock(path: Path, *, wait: bool | threading.Event = True, poll: float = 1.0) -> Iterator[bool]:
    """Hold an exclusive lock on `path` (created if missing) across processes; yields whether it is held.

    `wait=True` blocks until the lock is free; `wait=False` does not block (yields False when another
    process holds it); an Event retries every `poll` seconds until the lock is free (True) or the event
    is set (False)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        if wait is True:
            fcntl.flock(handle, fcntl.LOCK_EX)
        else:
            while True:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if wait is False or wait.is_set():
                        yield False
                        return
                    wait.wait(poll)
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
