"""Linking a complaint to the delivery it is about, in the lake's `deliveries` table.

In order: the gateway's own queue id in the reported message's `Received: ... by GATEWAY ... id QUEUEID`
(queue ids recycle: the delivery must be at most LOOKBACK_DAYS before the complaint), then the
reported Message-ID, then the envelope sender + recipient within `window` before the arrival. Among
candidates, a delivery to one of the reported recipients wins, then an accepted one (`sent`), then the
one closest to the arrival. The link says which path found it (`linked_by`), or `unlinked`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import polars as pl

from ingest import Report
from warehouse.lake import Lake

LOOKBACK_DAYS = 30
AFTER = timedelta(hours=1)
"""A complaint's Arrival-Date may run a little ahead of the gateway's clock."""
LINK_COLUMNS = (
    "gateway",
    "queue_id",
    "message_key",
    "ts",
    "sender",
    "sender_domain",
    "sasl_username",
    "recipient",
    "recipient_domain",
    "provider",
    "message_id",
    "status",
)


@dataclass(frozen=True)
class Wanted:
    """One complaint's keys for linking."""

    report: Report
    arrival: datetime | None

    @property
    def queue_ids(self) -> list[str]:
        return [queue_id for _, queue_id in self.report.received_ids]

    @property
    def recipients(self) -> list[str]:
        return list(self.report.original_rcpt_to) or ([self.report.reported_to] if self.report.reported_to else [])


def _candidates(lake: Lake, wanted: list[Wanted], window: timedelta) -> pl.DataFrame:
    """Every delivery any of the complaints could be about, in one scan of the days they span."""
    table = lake.table("deliveries")
    stamps = [w.arrival for w in wanted if w.arrival is not None]
    if table is None or not wanted:
        return pl.DataFrame()
    queue_ids = sorted({q for w in wanted for q in w.queue_ids})
    message_ids = sorted({w.report.reported_message_id for w in wanted if w.report.reported_message_id})
    senders = sorted({w.report.original_mail_from for w in wanted if w.report.original_mail_from})
    scan = pl.scan_delta(table)
    if stamps and len(stamps) == len(wanted):
        first = (min(stamps) - max(timedelta(days=LOOKBACK_DAYS), window)).date().isoformat()
        last = (max(stamps) + timedelta(days=1)).date().isoformat()
        scan = scan.filter(pl.col("day").cast(pl.String).is_between(pl.lit(first), pl.lit(last)))
    match = (
        pl.col("queue_id").is_in(queue_ids) | pl.col("message_id").is_in(message_ids) | pl.col("sender").is_in(senders)
    )
    return scan.filter(match).select(LINK_COLUMNS).collect()


def _best(rows: pl.DataFrame, want: Wanted) -> dict | None:
    if rows.is_empty():
        return None
    recipients = want.recipients
    if recipients:
        to_them = rows.filter(pl.col("recipient").is_in(recipients))
        rows = to_them if to_them.height else rows
    sent = rows.filter(pl.col("status") == "sent")
    rows = sent if sent.height else rows
    if want.arrival is not None:
        rows = rows.sort((pl.col("ts") - pl.lit(want.arrival)).abs())
    return rows.row(0, named=True)


def link_one(rows: pl.DataFrame, want: Wanted, window: timedelta) -> tuple[str, dict | None]:
    """(linked_by, delivery row) of one complaint among the candidate deliveries."""
    if rows.is_empty():
        return "unlinked", None
    report, arrival = want.report, want.arrival
    ts = pl.col("ts")
    if arrival is not None:
        near = rows.filter((ts >= arrival - timedelta(days=LOOKBACK_DAYS)) & (ts <= arrival + AFTER))
    else:
        near = rows
    if want.queue_ids:
        found = _best(near.filter(pl.col("queue_id").is_in(want.queue_ids)), want)
        if found is not None:
            return "queue_id", found
    if report.reported_message_id:
        found = _best(near.filter(pl.col("message_id") == report.reported_message_id), want)
        if found is not None:
            return "message_id", found
    if report.original_mail_from and want.recipients and arrival is not None:
        inside = rows.filter(
            (ts >= arrival - window)
            & (ts <= arrival + AFTER)
            & (pl.col("sender") == report.original_mail_from)
            & pl.col("recipient").is_in(want.recipients)
        )
        found = _best(inside, want)
        if found is not None:
            return "sender_recipient_time", found
    return "unlinked", None


def link_reports(lake: Lake, wanted: list[Wanted], *, window: timedelta) -> list[tuple[str, dict | None]]:
    """Each complaint's link (same order)."""
    rows = _candidates(lake, wanted, window)
    return [link_one(rows, want, window) for want in wanted]
