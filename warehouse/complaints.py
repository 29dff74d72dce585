"""The `complaints` Delta table: every mail of a feedback-loop mailbox, linked to its delivery when it can be.

`ComplaintStore` is ingest's ComplaintSink: each batch of fetched mails is one commit whose Delta app
transaction `fbl|<mailbox>|<uidvalidity>` records the last UID, so the table itself says where the next
fetch resumes. Reports are linked to the lake's deliveries (warehouse.attribution) before the commit; a
linked complaint carries the delivery's gateway, sender, sender_domain, sasl_username, recipient and
provider, so the Scope filters it like the traffic it is about. An unlinked one has no gateway or sender
(only a scope that sees everything sees it). Mails that are not reports are stored with `parse_error`
and their raw bytes; `not-spam` reports are stored with `counted` false.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import polars as pl

from ingest import FetchedMail, read_mail
from warehouse.attribution import Wanted, link_reports
from warehouse.lake import Lake
from warehouse.providers import provider_of

TABLE = "complaints"
NOT_COUNTED = frozenset({"not-spam"})
"""Feedback types stored but never counted as complaints."""
TS = pl.Datetime("us", "UTC")
SCHEMA: dict[str, pl.DataType] = {
    "report_id": pl.String(),
    "mailbox": pl.String(),
    "uidvalidity": pl.Int64(),
    "uid": pl.Int64(),
    "fetched_at": TS,
    "received_at": TS,
    "arrival_ts": TS,
    "feedback_type": pl.String(),
    "counted": pl.Boolean(),
    "user_agent": pl.String(),
    "version": pl.String(),
    "report_from": pl.String(),
    "reporting_mta": pl.String(),
    "source_ip": pl.String(),
    "incidents": pl.Int64(),
    "reported_domain": pl.List(pl.String()),
    "original_mail_from": pl.String(),
    "original_rcpt_to": pl.List(pl.String()),
    "reported_part": pl.String(),
    "reported_message_id": pl.String(),
    "reported_from": pl.String(),
    "reported_to": pl.String(),
    "reported_subject": pl.String(),
    "reported_queue_id": pl.String(),
    "reported_host": pl.String(),
    "linked_by": pl.String(),
    "gateway": pl.String(),
    "queue_id": pl.String(),
    "message_key": pl.String(),
    "delivery_ts": TS,
    "sender": pl.String(),
    "sender_domain": pl.String(),
    "sasl_username": pl.String(),
    "recipient": pl.String(),
    "recipient_domain": pl.String(),
    "provider": pl.String(),
    "message_id": pl.String(),
    "parse_error": pl.String(),
    "size": pl.Int64(),
    "raw": pl.Binary(),
    "day": pl.String(),
}


def empty_complaints() -> pl.DataFrame:
    """A zero-row frame with the table's schema (views before the first fetch)."""
    return pl.DataFrame(schema=SCHEMA)


def app_id(mailbox: str, uidvalidity: int) -> str:
    return f"fbl|{mailbox}|{uidvalidity}"


def _row(mail: FetchedMail, fetched_at: datetime, link: tuple[str, dict | None]) -> dict:
    report = mail.report
    row: dict = {
        "report_id": mail.report_id,
        "mailbox": mail.mailbox,
        "uidvalidity": mail.uidvalidity,
        "uid": mail.uid,
        "fetched_at": fetched_at,
        "received_at": mail.received_at,
        "parse_error": mail.error,
        "size": len(mail.raw),
        "raw": mail.raw,
    }
    if report is not None:
        arrival = report.arrival_ts or report.reported_date or mail.received_at
        first = report.received_ids[0] if report.received_ids else (None, None)
        row.update(
            feedback_type=report.feedback_type,
            counted=report.feedback_type not in NOT_COUNTED,
            user_agent=report.user_agent,
            version=report.version,
            report_from=report.report_from,
            reporting_mta=report.reporting_mta,
            source_ip=report.source_ip,
            incidents=report.incidents,
            reported_domain=list(report.reported_domain),
            original_mail_from=report.original_mail_from,
            original_rcpt_to=list(report.original_rcpt_to),
            arrival_ts=arrival,
            reported_part=report.reported_part,
            reported_message_id=report.reported_message_id,
            reported_from=report.reported_from,
            reported_to=report.reported_to,
            reported_subject=report.reported_subject,
            reported_host=first[0],
            reported_queue_id=first[1],
        )
        linked_by, delivery = link
        row["linked_by"] = linked_by
        if delivery is not None:
            row.update(
                {
                    k: delivery[k]
                    for k in (
                        "gateway",
                        "queue_id",
                        "message_key",
                        "sender",
                        "sender_domain",
                        "sasl_username",
                        "recipient",
                        "recipient_domain",
                        "provider",
                        "message_id",
                    )
                }
            )
            row["delivery_ts"] = delivery["ts"]
        else:
            recipient = (report.original_rcpt_to or (report.reported_to,))[0]
            row["recipient"] = recipient
            row["recipient_domain"] = recipient.rpartition("@")[2] if recipient and "@" in recipient else None
    else:
        row["counted"] = False
    stamp = row.get("arrival_ts") or fetched_at
    row["day"] = stamp.astimezone(UTC).date().isoformat()
    return row


