"""`relaywatch notebook`: JupyterLab on 127.0.0.1 with the notebooks and a ready API connection.

A token is created for the account (named "notebook <time>", expiring after `hours`) and handed to
JupyterLab, and so to its kernels, in the environment only (RELAYWATCH_URL, RELAYWATCH_TOKEN): notebooks
then call `relaywatch.connect()` with no argument. It is revoked when JupyterLab stops. JupyterLab's own
access code is random, given to it in its environment (JUPYTER_TOKEN, so its log shows `token=...`), and
written for the person to a file of the data home readable by the owner only: no token ever reaches a
log or the terminal. Needs the `notebook` extra (jupyterlab, jupytext: the notebooks are .py scripts).
Its kernels run on this host as the user who started it, with file access to the data home: like
`connect(home=...)`, this is for the host's operator; analysts elsewhere connect to the API.
JupyterLab's terminals and extension manager are off.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

from acl import local_operator, open_store, token_create, token_revoke
from relaywatch.core import RelaywatchError, control_db, write_atomic

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
ACCESS_FILE = "notebook-access.txt"


def notebook(
    home: Path, user: str, *, port: int = 8888, api_url: str = "http://127.0.0.1:8501", hours: float = 12.0
) -> int:
    """Run JupyterLab for `user` until it stops; returns its exit status."""
    if not NOTEBOOKS.is_dir():
        raise RelaywatchError(f"no notebooks folder at {NOTEBOOKS}")
    try:
        import jupyterlab  # noqa: F401 - only checks that the extra is installed
    except ImportError:
        raise RelaywatchError("JupyterLab is not installed: pip install 'relaywatch[notebook]'") from None
    store = open_store(control_db(home))
    operator = local_operator()
    secret, made = token_create(
        store, operator, f"notebook {time.strftime('%Y-%m-%d %H:%M')}", user=user, expires_days=hours / 24
    )
    access = secrets.token_urlsafe(24)
    url = f"http://127.0.0.1:{port}/lab"
    write_atomic(home / ACCESS_FILE, f"{url}?token={access}\n", mode=0o600)
    env = {**os.environ, "RELAYWATCH_URL": api_url, "RELAYWATCH_TOKEN": secret, "JUPYTER_TOKEN": access}
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--ip",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-browser",
        f"--ServerApp.root_dir={NOTEBOOKS}",
        "--ServerApp.port_retries=0",
        "--ServerApp.terminals_enabled=False",
        "--LabApp.extension_manager=readonly",
        *(["--allow-root"] if os.geteuid() == 0 else []),
    ]
    print(
        f"JupyterLab for {made.user}: {url} (the address with its access code is in {home / ACCESS_FILE},"
        " mode 0600); Ctrl-C stops it and revokes its API token",
        file=sys.stderr,
    )
    process = subprocess.Popen(command, env=env)
    try:
        return process.wait()
    except KeyboardInterrupt:
        process.terminate()
        return process.wait(30)
    finally:
        token_revoke(store, operator, made.id)
        (home / ACCESS_FILE).unlink(missing_ok=True)
        store.close()
