"""Start the Streamlit app for a data home."""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP = Path(__file__).with_name("app.py")


def serve(home: Path, *, address: str = "127.0.0.1", port: int = 8501) -> None:
    """Become the Streamlit server (exec): a signal to this process reaches the server itself, so
    stopping `relaywatch serve` by PID leaves nothing behind."""
    env = {**os.environ, "RELAYWATCH_HOME": str(home)}
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        "--server.address",
        address,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
        "--client.toolbarMode",
        "minimal",
    ]
    os.execve(sys.executable, command, env)
