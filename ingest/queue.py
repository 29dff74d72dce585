"""Queue snapshots: `postqueue -j` on a gateway (over SSH or locally) -> rows of the `queue` table.

One row per queued message and snapshot; repeated snapshots give the queue's history, so its size per
gateway can be charted over time. An empty queue is an empty frame: the store still receives it, so the
lake can record that the queue was empty at that time.
"""

from __future__ import annotations

import json
import shlex
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime

import polars as pl

from ingest.collect import CollectError
from ingest.gateways import Gateway

QUEUE_SCHEMA = {
    "snapshot_ts": pl.Datetime("us", "UTC"),
    "gateway": pl.String,
    "queue_name": pl.String,
    "queue_id": pl.String,
    "arrival_time": pl.Datetime("us", "UTC"),
    "message_size": pl.Int64,
    "sender": pl.String,
    "recipients": pl.List(pl.String),
    "delay_reasons": pl.List(pl.String),
}

QueueStore = Callable[[str, pl.DataFrame], object]
"""Where snapshots go: called with the gateway name and the snapshot's rows (the lake's commit_queue)."""

Runner = Callable[[str], bytes]
"""Runs the gateway's queue command and returns its standard output."""


def parse_postqueue(output: bytes, gateway: str, snapshot_ts: datetime) -> pl.DataFrame:
    """Rows of one `postqueue -j` output (one JSON object per queued message and line).

    `recipients` and `delay_reasons` are parallel lists (a recipient without a reason has null); the null
    sender `<>` is the empty string, as in the lines table.
    """
    rows = []
    for number, raw in enumerate(output.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            item = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise CollectError(f"gateway {gateway}: postqueue -j line {number} is not JSON: {exc}") from exc
        recipients = item.get("recipients") or []
        arrival = item.get("arrival_time")
        rows.append(
            {
                "snapshot_ts": snapshot_ts,
                "gateway": gateway,
                "queue_name": item.get("queue_name"),
                "queue_id": item.get("queue_id"),
                "arrival_time": None if arrival is None else datetime.fromtimestamp(arrival, UTC),
                "message_size": item.get("message_size"),
                "sender": item.get("sender"),
                "recipients": [r.get("address") for r in recipients],
                "delay_reasons": [r.get("delay_reason") for r in recipients],
            }
        )
    return pl.DataFrame(rows, schema=QUEUE_SCHEMA)


def local_runner(timeout: float = 60.0) -> Runner:
    """Run the queue command on this machine (no shell: the command is split like a shell would)."""

    def run(command: str) -> bytes:
        try:
            done = subprocess.run(shlex.split(command), capture_output=True, timeout=timeout, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise CollectError(f"`{command}` failed: {exc}") from exc
        if done.returncode != 0:
            detail = done.stderr.decode("utf-8", errors="replace").strip()[:500]
            raise CollectError(f"`{command}` exited with {done.returncode}: {detail}")
        return done.stdout

    return run


def snapshot_queue(gateway: Gateway, run: Runner, store: QueueStore) -> pl.DataFrame:
    """Take one snapshot of a gateway's queue, hand it to `store`, and return it."""
    snapshot_ts = datetime.now(UTC)
    frame = parse_postqueue(run(gateway.queue_command), gateway.name, snapshot_ts)
    store(gateway.name, frame)
    return frame
