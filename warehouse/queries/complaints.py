"""Complaints (feedback-loop reports): counts and rates per 1,000 delivered, the list and one report.

A complaint counts when its report is parsed and its Feedback-Type is not `not-spam` (`counted`); it is
placed in time by its Arrival-Date. Rates divide by the deliveries accepted (`status = 'sent'`) in the
same period and group, so a sender's rate is its complaints per 1,000 of its delivered mails.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from warehouse.queries.common import PERIOD_SQL, Period, Queryable, run

GROUPS = ("gateway", "sender", "sender_domain", "sasl_username", "provider")
LIST_COLUMNS = (
    "report_id",
    "arrival_ts",
    "feedback_type",
    "counted",
    "provider",
    "gateway",
    "sender",
    "sasl_username",
    "recipient",
    "linked_by",
    "message_key",
    "reported_subject",
    "mailbox",
)
ARRIVAL_SQL = "arrival_ts >= $start AND arrival_ts < $end"


def complaint_rates(wh: Queryable, period: Period, *, by: str, top: int = 50) -> pl.DataFrame:
    """Per value of `by` (one of GROUPS): complaints, not_spam, delivered, per_thousand; most complaints
    first. Unlinked complaints have no sender or gateway and group under null."""
    if by not in GROUPS:
        raise ValueError(f"complaints are grouped by one of {', '.join(GROUPS)}, not {by!r}")
    return run(
        wh,
        f"""
        WITH c AS (SELECT {by} AS key, count(*) FILTER (WHERE counted) AS complaints,
                          count(*) FILTER (WHERE feedback_type = 'not-spam') AS not_spam
                   FROM complaints WHERE {ARRIVAL_SQL} GROUP BY ALL),
             d AS (SELECT {by} AS key, count(*) AS delivered FROM deliveries
                   WHERE status = 'sent' AND {PERIOD_SQL} GROUP BY ALL)
        SELECT c.key AS {by}, c.complaints, c.not_spam, coalesce(d.delivered, 0) AS delivered,
               round(1000.0 * c.complaints / nullif(d.delivered, 0), 3) AS per_thousand
        FROM c LEFT JOIN d ON c.key IS NOT DISTINCT FROM d.key
        ORDER BY c.complaints DESC, {by} NULLS LAST LIMIT $top
        """,  # noqa: S608 - `by` comes from the allow-list GROUPS
        {**period.params(), "top": top},
    )


def complaint_totals(wh: Queryable, period: Period) -> dict[str, Any]:
    """The Overview's figures: complaints, not_spam, delivered and per_thousand over the period."""
    row = run(
        wh,
        f"""
        SELECT (SELECT count(*) FILTER (WHERE counted) FROM complaints WHERE {ARRIVAL_SQL}) AS complaints,
               (SELECT count(*) FILTER (WHERE feedback_type = 'not-spam') FROM complaints
                WHERE {ARRIVAL_SQL}) AS not_spam,
               (SELECT count(*) FROM deliveries WHERE status = 'sent' AND {PERIOD_SQL}) AS delivered
        """,  # noqa: S608 - fixed fragments
        period.params(),
    ).row(0, named=True)
    row["per_thousand"] = round(1000.0 * row["complaints"] / row["delivered"], 3) if row["delivered"] else None
    return row


def complaint_list(wh: Queryable, period: Period, *, limit: int = 500) -> pl.DataFrame:
    """The period's reports, newest first (not-spam included, flagged by `counted`)."""
    return run(
        wh,
        f"SELECT {', '.join(LIST_COLUMNS)} FROM complaints WHERE {ARRIVAL_SQL} "  # noqa: S608 - fixed columns
        "ORDER BY arrival_ts DESC LIMIT $limit",
        {**period.params(), "limit": limit},
    )


def complaint_detail(wh: Queryable, report_id: str) -> dict[str, Any] | None:
    """Every stored field of one report, if it is inside the caller's scope."""
    rows = run(wh, "SELECT * FROM complaints WHERE report_id = $id", {"id": report_id})
    return rows.row(0, named=True) if rows.height else None
