"""Queue: the newest `postqueue -j` snapshot of each gateway (size, oldest message, the last deferral's
reason, mail stuck longer than a threshold, recipient domains, delay reasons, messages) and the queue size
over time, from the warehouse's `queue` and `queue_snapshots` views. Every count opens the matching Logs
(drill-down: select a row)."""

from __future__ import annotations

import altair as alt
import polars as pl
import streamlit as st

from dashboards import backend, charts, formats, links
from dashboards.auth import BY_ID, guard
from dashboards.filters import period_picker
from warehouse import queue

# Queued mail is younger than Postfix's maximal_queue_lifetime (5 days by default): the Logs' 7 days hold it.
LOGS_PERIOD = "7d"

session = guard("queue")
t = session.t
zone = session.zone
st.title(t("queue.title"))
period = period_picker(session, default="24h")
data = queue(session.warehouse, period, backend.stuck_hours(session.home))
if not data.summary.height and not data.history.height:
    st.info(t("queue.no_snapshots"))
    st.stop()
if not data.summary.height:
    st.success(t("queue.empty"))


def open_logs(frame: pl.DataFrame, rows: list[int], *, deferred: bool = False, **columns: str) -> None:
    """Open the Logs on the selected row's gateway (its deferrals only when `deferred`), filtered on
    `columns` (Logs field -> this frame's column)."""
    if not rows or rows[0] >= frame.height:
        return
    row = frame.row(rows[0], named=True)
    values: dict[str, object] = {"gateways": [row["gateway"]], "statuses": ["deferred"] if deferred else []}
    values.update({field: row[column] for field, column in columns.items() if row.get(column)})
    st.switch_page(BY_ID["logs"].path, query_params=links.logs_query(values, preset=LOGS_PERIOD, days=None))


def selected(shown: object) -> list[int]:
    """The rows selected in a dataframe shown with on_select="rerun"."""
    return list(shown.selection.rows) if shown is not None else []  # type: ignore[attr-defined]


stuck = data.summary.filter(pl.col("stuck") > 0) if data.summary.height else data.summary
for row in stuck.iter_rows(named=True):
    st.warning(t("queue.stuck_warning", gateway=row["gateway"], count=session.n(row["stuck"]), hours=data.stuck_hours))
st.caption(t("queue.stuck_help", hours=data.stuck_hours))

shown = st.dataframe(
    formats.in_zone(data.summary, zone),
    hide_index=True,
    key="queue_summary",
    on_select="rerun",
    selection_mode="single-row",
    column_order=[
        "gateway",
        "snapshot_ts",
        "messages",
        "recipients",
        "bytes",
        "oldest_arrival",
        "oldest_hours",
        "stuck",
        "last_reason",
    ],
    column_config={
        "gateway": t("col.gateway"),
        "snapshot_ts": st.column_config.DatetimeColumn(
            t("tz.titled", title=t("queue.snapshot"), zone=zone.key), format="YYYY-MM-DD HH:mm", timezone=zone.key
        ),
        "messages": t("col.messages"),
        "recipients": t("message.recipients"),
        "bytes": st.column_config.NumberColumn(t("message.size"), format="bytes"),
        "oldest_arrival": st.column_config.DatetimeColumn(
            t("tz.titled", title=t("queue.oldest_arrival"), zone=zone.key),
            format="YYYY-MM-DD HH:mm",
            timezone=zone.key,
        ),
        "oldest_hours": st.column_config.NumberColumn(t("queue.oldest"), format="%.1f h"),
        "stuck": st.column_config.NumberColumn(t("queue.stuck", hours=data.stuck_hours)),
        "last_reason": st.column_config.TextColumn(t("queue.last_reason"), width="large"),
    },
)
st.caption(t("queue.drill_help"))
open_logs(data.summary, selected(shown), deferred=True)

if data.domains.height:
    st.subheader(t("queue.domains"))
    shown = st.dataframe(
        data.domains,
        hide_index=True,
        key="queue_domains",
        on_select="rerun",
        selection_mode="single-row",
        column_config={
            "gateway": t("col.gateway"),
            "recipient_domain": t("col.recipient_domain"),
            "recipients": t("message.recipients"),
            "messages": t("col.messages"),
            "deferred": t("status.deferred"),
        },
    )
    open_logs(data.domains, selected(shown), deferred=True, recipient_domain="recipient_domain")

if data.history.height:
    st.subheader(t("queue.size_over_time"))
    st.altair_chart(
        alt.Chart(charts.zoned(data.history, "snapshot_ts", zone))
        .mark_line(point=True)
        .encode(
            x=alt.X("snapshot_ts:T", title=t("tz.time", zone=zone.key), scale=alt.Scale(type="utc")),
            y=alt.Y("messages:Q", title=t("col.messages")),
            color=alt.Color("gateway:N", title=None),
            tooltip=[alt.Tooltip("snapshot_ts:T", timeUnit=charts.UTC_MINUTE), "gateway:N", "messages:Q"],
        )
        .properties(height=220)
        .interactive(bind_y=False),
        width="stretch",
    )
st.subheader(t("queue.reasons"))
shown = st.dataframe(
    data.reasons,
    hide_index=True,
    key="queue_reasons",
    on_select="rerun",
    selection_mode="single-row",
    column_config={
        "gateway": t("col.gateway"),
        "recipients": t("message.recipients"),
        "reason": st.column_config.TextColumn(t("col.response"), width="large"),
    },
)
open_logs(data.reasons, selected(shown), deferred=True)
st.subheader(t("queue.messages"))
shown = st.dataframe(
    formats.in_zone(data.messages, zone),
    hide_index=True,
    key="queue_messages",
    on_select="rerun",
    selection_mode="single-row",
    column_config={
        "gateway": t("col.gateway"),
        "queue_name": t("queue.queue_name"),
        "queue_id": t("col.queue_id"),
        "arrival_time": st.column_config.DatetimeColumn(
            t("tz.titled", title=t("queue.arrival"), zone=zone.key), format="YYYY-MM-DD HH:mm", timezone=zone.key
        ),
        "age_hours": st.column_config.NumberColumn(t("queue.age"), format="%.1f h"),
        "message_size": t("message.size"),
        "sender": t("col.sender"),
        "recipients": t("message.recipients"),
        "delay_reasons": t("col.response"),
    },
)
open_logs(data.messages, selected(shown), queue_id="queue_id")
