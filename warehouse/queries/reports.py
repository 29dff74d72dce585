"""What the mailed reports add to the dashboards' queries: failure reasons with a sample reply, the worst
senders and SASL logins by error rate, and the blacklist and complaint counts when those views exist."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from warehouse.queries.common import PERIOD_SQL, Period, Queryable, counts, rate, run

BLACKLIST_COLUMNS = ("kind", "value", "reason", "created_at", "expires_at")
"""Columns the blacklist section reads (policy's `blacklist` view, one row per entry and gateway: hence
DISTINCT); without them there is no section."""
FAILED = "qualification IN ('soft', 'hard', 'unknown')"


@dataclass(frozen=True)
class ReportDetails:
    """Failures by reason, the worst senders and logins, blacklist changes (None: no such view)."""

    reasons: pl.DataFrame
    worst_senders: pl.DataFrame
    worst_logins: pl.DataFrame
    blacklist_added: pl.DataFrame | None
    blacklist_expired: pl.DataFrame | None
    complaints: int | None


def _worst(wh: Queryable, column: str, period: Period, soft_is_error: bool, top: int, minimum: int) -> pl.DataFrame:
    outcome, params = counts(soft_is_error)
    return run(
        wh,
        f"SELECT *, {rate('errors')} AS error_rate FROM (SELECT {column}, {outcome} FROM deliveries "  # noqa: S608
        f"WHERE {PERIOD_SQL} AND {column} IS NOT NULL AND {column} <> '' GROUP BY {column}) "
        "WHERE errors > 0 AND attempts >= $minimum ORDER BY error_rate DESC, errors DESC, "
        f"{column} LIMIT $top",
        {**params, **period.params(), "top": top, "minimum": minimum},
    )


def _columns(wh: Queryable, view: str) -> set[str]:
    return set(run(wh, f"SELECT * FROM {view} LIMIT 0").columns)  # noqa: S608 - a view name of ours


def report_details(
    wh: Queryable, period: Period, *, soft_is_error: bool, views: tuple[str, ...], top: int = 5, minimum: int = 1
) -> ReportDetails:
    """The report's own figures over the period; `views` are the warehouse's (`Warehouse.views`), so the
    blacklist and complaint figures are asked for only when those views exist."""
    params = period.params()
    reasons = run(
        wh,
        "SELECT reason, count(*) AS attempts, count(*) FILTER (WHERE qualification = 'hard') AS hard, "  # noqa: S608
        "count(*) FILTER (WHERE qualification = 'soft') AS soft, min(response) AS sample "
        f"FROM deliveries WHERE {PERIOD_SQL} AND {FAILED} GROUP BY reason "
        "ORDER BY attempts DESC, reason LIMIT $top",
        {**params, "top": top},
    )
    added = expired = None
    if "blacklist" in views and set(BLACKLIST_COLUMNS) <= _columns(wh, "blacklist"):
        shown = ", ".join(BLACKLIST_COLUMNS)
        window = {"start": period.start, "end": period.end}
        added = run(
            wh,
            f"SELECT DISTINCT {shown} FROM blacklist WHERE created_at >= $start AND created_at < $end "  # noqa: S608
            "ORDER BY created_at, value LIMIT 200",
            window,
        )
        expired = run(
            wh,
            f"SELECT DISTINCT {shown} FROM blacklist WHERE expires_at >= $start AND expires_at < $end "  # noqa: S608
            "ORDER BY expires_at, value LIMIT 200",
            window,
        )
    complaints = None
    if "complaints" in views and "ts" in _columns(wh, "complaints"):
        complaints = int(
            run(
                wh,
                "SELECT count(*) AS n FROM complaints WHERE ts >= $start AND ts < $end",
                {"start": period.start, "end": period.end},
            )["n"][0]
        )
    return ReportDetails(
        reasons,
        _worst(wh, "sender", period, soft_is_error, top, minimum),
        _worst(wh, "sasl_username", period, soft_is_error, top, minimum),
        added,
        expired,
        complaints,
    )
