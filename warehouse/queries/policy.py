"""Queries the policy package runs: the deliveries and complaints behind the automatic blacklist rules.

Like every query here they read the scoped views of the Warehouse they are given (the automatic rules use
root's), with values as parameters.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from warehouse.queries.common import Queryable, run

SUPPRESSIBLE_REASONS = ("user_unknown", "domain_not_found", "mailbox_disabled")
"""Hard bounces that say the address itself is bad (DESIGN.md); never reputation, policy, rate limits."""
COMPLAINT_COLUMNS = frozenset({"recipient", "sender_domain", "ts"})
"""What the complaint rule needs of the `complaints` view (built by the FBL issue)."""


def suppressible_bounces(wh: Queryable, *, since: datetime) -> pl.DataFrame:
    """Hard bounces with a suppressible reason since `since`, one row per delivery attempt, by recipient."""
    sql = (
        "SELECT recipient, gateway, message_key, queue_id, ts, reason, dsn FROM deliveries "
        "WHERE qualification = 'hard' AND list_contains($reasons::VARCHAR[], reason) "
        "AND ts >= $since AND day >= CAST($since AS DATE) AND recipient IS NOT NULL ORDER BY recipient, ts"
    )
    return run(wh, sql, {"reasons": list(SUPPRESSIBLE_REASONS), "since": since})


def recent_complaints(wh: Queryable, *, since: datetime) -> pl.DataFrame | None:
    """FBL complaints since `since` (recipient, sender_domain, ts and the complaint's other columns), or
    None while the warehouse has no `complaints` view with those columns."""
    if "complaints" not in getattr(wh, "views", ()):
        return None
    if not COMPLAINT_COLUMNS.issubset(run(wh, "SELECT * FROM complaints LIMIT 0").columns):
        return None
    sql = (
        "SELECT * FROM complaints WHERE ts >= $since AND recipient IS NOT NULL AND sender_domain IS NOT NULL "
        "ORDER BY recipient, ts"
    )
    return run(wh, sql, {"since": since})


ROUTE_COLUMNS = {
    "sender_domain": "sender_domain",
    "sasl_login": "sasl_username",
    "recipient_domain": "recipient_domain",
}
"""A routing rule's selector -> the deliveries column it matches (allow-list: the only SQL chosen at run time)."""


def route_traffic(wh: Queryable, selector: str, value: str, *, since: datetime) -> pl.DataFrame:
    """Messages and recipients since `since`, by gateway, that a routing rule on `selector = value` matches."""
    column = ROUTE_COLUMNS[selector]
    sql = (
        "SELECT gateway, count(DISTINCT message_key) AS messages, count(DISTINCT message_key || recipient) AS "  # noqa: S608
        f"recipients FROM deliveries WHERE {column} = $value AND ts >= $since AND day >= CAST($since AS DATE) "
        "GROUP BY gateway ORDER BY gateway"
    )
    return run(wh, sql, {"value": value, "since": since})


def blacklist_entries(wh: Queryable) -> pl.DataFrame:
    """The blacklist entries in force within the warehouse's scope, one row per entry with the gateways it
    applies to there (the Policy page of users, read-only)."""
    sql = (
        "SELECT id, kind, value, string_agg(DISTINCT gateway, ', ' ORDER BY gateway) AS gateways, "
        "any_value(sender_domain) AS sender_domain, any_value(reason) AS reason, any_value(source) AS source, "
        "any_value(created_at) AS created_at, any_value(expires_at) AS expires_at "
        "FROM blacklist WHERE active GROUP BY id, kind, value ORDER BY id"
    )
    return run(wh, sql)
