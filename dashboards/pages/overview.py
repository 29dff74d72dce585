"""Overview: sent, deferred, bounced, expired, the error rate and complaints over the period; volume over time; by
gateway; top senders and recipient domains with their error rates, tinted by the person's thresholds."""

from __future__ import annotations

import polars as pl
import streamlit as st

from dashboards import charts
from dashboards.auth import guard
from dashboards.filters import empty_period_hint, period_choice
from warehouse import complaint_totals, overview

session = guard("overview")
t = session.t
prefs = session.settings
st.title(t("overview.title"))
choice = period_choice(session, default="24h")
auto = prefs.refresh_seconds > 0 and st.toggle(t("overview.auto_refresh", seconds=prefs.refresh_seconds),
                                               value=True, key="overview_auto")


SHOWN = ["attempts", "sent", "deferred", "bounced", "error_rate", "note"]


def noted(frame: pl.DataFrame) -> pl.DataFrame:
    """The table with a `note` where there were attempts and nothing was sent (not a happy 0 %)."""
    nothing_sent = (pl.col("sent") == 0) & (pl.col("attempts") > 0)
    return frame.with_columns(note=pl.when(nothing_sent).then(pl.lit(t("level.undelivered"))).otherwise(None))


def count_columns() -> dict[str, object]:
    return {"attempts": st.column_config.NumberColumn(t("col.attempts")),
            "sent": st.column_config.NumberColumn(t("status.sent")),
            "deferred": st.column_config.NumberColumn(t("status.deferred")),
            "bounced": st.column_config.NumberColumn(t("status.bounced")),
            "errors": st.column_config.NumberColumn(t("col.errors")),
            "error_rate": st.column_config.NumberColumn(t("col.error_rate")),
            "note": st.column_config.TextColumn(t("col.note"))}


@st.fragment(run_every=prefs.refresh_seconds if auto else None)
def body() -> None:
    """Everything below the controls; re-run alone on auto-refresh."""
    period = choice.current()
    data = overview(session.warehouse, period, soft_is_error=prefs.soft_is_error)
    totals = data.totals
    rate = data.error_rate
    level = charts.level(rate, prefs.warn_rate, prefs.critical_rate,
                         undelivered=bool(totals["attempts"]) and not totals["sent"])
    cells = st.columns(6)
    cells[0].metric(t("col.attempts"), f"{totals['attempts']:,}")
    for cell, status in zip(cells[1:5], ("sent", "deferred", "bounced", "expired"), strict=True):
        cell.metric(t(f"status.{status}"), f"{totals[status]:,}")
    cells[5].metric(t("col.error_rate"), "-" if rate is None else f"{rate:.2f} %")
    label = "undelivered" if level == "critical" and totals["attempts"] and not totals["sent"] else level
    cells[5].badge(t(f"level.{label}"),
                   color={"ok": "green", "warn": "orange", "critical": "red", "none": "gray"}[level])
    st.caption(t("overview.rate_help_soft" if prefs.soft_is_error else "overview.rate_help_hard",
                 warn=prefs.warn_rate, critical=prefs.critical_rate))
    complaints = complaint_totals(session.warehouse, period)
    rate_1000 = complaints["per_thousand"]
    cells = st.columns(6)
    cells[0].metric(t("complaints.count"), f"{complaints['complaints']:,}")
    cells[1].metric(t("complaints.per_thousand"), "-" if rate_1000 is None else f"{rate_1000:.3f}")
    if not totals["attempts"]:
        if not empty_period_hint(session):
            st.info(t("common.no_data"))
        return
    st.subheader(t("overview.volume"))
    st.altair_chart(charts.stacked_bars(data.timeline, x="bucket", y="attempts", colour="status",
                                        x_title=t("col.time_utc"), y_title=t("col.attempts"),
                                        colours=charts.STATUS_COLOURS), width="stretch")
    left, right = st.columns(2)
    with left:
        st.subheader(t("overview.by_gateway"))
        st.dataframe(charts.coloured(noted(data.by_gateway), "error_rate", prefs.warn_rate, prefs.critical_rate),
                     hide_index=True, column_config={"gateway": t("col.gateway"), **count_columns()},
                     column_order=["gateway", *SHOWN], key="overview_gateways")
        st.subheader(t("overview.top_domains"))
        st.dataframe(charts.coloured(noted(data.top_domains), "error_rate", prefs.warn_rate, prefs.critical_rate),
                     hide_index=True, column_config={"recipient_domain": t("col.recipient_domain"),
                                                     **count_columns()},
                     column_order=["recipient_domain", *SHOWN], key="overview_domains")
    with right:
        st.subheader(t("overview.top_senders"))
        st.dataframe(charts.coloured(noted(data.top_senders), "error_rate", prefs.warn_rate, prefs.critical_rate),
                     hide_index=True, column_config={"sender": t("col.sender"), **count_columns()},
                     column_order=["sender", *SHOWN], key="overview_senders")


body()
