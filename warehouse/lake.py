"""The lake: Delta tables under DIR/lake, written by atomic commits, read by snapshot.

Every raw chunk commit carries a Delta app transaction (`gateway|file_id` -> end offset), so what the lake
holds is also where collection resumes: there is no separate offset store to disagree with the data.
Derived tables carry the app transaction `process` -> the `lines` version they were computed from.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote

import polars as pl
from deltalake import CommitProperties, DeltaTable, Transaction
from deltalake.exceptions import TableNotFoundError

from ingest import Chunk
from relaywatch.core import lake_dir, load_config
from warehouse.addresses import normal_addresses
from warehouse.parse import parse_lines

PROCESS_APP = "process"
EXTRA_COLUMNS = ("gateway", "file_id", "offset", "line", "day")
LINE_COLUMNS = ("gateway", "file_id", "offset", "ts", "service", "queue_id", "event", "line", "day")
"""What the `lines` table keeps of each line: the raw text and what finds it again (the other parsed
fields are a pure function of the text, recomputed when a batch is processed from the lake)."""


@dataclass(frozen=True)
class LineBatch:
    """The parsed lines of one committed chunk and the `lines` table version that holds them."""

    version: int
    gateway: str
    frame: pl.DataFrame


def split_lines(data: bytes) -> tuple[pl.Series, pl.Series]:
    """Lines of a chunk and each line's byte offset within it; invalid UTF-8 becomes U+FFFD."""
    body = data[:-1] if data.endswith(b"\n") else data
    try:
        text = body.decode("utf-8")
        lines = pl.Series("line", [text]).str.split("\n").explode()
        sizes = lines.str.len_bytes().cast(pl.Int64)
    except UnicodeDecodeError:
        raw = body.split(b"\n")
        lines = pl.Series("line", [part.decode("utf-8", errors="replace") for part in raw])
        sizes = pl.Series([len(part) for part in raw], dtype=pl.Int64)
    offsets = (sizes + 1).cum_sum() - (sizes + 1)
    return lines, offsets


