"""Overview: sent, deferred, bounced, expired, the error rate and complaints over the period; volume over time; by
gateway; top senders and recipient domains with their error rates, tinted by the person's thresholds."""

from __future__ import annotations

from datetime import timedelta

import polars as pl
import streamlit as st

from dashboards import charts, formats, links
from dashboards.auth import BY_ID, guard
from dashboards.filters import empty_period_hint, period_choice, recall
from warehouse import complaint_totals, overview

session = guard("overview")
t = session.t
prefs = session.settings
st.title(t("overview.title"))
choice = period_choice(session, default="24h")
auto = prefs.refresh_seconds > 0 and st.toggle(
    t("overview.auto_refresh", seconds=prefs.refresh_seconds), value=True, key="overview_auto"
)


SHOWN = ["attempts", "sent", "deferred", "bounced", "error_rate", "note"]


def noted(frame: pl.DataFrame) -> pl.DataFrame:
    """The table with a `note` where there were attempts and nothing was sent (not a happy 0 %)."""
    nothing_sent = (pl.col("sent") == 0) & (pl.col("attempts") > 0)
    return frame.with_columns(note=pl.when(nothing_sent).then(pl.lit(t("level.undelivered"))).otherwise(pl.lit("")))


def count_columns() -> dict[str, object]:
    return {
        "attempts": st.column_config.NumberColumn(t("col.attempts")),
        "sent": st.column_config.NumberColumn(t("status.sent")),
        "deferred": st.column_config.NumberColumn(t("status.deferred")),
        "bounced": st.column_config.NumberColumn(t("status.bounced")),
        "errors": st.column_config.NumberColumn(t("col.errors")),
        "error_rate": st.column_config.NumberColumn(t("col.error_rate")),
        "note": st.column_config.TextColumn(t("col.note")),
    }


def logs_link(**values: object) -> dict[str, list[str]]:
    """The Logs URL query showing these filters over the Overview's period (drill-down)."""
    fixed = choice.fixed
    days = (fixed.start.date(), (fixed.end - timedelta(microseconds=1)).date()) if choice.hours is None else None
    return links.logs_query(values, preset=str(recall("period_preset", "24h")), days=days, hours=choice.clock)


def drill_table(frame: pl.DataFrame, column: str, field: str, key: str) -> None:
    """A table of counts by `column`; selecting a row opens the Logs filtered on it (`field`)."""
    shown = st.dataframe(
        charts.coloured(noted(frame), "error_rate", prefs.warn_rate, prefs.critical_rate, language=session.language),
        hide_index=True,
        column_config={column: t(f"col.{column}"), **count_columns()},
        column_order=[column, *SHOWN],
        key=key,
        on_select="rerun",
        selection_mode="single-row",
    )
    picked = shown.selection.rows if shown is not None else []
    value = frame[column][picked[0]] if picked and picked[0] < frame.height else None
    if value and value != "<>":
        st.switch_page(BY_ID["logs"].path, query_params=logs_link(**{field: [value] if field == "gateways" else value}))


@st.fragment(run_every=prefs.refresh_seconds if auto else None)
def body() -> None:
    """Everything below the controls; re-run alone on auto-refresh."""
    period = choice.current()
    data = overview(session.warehouse, period, soft_is_error=prefs.soft_is_error)
    totals = data.totals
    rate = data.error_rate
    level = charts.level(
        rate, prefs.warn_rate, prefs.critical_rate, undelivered=bool(totals["attempts"]) and not totals["sent"]
    )
    cells = st.columns(6)
    cells[0].metric(t("col.attempts"), formats.number(totals["attempts"], session.language))
    for cell, status in zip(cells[1:5], ("sent", "deferred", "bounced", "expired"), strict=True):
        cell.metric(t(f"status.{status}"), formats.number(totals[status], session.language))
        if totals[status]:
            cell.page_link(
                BY_ID["logs"].path,
                label=t("overview.see_in_logs"),
                icon=":material/list_alt:",
                query_params=logs_link(statuses=[status]),
            )
    cells[5].metric(t("col.error_rate"), formats.percent(rate, session.language))
    label = "undelivered" if level == "critical" and totals["attempts"] and not totals["sent"] else level
    cells[5].badge(
        t(f"level.{label}"), color={"ok": "green", "warn": "orange", "critical": "red", "none": "gray"}[level]
    )
    st.caption(
        t(
            "overview.rate_help_soft" if prefs.soft_is_error else "overview.rate_help_hard",
            warn=formats.number(prefs.warn_rate, session.language, digits=1),
            critical=formats.number(prefs.critical_rate, session.language, digits=1),
        )
    )
    complaints = complaint_totals(session.warehouse, period)
    rate_1000 = complaints["per_thousand"]
    cells = st.columns(6)
    cells[0].metric(t("complaints.count"), formats.number(complaints["complaints"], session.language))
    cells[1].metric(
        t("complaints.per_thousand"),
        "-" if rate_1000 is None else formats.number(rate_1000, session.language, digits=3),
    )
    if not totals["attempts"]:
        if not empty_period_hint(session):
            st.info(t("common.no_data"))
        return
    st.subheader(t("overview.volume"))
    st.altair_chart(
        charts.stacked_bars(
            data.timeline,
            x="bucket",
            y="attempts",
            colour="status",
            x_title=t("tz.time", zone=session.zone.key),
            y_title=t("col.attempts"),
            language=session.language,
            zone=session.zone,
        ),
        width="stretch",
    )
    st.caption(t("overview.drill_hint"))
    # One table per row, full width: every column (bounced, error rate, note) visible without scrolling.
    st.subheader(t("overview.by_gateway"))
    drill_table(data.by_gateway, "gateway", "gateways", "overview_gateways")
    st.subheader(t("overview.top_domains"))
    drill_table(data.top_domains, "recipient_domain", "recipient_domain", "overview_domains")
    st.subheader(t("overview.top_senders"))
    drill_table(data.top_senders, "sender", "sender", "overview_senders")


body()
