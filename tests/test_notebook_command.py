"""`relaywatch notebook USER`: a real JupyterLab on 127.0.0.1 serving the notebooks, its kernels given a
token of that user for the real API, no token in any log, and the token revoked when it stops."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from acl import TokenInvalid, open_store, token_user
from tests.api_client import served
from tests.servers.ports import free_port
from tests.servers.serve import stop

pytestmark = pytest.mark.server
__all__ = ["served"]


def test_jupyterlab_serves_the_notebooks_with_a_ready_connection_and_no_token_in_its_log(served) -> None:
    base, home, _ = served
    port, log = free_port(), home.path / "notebook.log"
    access_file = home.path / "notebook-access.txt"
    relaywatch = Path(sys.executable).with_name("relaywatch")
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(relaywatch), "--home", str(home.path), "notebook", "alice", "--port", str(port), "--api-url", base],
            env={**os.environ, "RELAYWATCH_ARGON2": "fast"},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline, listing = time.monotonic() + 90, None
        while listing is None:
            assert process.poll() is None and time.monotonic() < deadline, log.read_text(errors="replace")
            try:
                access = access_file.read_text().strip().rpartition("token=")[2]
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/api/contents", headers={"Authorization": f"token {access}"}
                )
                with urllib.request.urlopen(request, timeout=2) as answer:
                    listing = json.loads(answer.read())
            except OSError:
                time.sleep(0.5)
        assert access_file.stat().st_mode & 0o777 == 0o600
        names = {item["name"]: item["type"] for item in listing["content"]}
        assert names.get("provider_deliverability.py") == "notebook"  # jupytext opens the scripts as notebooks
        jupyter = psutil.Process(process.pid).children()[0]
        environ = dict(
            item.split("=", 1) for item in Path(f"/proc/{jupyter.pid}/environ").read_text().split("\0") if "=" in item
        )
        assert environ["RELAYWATCH_URL"] == base
        secret = environ["RELAYWATCH_TOKEN"]
        store = open_store(home.path / "control.db")
        assert token_user(store, secret).name == "alice"
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            stop(process)
    with pytest.raises(TokenInvalid):
        token_user(store, secret)
    store.close()
    text = log.read_text(errors="replace")
    assert secret not in text and access not in text
    assert not access_file.exists()
