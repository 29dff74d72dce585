"""API benchmark: Arrow export of 1M scoped rows through `POST /api/v1/sql`, time and peak server memory.

    python -m bench.api [--rows 1000000] [--rebuild]

Builds once (cached in bench/out/api-home, git-ignored) a data home from a real ingest of two generated
gateways, gw-a and gw-b, whose `deliveries` are then replicated (copy i: message keys prefixed, times
shifted by i seconds) until gw-a holds `--rows` rows and gw-b as many, and compacted. Starts a real
`relaywatch serve` on 127.0.0.1, creates a user granted gateway gw-a and its token, and streams
`SELECT * FROM deliveries` (its scope: gw-a's rows only) as an Arrow IPC stream, reading it batch by
batch. Measures wall time, rows/s, MB/s, and the peak resident memory of the server process and of its
whole process tree (the query child included), sampled every 50 ms; a quarter of the rows is exported too,
to show the server's memory stays flat as the export grows.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import threading
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import psutil
import pyarrow as pa
from deltalake import DeltaTable, WriterProperties

from acl import get_user, local_operator, open_store, token_create, user_add, user_grant
from relaywatch.core import open_home
from relaywatch.loggen import generate
from warehouse import ingest, open_lake

OUT = Path(__file__).resolve().parent / "out"
HOME = OUT / "api-home"
GATEWAYS = ("gw-a", "gw-b")
SQL_LIMITS = "\n[sql]\nmax_rows = 5000000\nmax_bytes = 8589934592\nseconds = 600\n"


def build(rows: int) -> None:
    """The replicated home (see the module docstring)."""
    shutil.rmtree(HOME, ignore_errors=True)
    home = open_home(HOME, create=True)
    logs = OUT / "api-logs"
    generate(
        None,
        days=1,
        gateways=list(GATEWAYS),
        seed=3,
        start=datetime(2026, 11, 20, tzinfo=UTC),
        per_gateway_dir=logs,
        messages_per_day=4000,
    )
    lake = open_lake(home)
    for gateway in GATEWAYS:
        ingest(lake, gateway, logs / f"{gateway}.log")
    base = pl.read_delta(str(home / "lake" / "deliveries"))
    per_copy = base.filter(pl.col("gateway") == GATEWAYS[0]).height
    copies = -(-rows // per_copy)
    print(f"  {base.height} deliveries ingested, {copies} copies to reach {rows} rows of {GATEWAYS[0]}", flush=True)
    step = 25
    for first in range(1, copies, step):
        frames = [
            base.with_columns(
                message_key=pl.lit(f"c{i}/") + pl.col("message_key"), ts=pl.col("ts") + pl.duration(seconds=i)
            )
            for i in range(first, min(copies, first + step))
        ]
        pl.concat(frames).write_delta(
            str(home / "lake" / "deliveries"), mode="append", delta_write_options={"partition_by": ["day"]}
        )
    table = DeltaTable(str(home / "lake" / "deliveries"))
    table.optimize.compact(writer_properties=WriterProperties(max_row_group_size=131_072, compression="ZSTD"))
    table.vacuum(retention_hours=0, enforce_retention_duration=False, dry_run=False)
    (home / "relaywatch.toml").write_text((home / "relaywatch.toml").read_text() + SQL_LIMITS)
    store = open_store(home / "control.db")
    user_add(store, local_operator("bench"), "analyst", "user", None)
    user_grant(store, local_operator("bench"), "analyst", "gateway", GATEWAYS[0])
    store.close()


class Peak:
    """Peak RSS of a process and of its whole tree, sampled every 50 ms while the block runs."""

    def __init__(self, pid: int) -> None:
        self.process, self.own, self.tree = psutil.Process(pid), 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            try:
                own = self.process.memory_info().rss
                tree = own + sum(c.memory_info().rss for c in self.process.children(recursive=True))
            except psutil.NoSuchProcess:
                tree = own = 0
            self.own, self.tree = max(self.own, own), max(self.tree, tree)
            time.sleep(0.05)

    def __enter__(self) -> Peak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def export(base: str, token: str, limit: int | None) -> tuple[int, int, float]:
    """Stream one Arrow export, batch by batch: (rows, bytes, seconds)."""
    query = "SELECT * FROM deliveries" + (f" LIMIT {int(limit)}" if limit else "")  # noqa: S608 - an int
    request = urllib.request.Request(
        f"{base}/api/v1/sql",
        data=json.dumps({"sql": query}).encode(),
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.apache.arrow.stream",
            "Content-Type": "application/json",
        },
    )
    started = time.monotonic()
    rows = size = 0
    with urllib.request.urlopen(request, timeout=900) as response:  # noqa: S310 - our own loopback server
        for batch in pa.ipc.open_stream(response):
            rows, size = rows + batch.num_rows, size + batch.nbytes
    return rows, size, time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    if args.rebuild or not (HOME / "relaywatch.toml").is_file():
        build(args.rows)
    store = open_store(HOME / "control.db")
    token, _ = token_create(store, get_user(store, "analyst"), f"bench {time.time():.0f}")
    store.close()
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.servers.serve import serving

    with serving(HOME) as (base, process):
        export(base, token, 1000)  # warm: the forkserver and the first lake listing
        idle = psutil.Process(process.pid).memory_info().rss
        results = []
        for limit in (args.rows // 4, None):
            with Peak(process.pid) as peak:
                rows, size, seconds = export(base, token, limit)
            results.append((rows, size, seconds, peak.own, peak.tree))
    print(f"\nserver idle RSS {idle / 2**20:.0f} MiB\n")
    print("| rows | Arrow MB | seconds | rows/s | server peak RSS MiB | process tree peak RSS MiB |")
    print("|---:|---:|---:|---:|---:|---:|")
    for rows, size, seconds, own, tree in results:
        print(
            f"| {rows:,} | {size / 1e6:,.0f} | {seconds:.2f} | {rows / seconds:,.0f} | {own / 2**20:,.0f} "
            f"| {tree / 2**20:,.0f} |"
        )


if __name__ == "__main__":
    main()
