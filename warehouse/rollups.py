"""Rollups: `delivery_hours`, the deliveries counted per UTC hour and per every column a page groups by
or a Scope filters on, so the pages read thousands of counts instead of millions of rows.

One row per (hour, gateway, sender, sender_domain, sasl_username, recipient_domain, provider, status,
qualification, reason) with its number of delivery attempts; `day` partitions it as it partitions
`deliveries`. It keeps every column the Scope predicate uses (gateway, sender, sender_domain,
sasl_username), so the scoped view applies the very same predicate to it. Deliveries without a timestamp
belong to no hour and are not counted (no period query sees them either).

The table is a pure function of the `deliveries` snapshot it records (app transaction `deliveries` ->
that table's version). `update_rollups` brings it up to date: it reads which hours the deliveries
commits since then touched (the files they added; a commit that removed data touches its whole days),
recomputes exactly those hours from `deliveries`, and replaces them in one Delta commit (overwrite with a
predicate on day and hour), so a reader sees the old or the new counts of an hour, never a mix. The
pipeline calls it after each deliveries commit, `reclassify` and `compact` after theirs. Callers hold the
writer lock (`rebuild_rollups` takes it).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote

import polars as pl
from deltalake import CommitProperties, Transaction, write_deltalake

from relaywatch.core import lake_dir
from warehouse.lake import Lake

ROLLUP = "delivery_hours"
SOURCE = "deliveries"
KEYS = (
    "hour",
    "gateway",
    "sender",
    "sender_domain",
    "sasl_username",
    "recipient_domain",
    "provider",
    "status",
    "qualification",
    "reason",
)
SCHEMA = {
    "hour": pl.Datetime("us", "UTC"),
    **{key: pl.String for key in KEYS[1:]},
    "attempts": pl.Int64,
    "day": pl.String,
}
"""`delivery_hours`: the grouping columns, the attempts counted, and the day partition."""
ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")

Touched = dict[str, set[datetime] | None]
"""Day -> the hours of it to recompute (None: the whole day)."""


def empty_rollup() -> pl.DataFrame:
    """A zero-row `delivery_hours` frame (the view's schema before the first commit)."""
    return pl.DataFrame(schema=SCHEMA)


def roll_up(deliveries: pl.LazyFrame) -> pl.DataFrame:
    """Count delivery rows per hour and key; a column a lake lacks (provider, in older ones) counts as null."""
    names = deliveries.collect_schema().names()
    wanted = {"ts": SCHEMA["hour"], **{k: pl.String for k in KEYS[1:]}}
    missing = [pl.lit(None, dtype).alias(k) for k, dtype in wanted.items() if k not in names]
    return (
        deliveries.with_columns(missing)
        .filter(pl.col("ts").is_not_null())
        .with_columns(hour=pl.col("ts").dt.truncate("1h"))
        .group_by("day", *KEYS)
        .agg(attempts=pl.len().cast(pl.Int64))
        .select(list(SCHEMA))
        .cast(SCHEMA)
        .sort("hour", *KEYS[1:], nulls_last=True)
        .collect()
    )


def _hour_literal(hour: datetime) -> str:
    return "'" + hour.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") + "'"


def _predicate(touched: Touched) -> str:
    """The Delta predicate selecting the touched hours (day strings checked ISO, hours our own values)."""
    terms = []
    for day, hours in sorted(touched.items()):
        if hours is None:
            terms.append(f"(day = '{day}')")
        else:
            listed = ", ".join(_hour_literal(h) for h in sorted(hours))
            terms.append(f"(day = '{day}' AND hour IN ({listed}))")
    return " OR ".join(terms)


def _touched(lake: Lake, after: int, upto: int) -> Touched | None:
    """Hours that the `deliveries` commits after version `after` up to `upto` changed; None when a
    commit's log entry is gone (expired), meaning: recompute everything."""
    touched: Touched = {}
    added: list[str] = []
    for version in range(after + 1, upto + 1):
        log = lake.path(SOURCE) / "_delta_log" / f"{version:020d}.json"
        if not log.exists():
            return None
        for entry in log.read_text(encoding="utf-8").splitlines():
            action = json.loads(entry)
            add, remove = action.get("add"), action.get("remove")
            if add and add.get("dataChange", True):
                added.append(str(lake.path(SOURCE) / unquote(add["path"])))
            elif remove and remove.get("dataChange", True):
                day = (remove.get("partitionValues") or {}).get("day") or ""
                if ISO_DAY.fullmatch(day):
                    touched[day] = None
    if added:
        files = pl.scan_parquet(added, hive_partitioning=False, missing_columns="insert")
        if "ts" not in files.collect_schema().names():
            return touched  # rows without a timestamp belong to no hour
        hours = files.select(pl.col("ts").dt.truncate("1h")).unique()
        for (hour,) in hours.drop_nulls().collect().iter_rows():
            day = hour.date().isoformat()
            if day not in touched:
                touched[day] = set()
            if touched[day] is not None:
                touched[day].add(hour)
    return touched


def _recomputed(lake: Lake, version: int, touched: Touched | None) -> pl.DataFrame:
    """The rollup rows of the touched hours (all of them when None) from `deliveries` at `version`."""
    rows = pl.scan_delta(str(lake.path(SOURCE)), version=version)
    if touched is not None and "ts" in rows.collect_schema().names():
        hours = pl.Series([h for day_hours in touched.values() if day_hours is not None for h in day_hours])
        whole = pl.Series([day for day, day_hours in touched.items() if day_hours is None], dtype=pl.String)
        rows = rows.filter(pl.col("day").is_in(pl.Series(list(touched), dtype=pl.String).implode())).filter(
            pl.col("day").is_in(whole.implode())
            | pl.col("ts").dt.truncate("1h").is_in(hours.cast(SCHEMA["hour"]).implode())
        )
    return roll_up(rows)


def _write(lake: Lake, version: int, touched: Touched | None) -> int:
    """Replace the touched hours (the whole table when None) in one commit recording `version`."""
    frame = _recomputed(lake, version, touched)
    properties = CommitProperties(app_transactions=[Transaction(app_id=SOURCE, version=version)])
    table = lake.table(ROLLUP)
    if touched is None or table is None:
        write_deltalake(
            str(lake.path(ROLLUP)),
            frame.to_arrow(),
            mode="overwrite",
            partition_by=["day"],
            schema_mode="overwrite",
            commit_properties=properties,
        )
    elif frame.height:
        write_deltalake(
            table,
            frame.to_arrow(),
            mode="overwrite",
            predicate=_predicate(touched) if touched else "FALSE",
            partition_by=["day"],
            commit_properties=properties,
        )
    else:  # the hours lost all their rows (or none were touched): delete them, still recording version
        table.delete(_predicate(touched) if touched else "FALSE", commit_properties=properties)
    return frame.height


def update_rollups(lake: Lake) -> int:
    """Bring `delivery_hours` up to date with the newest `deliveries` snapshot; the rows rewritten.

    Only the hours the deliveries commits since the recorded version touched are recomputed; a lake
    without the rollup yet (written before it existed, or around the pipeline) gets it whole."""
    deliveries = lake.table(SOURCE)
    if deliveries is None:
        return 0
    current = deliveries.version()
    done = lake.app_version(ROLLUP, SOURCE)
    if done is not None and done >= current:
        return 0
    touched = None if done is None else _touched(lake, done, current)
    return _write(lake, current, touched)


def rebuild_rollups(home: Path) -> int:
    """Recompute `delivery_hours` of a data home from all its deliveries, in one commit; the rows."""
    from warehouse.pipeline import writer_lock  # the pipeline imports this module

    lake = Lake(lake_dir(home))  # no time zone needed: rows are already parsed
    with writer_lock(lake):
        deliveries = lake.table(SOURCE)
        return 0 if deliveries is None else _write(lake, deliveries.version(), None)