class Lake:
    """Delta tables of one data home; implements the collectors' ChunkSink."""

    def __init__(self, root: Path, *, timezone: str = "UTC") -> None:
        self.root = root
        self.timezone = timezone
        self._tables: dict[str, DeltaTable] = {}

    def path(self, table: str) -> Path:
        return self.root / table

    def table(self, name: str) -> DeltaTable | None:
        """The newest snapshot of a table, or None before its first commit."""
        cached = self._tables.get(name)
        if cached is not None:
            cached.update_incremental()
            return cached
        try:
            table = DeltaTable(str(self.path(name)))
        except TableNotFoundError:
            return None
        self._tables[name] = table
        return table

    def version(self, name: str) -> int:
        """The table's current version, -1 before its first commit."""
        table = self.table(name)
        return -1 if table is None else table.version()

    def app_version(self, name: str, app_id: str) -> int | None:
        """The version an application last recorded in this table's commits."""
        table = self.table(name)
        return None if table is None else table.transaction_version(app_id)

    def committed(self, gateway: str, file_id: str) -> int:
        """End offset of what the lake holds of this file of this gateway (0 when nothing)."""
        return self.app_version("lines", f"{gateway}|{file_id}") or 0

    def parse_chunk(self, chunk: Chunk) -> pl.DataFrame:
        """A chunk's lines, parsed, with where each comes from (gateway, file, offset) and its day."""
        lines, offsets = split_lines(chunk.data)
        reference = datetime.fromtimestamp(chunk.mtime, UTC)
        parsed = parse_lines(lines, reference=reference, tz=self.timezone)
        day = pl.coalesce(parsed["ts"].dt.date(), pl.lit(reference.date())).cast(pl.String)
        return parsed.with_columns(
            gateway=pl.lit(chunk.gateway),
            file_id=pl.lit(chunk.file_id),
            offset=offsets + chunk.start,
            line=lines,
            day=day,
        )

    def commit_lines(self, chunk: Chunk, frame: pl.DataFrame) -> int:
        """Commit a parsed chunk's lines, recording its offsets in the same commit; the new version."""
        meta = {
            "gateway": chunk.gateway,
            "file_id": chunk.file_id,
            "path": chunk.path,
            "start": chunk.start,
            "end": chunk.end,
            "lines": frame.height,
        }
        return self.append(
            "lines",
            frame.select(LINE_COLUMNS),
            app_id=f"{chunk.gateway}|{chunk.file_id}",
            app_version=chunk.end,
            metadata={"relaywatch.chunk": json.dumps(meta)},
        )

    def commit(self, chunk: Chunk) -> LineBatch:
        """Parse a chunk and commit its lines (the collectors' ChunkSink)."""
        frame = self.parse_chunk(chunk)
        return LineBatch(self.commit_lines(chunk, frame), chunk.gateway, frame)

    def read_batch(self, version: int) -> LineBatch | None:
        """A committed chunk read back from the lake and parsed again (None for a commit that added no
        data, such as a compaction). The stored timestamps win over the re-parse, whose year inference
        would otherwise depend on today's date."""
        files = self.added_files("lines", version)
        if not files:
            return None
        stored = (
            pl.read_parquet(files, hive_partitioning=True).sort("offset").with_columns(pl.col("day").cast(pl.String))
        )
        parsed = parse_lines(stored["line"], reference=datetime.now(UTC), tz=self.timezone)
        frame = parsed.drop("ts").with_columns(stored.select(pl.exclude(parsed.columns), "ts"))
        return LineBatch(version, frame["gateway"][0], frame.select(*parsed.columns, *EXTRA_COLUMNS))

    def commit_queue(self, gateway: str, rows: pl.DataFrame, *, at: datetime | None = None) -> int:
        """Commit one queue snapshot of a gateway: its messages plus one marker row (queue_id null) so
        that an empty queue is recorded too and queue size over time has its zero points."""
        taken = at or (rows["snapshot_ts"][0] if rows.height else datetime.now(UTC))
        marker = pl.DataFrame(
            {"snapshot_ts": [taken], "gateway": [gateway]}, schema_overrides={"snapshot_ts": pl.Datetime("us", "UTC")}
        )
        frame = normal_addresses(pl.concat([rows, marker], how="diagonal_relaxed"), "sender").with_columns(
            sender_domain=pl.col("sender").str.extract(r"@([^@]+)$"),
            sasl_username=pl.lit(None, pl.String),
            day=pl.col("snapshot_ts").dt.date().cast(pl.String),
        )
        return self.append("queue", frame, app_id=f"queue|{gateway}", app_version=int(taken.timestamp() * 1e6))

    def append(
        self,
        name: str,
        frame: pl.DataFrame,
        *,
        app_id: str,
        app_version: int,
        metadata: dict[str, str] | None = None,
        mode: str = "append",
        partition_by: tuple[str, ...] = ("day",),
        new_columns: bool = False,
    ) -> int:
        """Commit a frame to a table atomically with an app transaction; returns the new version.

        `new_columns`: the frame may carry columns added since the table was created (a derived table
        of an older lake); they are merged into the table's schema."""
        options = {
            "commit_properties": CommitProperties(
                custom_metadata=metadata or {},
                app_transactions=[Transaction(app_id=app_id, version=app_version)],
            ),
        }
        if partition_by:
            options["partition_by"] = list(partition_by)
        if mode == "overwrite":
            options["schema_mode"] = "overwrite"
        elif new_columns:
            options["schema_mode"] = "merge"
        frame.write_delta(str(self.path(name)), mode=mode, delta_write_options=options)
        return self.version(name)

    def added_files(self, name: str, version: int) -> list[str]:
        """Data files a commit added (dataChange only: compaction rewrites are not new data)."""
        log = self.path(name) / "_delta_log" / f"{version:020d}.json"
        files = []
        for entry in log.read_text(encoding="utf-8").splitlines():
            add = json.loads(entry).get("add")
            if add and add.get("dataChange", True):
                files.append(str(self.path(name) / unquote(add["path"])))
        return files

    def files(self, name: str) -> tuple[int, list[str]]:
        """(version, data files) of the newest snapshot; (-1, []) before the first commit."""
        table = self.table(name)
        if table is None:
            return -1, []
        return table.version(), table.file_uris()


def open_lake(home: Path) -> Lake:
    """The lake of a data home, reading classic syslog timestamps in the configured time zone."""
    return Lake(lake_dir(home), timezone=load_config(home).parse.timezone)
