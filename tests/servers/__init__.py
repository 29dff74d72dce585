"""Real servers for the tests (Postfix, OpenSSH sshd, an SMTP sink, Dovecot IMAP): no mocks.

Every server listens on 127.0.0.1 only, on a free port, with its own configuration and spool in a temp
directory, and is stopped by PID at teardown. Register the fixtures with
``pytest_plugins = ["tests.servers.sink", "tests.servers.postfix", "tests.servers.sshd", "tests.servers.imap"]``.
"""

import contextlib
import ctypes
import os
import shutil
import sys
import time
from collections.abc import Iterable, Iterator

import psutil
import pytest

_PR_SET_CHILD_SUBREAPER = 36
_PR_GET_CHILD_SUBREAPER = 37


def in_ci() -> bool:
    """True when running in CI, where a test that needs a server must run, never skip."""
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def unavailable(reason: str) -> None:
    """Skip the test outside CI; fail it in CI (a missing server there is a broken pipeline)."""
    if in_ci():
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


def require_executable(path: str) -> str:
    """Return path when it is an executable file (or a command found on PATH), else skip/fail."""
    found = path if os.path.isabs(path) else shutil.which(path)
    if not found or not os.access(found, os.X_OK):
        unavailable(f"{path} is not installed (run scripts/install-system-deps.sh)")
    return found


def require_root(what: str) -> None:
    """Skip/fail unless running as root: Postfix's master and sshd need it."""
    if os.geteuid() != 0:
        unavailable(f"{what} must run as root (euid is {os.geteuid()})")


@contextlib.contextmanager
def adopting_orphans() -> Iterator[None]:
    """While inside, this process is the child subreaper (Linux): a process orphaned meanwhile becomes
    our child instead of PID 1's, so terminate() can reap it.

    Used around starting and stopping servers only: Postfix's master double-forks at start, and
    its daemons (or sshd's session processes) may outlive their parent at stop. Some containers' PID 1
    never reaps, leaving them <defunct>. Scoped, so other fixtures' daemons are left to PID 1 as usual.
    """
    if sys.platform != "linux":
        yield
        return
    libc = ctypes.CDLL(None, use_errno=True)
    previous = ctypes.c_int(0)
    libc.prctl(_PR_GET_CHILD_SUBREAPER, ctypes.byref(previous), 0, 0, 0)
    libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    try:
        yield
    finally:
        libc.prctl(_PR_SET_CHILD_SUBREAPER, previous.value, 0, 0, 0)


def alive(pid: int) -> bool:
    """True when pid is a running process (a zombie does not count)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def descendants(pid: int) -> list[psutil.Process]:
    """The process pid and all its descendants (empty when pid is gone)."""
    try:
        proc = psutil.Process(pid)
        return [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def reap(procs: Iterable[psutil.Process]) -> None:
    """Collect the exit status of those that are our exited children (so none stays <defunct>)."""
    for proc in procs:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.TimeoutExpired, ChildProcessError):
            proc.wait(timeout=0)


def wait_gone(procs: Iterable[psutil.Process], timeout: float) -> bool:
    """Wait until none of the processes runs (exited, or a zombie its parent has still to reap)."""
    procs = list(procs)
    deadline = time.monotonic() + timeout
    while True:
        reap(procs)
        if not any(alive(proc.pid) for proc in procs):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)


def terminate(procs: Iterable[psutil.Process], timeout: float = 5.0) -> None:
    """SIGTERM the processes, wait up to timeout, then SIGKILL whatever still runs; reap our children."""
    procs = list(procs)
    for signal_them in (psutil.Process.terminate, psutil.Process.kill):
        for proc in procs:
            with contextlib.suppress(psutil.NoSuchProcess):
                if alive(proc.pid):
                    signal_them(proc)
        if wait_gone(procs, timeout):
            return
