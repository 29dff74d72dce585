"""Start the Streamlit app for a data home."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

APP = Path(__file__).with_name("app.py")


def serve(home: Path, *, address: str = "127.0.0.1", port: int = 8501) -> None:
    """Run the dashboards in the foreground until interrupted."""
    env = {**os.environ, "RELAYWATCH_HOME": str(home)}
    command = [sys.executable, "-m", "streamlit", "run", str(APP), "--server.address", address,
               "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false",
               "--server.fileWatcherType", "none", "--client.toolbarMode", "minimal"]
    with contextlib.suppress(KeyboardInterrupt):
        subprocess.run(command, env=env, check=True)
