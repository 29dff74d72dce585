"""A real `relaywatch serve` (dashboards + HTTP API) for a data home, on a free port of 127.0.0.1.

Started as a subprocess like a person would, waited for on Streamlit's health route, stopped by PID
(with the processes it started) at the end. Its stdout and stderr go to `<home>/serve.log`, which the
tests read (nothing there may contain a token).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psutil

from tests.servers.ports import free_port


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the server and the processes it started (query children, forkserver), by their PIDs."""
    try:
        children = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    for child in children:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.terminate()
    process.terminate()
    _, alive = psutil.wait_procs(children, timeout=10)
    for child in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


@contextlib.contextmanager
def serving(home: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """(base URL, server process) of `relaywatch serve` for `home`, until the block ends."""
    port = free_port()
    log = home / "serve.log"
    relaywatch = Path(sys.executable).with_name("relaywatch")
    with log.open("ab") as output:
        process = subprocess.Popen(
            [str(relaywatch), "--home", str(home), "serve", "--address", "127.0.0.1", "--port", str(port)],
            env={**os.environ, "RELAYWATCH_ARGON2": "fast"},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as answer:
                    if answer.read() == b"ok":
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"relaywatch serve did not start:\n{log.read_text(errors='replace')}")
            time.sleep(0.2)
        yield base, process
    finally:
        stop(process)
