"""Bad files given to `relaywatch ingest`: a clear message, exit status 1, the lake as it was."""

from __future__ import annotations

import gzip
import os
import shutil
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from relaywatch.cli import main

DAY1 = Path(__file__).parent / "data" / "gw1-day1.log"


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), obj={})


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    log = tmp_path / "good.log"
    shutil.copy(DAY1, log)
    assert run("--home", str(home), "ingest", "--gateway-name", "gw1", "--file", str(log), "--quiet").exit_code == 0
    return home


def rows(home: Path) -> str:
    result = run("--home", str(home), "sql", "--format", "csv", "SELECT count(*) AS n FROM lines")
    assert result.exit_code == 0, result.output
    return result.stdout


def ingest(home: Path, path: Path | str) -> Result:
    return run("--home", str(home), "ingest", "--gateway-name", "gw2", "--file", str(path), "--quiet")


def big_gzip(path: Path) -> bytes:
    text = b"".join(
        b"Nov 25 10:%02d:%02d gw2 postfix/smtpd[1]: connect from h%d.example[192.0.2.1]\n" % (i // 60 % 60, i % 60, i)
        for i in range(20000)
    )
    data = gzip.compress(text)
    path.write_bytes(data)
    return data


def test_a_truncated_gz_is_reported_not_aborted(home: Path, tmp_path: Path) -> None:
    before = rows(home)
    path = tmp_path / "cut.log.gz"
    data = big_gzip(path)
    path.write_bytes(data[: len(data) // 2])
    result = ingest(home, path)
    assert result.exit_code == 1
    assert "corrupt or truncated gzip data" in result.output and "Aborted" not in result.output
    after = int(rows(home).split()[1])
    assert after >= int(before.split()[1]), "what was in the lake stays"


def test_a_corrupt_gz_is_reported(home: Path, tmp_path: Path) -> None:
    path = tmp_path / "bad.log.gz"
    data = bytearray(big_gzip(path))
    data[len(data) // 3 : len(data) // 3 + 64] = b"\xff" * 64
    path.write_bytes(bytes(data))
    result = ingest(home, path)
    assert result.exit_code == 1 and "corrupt or truncated gzip data" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_a_gz_that_is_not_gzip_is_refused_before_anything_is_read(home: Path, tmp_path: Path) -> None:
    before = rows(home)
    path = tmp_path / "plain.log.gz"
    shutil.copy(DAY1, path)
    result = ingest(home, path)
    assert result.exit_code == 1 and "named .gz but not gzip data" in result.output
    assert isinstance(result.exception, SystemExit), "a message, not a traceback"
    assert rows(home) == before


def test_a_fifo_is_refused_instead_of_hanging(home: Path, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.log"
    os.mkfifo(fifo)
    outcome: list[Result] = []
    worker = threading.Thread(target=lambda: outcome.append(ingest(home, fifo)), daemon=True)
    worker.start()
    worker.join(20)
    if worker.is_alive():  # unblock the reader so the test process can end, then fail
        with open(fifo, "wb"):
            pass
        pytest.fail("ingest of a FIFO hangs")
    assert outcome[0].exit_code == 1 and "not a regular file" in outcome[0].output


def test_a_device_is_refused(home: Path) -> None:
    result = ingest(home, "/dev/zero")
    assert result.exit_code == 1 and "not a regular file" in result.output