def complaint_rows(
    lake: Lake, mails: list[FetchedMail], *, window: timedelta, fetched_at: datetime | None = None
) -> pl.DataFrame:
    """The table rows of fetched mails, reports linked to their deliveries."""
    fetched_at = fetched_at or datetime.now(UTC)
    reports = [m for m in mails if m.report is not None]
    wanted = [
        Wanted(m.report, m.report.arrival_ts or m.report.reported_date or m.received_at)  # type: ignore[union-attr]
        for m in reports
    ]
    links = dict(zip((m.uid for m in reports), link_reports(lake, wanted, window=window), strict=True))
    rows = [_row(m, fetched_at, links.get(m.uid, ("unlinked", None))) for m in mails]
    frame = pl.DataFrame(rows, schema=SCHEMA) if rows else empty_complaints()
    unlinked = frame["provider"].is_null() & frame["recipient_domain"].is_not_null()
    if unlinked.any():
        guessed = provider_of(frame.select("recipient_domain"))
        frame = frame.with_columns(provider=pl.when(unlinked).then(guessed).otherwise(pl.col("provider")))
    return frame


LINKED = (
    "linked_by",
    "gateway",
    "queue_id",
    "message_key",
    "delivery_ts",
    "sender",
    "sender_domain",
    "sasl_username",
    "recipient",
    "recipient_domain",
    "provider",
    "message_id",
)
RELINK_DAYS = 7
"""Unlinked complaints fetched in the last days are tried again (the lake may have been behind)."""


def relink(lake: Lake, *, window: timedelta, now: datetime | None = None) -> int:
    """Link the recent unlinked complaints whose delivery the lake now holds (it was behind when they were
    fetched), in one merge commit; how many were linked."""
    table = lake.table(TABLE)
    if table is None:
        return 0
    since = (now or datetime.now(UTC)) - timedelta(days=RELINK_DAYS)
    pending = (
        pl.scan_delta(table)
        .filter((pl.col("linked_by") == "unlinked") & pl.col("parse_error").is_null() & (pl.col("fetched_at") >= since))
        .select("report_id", "mailbox", "uidvalidity", "uid", "raw", "received_at")
        .collect()
    )
    if not pending.height:
        return 0
    mails = [
        read_mail(r["mailbox"], r["uidvalidity"], r["uid"], r["raw"], r["received_at"])
        for r in pending.iter_rows(named=True)
    ]
    rows = complaint_rows(lake, mails, window=window).filter(pl.col("linked_by") != "unlinked")
    if not rows.height:
        return 0
    updates = {column: f"s.{column}" for column in LINKED}
    table.merge(
        rows.select("report_id", *LINKED).to_arrow(),
        predicate="t.report_id = s.report_id",
        source_alias="s",
        target_alias="t",
    ).when_matched_update(updates).execute()
    return rows.height


class ComplaintStore:
    """ingest's ComplaintSink over a lake: positions and reports in the same Delta commit."""

    def __init__(self, lake: Lake, *, window: timedelta = timedelta(hours=72)) -> None:
        self.lake = lake
        self.window = window

    def fbl_committed(self, mailbox: str, uidvalidity: int) -> int:
        return self.lake.app_version(TABLE, app_id(mailbox, uidvalidity)) or 0

    def fbl_report_ids(self, mailbox: str, *, other_than: int) -> set[str]:
        table = self.lake.table(TABLE)
        if table is None:
            return set()
        mine = (pl.col("mailbox") == mailbox) & (pl.col("uidvalidity") != other_than)
        ids = pl.scan_delta(table).filter(mine).select("report_id").collect()
        return set(ids["report_id"])

    def commit_reports(self, mailbox: str, uidvalidity: int, last_uid: int, mails: list[FetchedMail]) -> int:
        frame = complaint_rows(self.lake, mails, window=self.window)
        meta = {
            "mailbox": mailbox,
            "uidvalidity": uidvalidity,
            "last_uid": last_uid,
            "mails": frame.height,
            "unparsed": int(frame["parse_error"].is_not_null().sum()),
        }
        return self.lake.append(
            TABLE,
            frame,
            app_id=app_id(mailbox, uidvalidity),
            app_version=last_uid,
            metadata={"relaywatch.fbl": json.dumps(meta)},
        )
