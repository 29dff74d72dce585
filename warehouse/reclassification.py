"""Re-apply the current classification rules (and provider table) to stored rows, without raw logs.

Each day partition of `deliveries` and `rejects` is rewritten by one Delta commit that replaces exactly
that partition (`predicate day = ...`), so a reader sees either the old or the new classification of a
day, never a mix, and a crash leaves every partition whole. The `delivery_hours` rollup of the rewritten
days is then recomputed (warehouse.rollups).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

import polars as pl
from deltalake import write_deltalake

from warehouse.classify import RuleSet, classify_frame
from warehouse.lake import Lake
from warehouse.pipeline import writer_lock
from warehouse.providers import provider_of
from warehouse.rollups import update_rollups

TABLES = ("deliveries", "rejects")
VERDICT = ("qualification", "reason", "suppressible", "rule")
ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass
class ReclassifyStats:
    """Rows per (qualification, reason) before and after, how many rows and days changed, and the
    deliveries whose reason changed, per (old reason, new reason)."""

    before: Counter[tuple[str, str]] = field(default_factory=Counter)
    after: Counter[tuple[str, str]] = field(default_factory=Counter)
    rows_changed: int = 0
    days_rewritten: int = 0
    reason_changes: Counter[tuple[str, str]] = field(default_factory=Counter)


def _counts(frame: pl.DataFrame) -> Counter[tuple[str, str]]:
    grouped = frame.group_by("qualification", "reason").len()
    return Counter({(q, r): n for q, r, n in grouped.iter_rows()})


def _reason_changes(old: pl.DataFrame, new: pl.DataFrame) -> Counter[tuple[str, str]]:
    pairs = pl.DataFrame({"old": old["reason"], "new": new["reason"]}).filter(pl.col("old").ne_missing(pl.col("new")))
    return Counter({(o, n): c for o, n, c in pairs.group_by("old", "new").len().iter_rows()})


def reclassify(lake: Lake, *, since: date | None = None, rules: RuleSet | None = None) -> ReclassifyStats:
    """Reclassify every stored day from `since` (all days when None); only changed days are rewritten."""
    stats = ReclassifyStats()
    with writer_lock(lake):
        for name in TABLES:
            table = lake.table(name)
            if table is None:
                continue
            days = sorted(p["day"] for p in table.partitions() if ISO_DAY.fullmatch(p["day"]))
            for day in days:
                if since is not None and date.fromisoformat(day) < since:
                    continue
                old = pl.from_arrow(table.to_pyarrow_table(filters=[("day", "=", day)]))
                verdict = classify_frame(old.select("dsn", "status", "response"), rules=rules).select(VERDICT)
                new = old.with_columns(verdict)
                derived = list(VERDICT)
                if "provider" in new.columns:
                    new = new.with_columns(provider=provider_of(new.select("recipient_domain", "relay")))
                    derived.append("provider")
                stats.before += _counts(old)
                stats.after += _counts(new)
                if name == "deliveries":
                    stats.reason_changes += _reason_changes(old, new)
                changed = (~old.select(derived).to_struct().eq_missing(new.select(derived).to_struct())).sum()
                if not changed:
                    continue
                write_deltalake(
                    table,
                    new.with_columns(day=pl.lit(day)).to_arrow(),
                    mode="overwrite",
                    predicate=f"day = '{day}'",
                    partition_by=["day"],
                )
                stats.rows_changed += int(changed)
                stats.days_rewritten += 1
        update_rollups(lake)
    return stats


def format_stats(stats: ReclassifyStats) -> str:
    """A table of rows per qualification and reason, before and after."""
    keys = sorted(set(stats.before) | set(stats.after))
    lines = [f"{'qualification':<14}{'reason':<20}{'before':>10}{'after':>10}"]
    lines += [f"{q:<14}{r:<20}{stats.before[(q, r)]:>10}{stats.after[(q, r)]:>10}" for q, r in keys]
    lines.append(f"{stats.rows_changed} row(s) changed in {stats.days_rewritten} day partition(s)")
    changes = ", ".join(f"{old} → {new}: {n}" for (old, new), n in sorted(stats.reason_changes.items()))
    lines.append(f"{stats.reason_changes.total()} deliveries changed reason" + (f" ({changes})" if changes else ""))
    return "\n".join(lines)
