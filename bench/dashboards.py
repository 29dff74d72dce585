"""Dashboards benchmark: the Logs and Overview queries for a scoped user over a 20M-delivery lake.

    python -m bench.dashboards [--source /tmp/rw/h1] [--rows 20000000] [--runs 20] [--rebuild]

Builds (once, cached under bench/out/, git-ignored) a data home whose `deliveries`, `messages` and
`rejects` Delta tables replicate a real ingested home (default: the 2M-line demo home) until they hold
`--rows` deliveries: copy i moves to gateway gw(1 + i % 5), to the week i // 5 % 4 before the original
(four weeks of history), and, from copy 1 on, to senders of other domains (c<i>-<domain>), so one
customer's sender keeps the rows of copy 0 only, as on a shared relay. Each copy is appended sorted by
time (as the pipeline writes), then every day partition is compacted into files of 128k-row groups and
the replaced files are vacuumed, and the `delivery_hours` rollup is computed from the result (also for a
cached lake built before the rollup existed).

Then it times, through a Warehouse built with each user's Scope, exactly the functions the pages call
(dashboards.queries): the Logs page (gateway options + histogram/total + one page of rows) and the
Overview, for a one-sender user, a one-domain user and root, over the last 7 days and 30 days of data.
Prints p50/p95 as a Markdown table and writes it to bench/out/dashboards.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import polars as pl
from deltalake import DeltaTable, WriterProperties

from acl import Scope, make_grant
from relaywatch.core import open_home
from warehouse import LogFilter, Period, gateways, log_histogram, log_rows, overview, rebuild_rollups
from warehouse.lake import Lake
from warehouse.views import Warehouse

OUT = Path(__file__).resolve().parent / "out"
HOME = OUT / "dashboards-home"
TABLES = ("deliveries", "messages", "rejects")
WEEKS = 4
GATEWAYS = 5
SENDER = "rdv@camping-bernard-beausoleil.net"
DOMAIN = "clinique-alpes-maritimes-muller.fr"
ROW_GROUP = 131_072
TARGET_LOGS_P95 = 0.300
TARGET_OVERVIEW = 1.0


def _copy(frame: pl.DataFrame, index: int, time_columns: tuple[str, ...]) -> pl.DataFrame:
    """Copy `index` of a table: another gateway, week and (after the first) sender domain."""
    shift = timedelta(days=7 * ((index // GATEWAYS) % WEEKS))
    gateway = f"gw{1 + index % GATEWAYS}"
    columns = [pl.lit(gateway).alias("gateway")]
    columns += [(pl.col(c) - shift).alias(c) for c in time_columns if c in frame.columns]
    if "message_key" in frame.columns:
        columns.append((pl.lit(f"{gateway}/w{index}/") + pl.col("message_key")).alias("message_key"))
    if index:
        columns += [
            pl.when(pl.col("sender_domain") != "")
            .then(pl.lit(f"c{index}-") + pl.col("sender_domain"))
            .otherwise(pl.col("sender_domain"))
            .alias("sender_domain"),
            pl.when(pl.col("sender").str.contains("@"))
            .then(pl.col("sender").str.replace("@", f"@c{index}-", literal=True))
            .otherwise(pl.col("sender"))
            .alias("sender"),
            pl.when(pl.col("sasl_username").str.contains("@"))
            .then(pl.col("sasl_username").str.replace("@", f"@c{index}-", literal=True))
            .otherwise(pl.col("sasl_username"))
            .alias("sasl_username"),
        ]
    moved = frame.with_columns(columns)
    first_time = time_columns[0]
    return moved.with_columns(day=pl.col(first_time).dt.date().cast(pl.String)).sort(first_time)


def build(source: Path, rows: int, home: Path) -> int:
    """Write the replicated lake into `home`; returns the number of deliveries."""
    shutil.rmtree(home, ignore_errors=True)
    open_home(home, create=True)
    base = {t: pl.read_delta(str(source / "lake" / t)) for t in TABLES}
    copies = -(-rows // base["deliveries"].height)
    times = {"deliveries": ("ts",), "messages": ("first_ts", "last_ts"), "rejects": ("ts",)}
    for index in range(copies):
        for table in TABLES:
            frame = _copy(base[table], index, times[table])
            if table == "deliveries" and index == copies - 1:
                frame = frame.head(rows - index * base["deliveries"].height)
            frame.write_delta(str(home / "lake" / table), mode="append", delta_write_options={"partition_by": ["day"]})
        print(f"  copy {index + 1}/{copies} written", flush=True)
    for table in TABLES:  # what a periodic compaction gives: ~128k-row groups, time-ordered within a copy
        delta = DeltaTable(str(home / "lake" / table))
        delta.optimize.compact(writer_properties=WriterProperties(max_row_group_size=ROW_GROUP, compression="ZSTD"))
        delta.vacuum(retention_hours=0, enforce_retention_duration=False, dry_run=False)
    return rows


@dataclass(frozen=True)
class Timing:
    name: str
    seconds: list[float]

    @property
    def p50(self) -> float:
        return statistics.median(self.seconds)

    @property
    def p95(self) -> float:
        ordered = sorted(self.seconds)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def measure(name: str, action: Callable[[], object], runs: int) -> Timing:
    action()  # warm: file metadata and the OS page cache, as on a server that already served a page
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        seconds.append(time.perf_counter() - start)
    return Timing(name, seconds)


def page_queries(warehouse: Warehouse, period: Period) -> list[tuple[str, Callable[[], object], float]]:
    """(name, what the page asks the warehouse, p95 target) for one user's warehouse and period.

    The Logs page keeps the gateway options (5 min) and the histogram of the current filters (1 min) in
    the browser session: a new filter costs histogram + rows, a new page or order costs rows only."""
    flt = LogFilter(period)
    failed = LogFilter(period, statuses=("bounced",), text="spam")
    return [
        (
            "Logs, filters applied: histogram/total + page 1 (100 rows)",
            lambda: (log_histogram(warehouse, flt), log_rows(warehouse, flt)),
            TARGET_LOGS_P95,
        ),
        (
            "Logs, first visit: gateway options + histogram/total + page 1",
            lambda: (gateways(warehouse, period), log_histogram(warehouse, flt), log_rows(warehouse, flt)),
            TARGET_LOGS_P95,
        ),
        ("Logs, next page (rows 101-200)", lambda: log_rows(warehouse, flt, offset=100), TARGET_LOGS_P95),
        (
            "Logs, page 50 sorted by recipient",
            lambda: log_rows(warehouse, flt, sort="recipient", descending=False, offset=4900),
            TARGET_LOGS_P95,
        ),
        (
            "Logs, bounced + reply contains 'spam': histogram/total + page 1",
            lambda: (log_histogram(warehouse, failed), log_rows(warehouse, failed)),
            TARGET_LOGS_P95,
        ),
        ("Overview", lambda: overview(warehouse, period, soft_is_error=False), TARGET_OVERVIEW),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dashboards", description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=Path("/tmp/rw/h1"), help="an ingested data home")
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--home", type=Path, default=HOME)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args(argv)
    lake = Lake(args.home / "lake")
    stamp = args.home / f".built-{args.rows}"
    if args.rebuild or not stamp.exists():
        print(f"building {args.rows:,} deliveries in {args.home} from {args.source}", flush=True)
        started = time.perf_counter()
        build(args.source, args.rows, args.home)
        stamp.touch()
        print(f"built in {time.perf_counter() - started:.0f} s", flush=True)
    root = Warehouse(lake, Scope.root())
    if not root.rollups_current():
        started = time.perf_counter()
        rows = rebuild_rollups(args.home)
        print(f"rolled up into {rows:,} delivery_hours rows in {time.perf_counter() - started:.0f} s", flush=True)
    count, last = root.query("SELECT count(*) AS n, max(ts) AS last FROM deliveries").row(0)
    files = len(DeltaTable(str(args.home / "lake" / "deliveries")).file_uris())
    root.close()
    end = last + timedelta(seconds=1)
    periods = {"7 days": Period(end - timedelta(days=7), end), "30 days": Period(end - timedelta(days=30), end)}
    users = {
        f"user (sender {SENDER})": Scope.from_grants([make_grant("sender", SENDER)]),
        f"user (domain {DOMAIN})": Scope.from_grants([make_grant("domain", DOMAIN)]),
        "root": Scope.root(),
    }
    load = os.getloadavg()[0]
    lines = [
        f"Dashboards benchmark: {count:,} deliveries ({files} Parquet files), {WEEKS} weeks, {GATEWAYS} gateways; "
        f"{os.cpu_count()} CPUs, {platform.python_implementation()} {platform.python_version()}; "
        f"{args.runs} runs after one warm-up; load average {load:.1f} at start, "
        "END_LOAD at end (other jobs on the machine inflate the figures).",
        "",
        "| user | period | query | p50 ms | p95 ms | target |",
        "|---|---|---|---:|---:|---|",
    ]
    for label, scope in users.items():
        started = time.perf_counter()
        warehouse = Warehouse(lake, scope)
        opened = time.perf_counter() - started
        lines.append(f"| {label} | - | open a Warehouse (first page of a session) | {opened * 1000:.0f} | - | - |")
        for period_name, period in periods.items():
            for name, action, target in page_queries(warehouse, period):
                timing = measure(name, action, args.runs)
                verdict = "ok" if timing.p95 <= target else f"MISSED (≤ {target * 1000:.0f} ms)"
                lines.append(
                    f"| {label} | {period_name} | {name} | {timing.p50 * 1000:.0f} | "
                    f"{timing.p95 * 1000:.0f} | {verdict} |"
                )
                print(lines[-1], flush=True)
        warehouse.close()
    report = ("\n".join(lines) + "\n").replace("END_LOAD", f"{os.getloadavg()[0]:.1f}")
    OUT.mkdir(exist_ok=True)
    (OUT / "dashboards.md").write_text(report, encoding="utf-8")
    print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
