"""Compaction: many small commits (a follower commits every second) become few large files.

`optimize.compact` rewrites small files into large ones in a commit that adds no data (readers holding
an older snapshot keep reading it); a checkpoint keeps opening the table fast; `vacuum` deletes files
no snapshot younger than the retention period needs. The `delivery_hours` rollup first catches up with
any deliveries commit it has not counted (under the writer lock), then is compacted like the others.
"""

from __future__ import annotations

from dataclasses import dataclass

from warehouse.lake import Lake
from warehouse.pipeline import writer_lock
from warehouse.rollups import ROLLUP, update_rollups

TABLES = ("lines", "deliveries", "rejects", "messages", "messages_open", "queue", ROLLUP)
RETENTION_HOURS = 24 * 7


@dataclass
class CompactStats:
    """Per table: files removed and added by compaction, files deleted by vacuum."""

    tables: dict[str, tuple[int, int, int]]


def compact(lake: Lake, *, retention_hours: int = RETENTION_HOURS) -> CompactStats:
    """Compact, checkpoint and vacuum every table of the lake."""
    done: dict[str, tuple[int, int, int]] = {}
    with writer_lock(lake):
        update_rollups(lake)
    for name in TABLES:
        table = lake.table(name)
        if table is None:
            continue
        metrics = table.optimize.compact()
        table.create_checkpoint()
        deleted = table.vacuum(retention_hours=retention_hours, dry_run=False, enforce_retention_duration=False)
        done[name] = (metrics.get("numFilesRemoved", 0), metrics.get("numFilesAdded", 0), len(deleted))
    return CompactStats(done)
